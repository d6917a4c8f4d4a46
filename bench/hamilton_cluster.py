"""Hamilton's side of `bench/compare.sh cluster`: the graphs of bench/src/cluster.rs on the same
local clusters, through Hamilton's own adapters — `RayGraphAdapter` (every node a Ray task)
and `DaskGraphAdapter` (every node a Dask task, computed at the end).

    hamilton_cluster.py ray GCS_ADDRESS | dask SCHEDULER_ADDRESS

Prints `hamilton <backend>_<figure> <value>` lines. One driver (one Ray connection, one Dask
client) serves every run, after one untimed run; each timed run has a new `seed`."""

import os
import statistics
import sys
import tempfile
import time

from hamilton import base, driver

from hamilton_bench import fan_in_src, load

# This directory's timeit.py (a script) must not shadow the standard library's (Dask imports it).
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

# Each CPU-bound node works this long (a busy loop on the clock, as weft's side does).
WORK_S = 0.5


def cpu_src(n):
    lines = [
        "import time\n\n"
        "def _busy(h):\n"
        "    start = time.perf_counter()\n"
        f"    while time.perf_counter() - start < {WORK_S}:\n"
        "        for k in range(10000):\n"
        "            h = (h * 6364136223846793005 + (k ^ (h >> 33))) & 0xFFFFFFFFFFFFFFFF\n"
        "    return h % 1000\n"
    ]
    lines += [f"def cpu{i}(seed: int) -> int:\n    return _busy(seed + {i})\n" for i in range(n)]
    params = ", ".join(f"cpu{i}: int" for i in range(n))
    body = " + ".join(f"cpu{i}" for i in range(n))
    lines.append(f"def sink({params}) -> int:\n    return {body}\n")
    return "\n".join(lines), ["sink"]


# Timed runs of the trivial graph (as many on weft's side, bench/src/cluster.rs): a run takes
# a fifth of a second, and a median of three moved by a fifth from one script run to the next.
TRIVIAL_REPS = 9


def time_runs(dr, outputs, reps):
    dr.execute(outputs, inputs={"seed": 999})
    times = []
    for rep in range(reps):
        t = time.perf_counter()
        dr.execute(outputs, inputs={"seed": 1000 + rep})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    kind, address = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {"cpu16": cpu_src(16), "trivial200": fan_in_src(199)}
        mods = {name: load(name, src, tmp) for name, (src, _) in graphs.items()}
        if kind == "ray":
            import ray
            from hamilton.plugins import h_ray

            # The generated modules travel as the job's working directory (workers import them);
            # the workers run this Python, which has Hamilton (the head's has only Ray).
            runtime_env = {"working_dir": tmp, "py_executable": sys.executable}
            ray.init(address=address, runtime_env=runtime_env, logging_level="ERROR")

            def make(mod):
                adapter = h_ray.RayGraphAdapter(result_builder=base.DictResult())
                return driver.Driver({}, mod, adapter=adapter)
        else:
            from dask.distributed import Client
            from hamilton.plugins import h_dask

            client = Client(address)
            for name in mods:
                client.upload_file(f"{tmp}/{name}.py")

            def make(mod):
                adapter = h_dask.DaskGraphAdapter(client, result_builder=base.DictResult())
                return driver.Driver({}, mod, adapter=adapter)

        cpu = time_runs(make(mods["cpu16"]), graphs["cpu16"][1], 3)
        print(f"hamilton {kind}_cpu16_s {cpu:.3f}", flush=True)
        trivial = time_runs(make(mods["trivial200"]), graphs["trivial200"][1], TRIVIAL_REPS)
        print(f"hamilton {kind}_trivial200_s {trivial:.3f}", flush=True)
        print(f"hamilton {kind}_ms_per_task {trivial * 1e3 / 200:.3f}", flush=True)
        if kind == "ray":
            ray.shutdown()
        else:
            client.close()


if __name__ == "__main__":
    main()
