"""Hamilton's side of `bench/compare.sh spark`: the seed's flow (bench/spark_flow.py) through
Hamilton's PySpark integration (`hamilton.plugins.h_spark`'s input check), on a Spark Connect
session to the same local server as weft's side. Usage:
  hamilton_spark.py gen CSV [ROWS]     write the 1,000,000-row CSV both sides read
  hamilton_spark.py run REMOTE CSV     prints `rows N` and `seconds S`

`run` is timed from connecting the session to having the collected rows (imports and the
interpreter's start excluded), like weft's side."""

import os
import random
import sys
import time


def generate(path, rows=1_000_000):
    rng = random.Random(7)
    countries = ["de", "fr", "us", "jp", "br", "in", "ng", "au"]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("name,age,country,amount\n")
        for i in range(rows):
            f.write(f"p{i},{rng.randrange(0, 90)},{rng.choice(countries)},{rng.randrange(0, 100000) / 100}\n")
    os.replace(tmp, path)


def run(remote, csv):
    from hamilton import driver
    from hamilton.plugins import h_spark
    from pyspark.sql import SparkSession

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import spark_flow

    t = time.perf_counter()
    spark = SparkSession.builder.remote(remote).getOrCreate()
    dr = (
        driver.Builder()
        .with_modules(spark_flow)
        .with_adapters(h_spark.SparkInputValidator())
        .build()
    )
    out = dr.execute(["aggregated_stats"], inputs={"spark_session": spark, "data_csv": csv})
    rows = len(out["aggregated_stats"].collect())
    secs = time.perf_counter() - t
    print(f"rows {rows}")
    print(f"seconds {secs:.6f}")


def main():
    if sys.argv[1] == "gen":
        generate(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000)
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
