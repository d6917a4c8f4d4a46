"""Hamilton's side of `bench/compare.sh frames`: the pipeline of bench/src/frames.rs in pandas
and in polars, uncached or with Hamilton's cache (`Builder().with_cache(path)`, big frames as
parquet). Usage: hamilton_frames.py gen CSV | run pandas|polars CSV DIR|-

`run` prints `seconds S`, timed from building the driver to having the report (imports and
the interpreter's start excluded), like weft's side."""

import os
import sys
import time


def generate(path, rows=1_000_000):
    import numpy as np

    rng = np.random.default_rng(7)
    regions = np.array(["eu", "us", "apac", "latam", "mea"])
    products = np.array([f"p{i:02d}" for i in range(20)])
    amount = np.round(rng.gamma(2.0, 40.0, rows), 2).astype(object)
    amount[rng.random(rows) < 0.01] = ""
    qty = rng.integers(0, 11, rows)
    import pandas as pd

    df = pd.DataFrame(
        {
            "id": np.arange(rows),
            "region": regions[rng.integers(0, len(regions), rows)],
            "product": products[rng.integers(0, len(products), rows)],
            "amount": amount,
            "qty": qty,
            "day": rng.integers(0, 365, rows),
        }
    )
    tmp = path + ".tmp"
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def run(flavor, csv, cache_dir):
    from hamilton import driver

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import importlib

    module = importlib.import_module(f"frames_{flavor}")
    t = time.perf_counter()
    b = driver.Builder().with_modules(module)
    if cache_dir != "-":
        b = b.with_cache(path=cache_dir)
    dr = b.build()
    out = dr.execute(["report"], inputs={"data_file": csv})
    rows = len(out["report"])
    secs = time.perf_counter() - t
    print(f"rows {rows}")
    print(f"seconds {secs:.6f}")


def main():
    if sys.argv[1] == "gen":
        generate(sys.argv[2])
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: hamilton_frames.py gen CSV | run pandas|polars CSV DIR|-")


if __name__ == "__main__":
    main()
