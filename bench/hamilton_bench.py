"""Hamilton's side of bench/compare.sh: the same generated DAGs as bench/src/shapes.rs.

Prints one `hamilton <case> <key> <value>` line per figure."""

import importlib.util
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from hamilton import driver


def chain_src(n):
    lines = ["def n0(seed: int) -> int:\n    return seed + 1\n"]
    for i in range(1, n):
        lines.append(f"def n{i}(n{i-1}: int) -> int:\n    return n{i-1} + 1\n")
    return "\n".join(lines), [f"n{n-1}"]


def fan_in_src(n):
    lines = [f"def leaf{i}(seed: int) -> int:\n    return seed + 1\n" for i in range(n)]
    params = ", ".join(f"leaf{i}: int" for i in range(n))
    body = " + ".join(f"leaf{i}" for i in range(n))
    lines.append(f"def sink({params}) -> int:\n    return {body}\n")
    return "\n".join(lines), ["sink"]


def grid_src(layers, width):
    lines = []
    for l in range(layers):
        for j in range(width):
            if l == 0:
                lines.append(f"def g0_{j}(seed: int) -> int:\n    return seed + 1\n")
            else:
                a, b = f"g{l-1}_{j}", f"g{l-1}_{(j + 1) % width}"
                lines.append(f"def g{l}_{j}({a}: int, {b}: int) -> int:\n    return {a} + {b}\n")
    return "\n".join(lines), [f"g{layers-1}_{j}" for j in range(width)]


def load(name, src, tmp):
    path = Path(tmp) / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # Hamilton resolves functions' modules through sys.modules
    spec.loader.exec_module(mod)
    return mod


def measure(name, src, outputs, reps, tmp):
    mod = load(name, src, tmp)
    n = src.count("\ndef ") + 1
    t = time.perf_counter()
    dr = driver.Builder().with_modules(mod).build()
    build_ms = (time.perf_counter() - t) * 1e3
    execs = []
    for _ in range(reps):
        t = time.perf_counter()
        dr.execute(outputs, inputs={"seed": 1})
        execs.append((time.perf_counter() - t) * 1e6 / n)
    return build_ms, statistics.median(execs)


def overhead():
    # Hamilton's executor is a recursive DFS: a 1,000-deep chain needs a higher recursion
    # limit and a bigger thread stack.
    sys.setrecursionlimit(100_000)
    with tempfile.TemporaryDirectory() as tmp:
        common = []
        for name, (src, outs), reps in [
            ("chain1000", chain_src(1000), 11),
            ("fanin1000", fan_in_src(1000), 11),
            ("grid10x100", grid_src(10, 100), 11),
        ]:
            build_ms, us = measure(name, src, outs, reps, tmp)
            print(f"hamilton {name} exec_us_per_node {us:.3f} build_ms {build_ms:.2f}", flush=True)
            common.append(us)
        # The median of the three shapes: the fan-in's 1,000-parameter sink costs Hamilton far
        # more per node than the others, and a mean would let it dominate.
        print(f"hamilton overall_us_per_node {statistics.median(common):.3f}", flush=True)


def cache():
    """Disk cache, cold (empty cache, new driver) and warm (populated cache, new driver, as a
    new process would be). Times `execute` only: Python start-up and imports are excluded,
    which flatters Hamilton. `execute` returns with every value loaded (a hit unpickles its
    result as its node is reached) and the run committed (the run's id is committed to SQLite
    as the run starts, each computed node's metadata as it is stored): weft's like-for-like
    figure adds reading the outputs and committing the run to its `execute`."""
    import shutil

    sys.setrecursionlimit(100_000)  # Hamilton's executor recurses once per chain link
    with tempfile.TemporaryDirectory() as tmp:
        for name, (src, outs) in [("chain1000", chain_src(1000)), ("fanin1000", fan_in_src(1000))]:
            mod = load(name, src, tmp)
            n = src.count("\ndef ") + 1
            cache_dir = Path(tmp) / f"cache-{name}"

            def run():
                dr = driver.Builder().with_modules(mod).with_cache(path=str(cache_dir)).build()
                t = time.perf_counter()
                dr.execute(outs, inputs={"seed": 1})
                return (time.perf_counter() - t) * 1e6 / n

            cold = []
            for _ in range(3):
                shutil.rmtree(cache_dir, ignore_errors=True)
                cold.append(run())
            warm = [run() for _ in range(5)]
            print(f"hamilton {name} cold_us_per_node {statistics.median(cold):.1f}", flush=True)
            print(f"hamilton {name} warm_us_per_node {statistics.median(warm):.1f}", flush=True)


def parallel():
    """Parallel execution, the cases of bench/src/parallel.rs: blocking I/O on threads, async
    timers, CPU-bound nodes on threads, and Parallelizable/Collect fan-out. Times `execute`
    only, on a fresh driver each time (building it is not timed)."""
    import asyncio

    from hamilton import async_driver
    from hamilton.execution import executors
    from hamilton.plugins import h_threadpool

    with tempfile.TemporaryDirectory() as tmp:
        # io: 50 nodes each blocking 100 ms, 10 threads (limit 0.5 s).
        lines = ["import time\n"]
        lines += [
            f"def io{i}(seed: int) -> int:\n    time.sleep(0.1)\n    return seed + {i}\n"
            for i in range(50)
        ]
        lines.append(
            "def total("
            + ", ".join(f"io{i}: int" for i in range(50))
            + ") -> int:\n    return "
            + " + ".join(f"io{i}" for i in range(50))
            + "\n"
        )
        io_mod = load("par_io", "\n".join(lines), tmp)

        def time_execute(build, reps):
            times = []
            for _ in range(reps):
                dr = build()
                t = time.perf_counter()
                dr.execute(["total"], inputs={"seed": 1})
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        # The seed's recipe: MultiThreadingExecutor as the local executor (this requires
        # dynamic execution; without it the builder raises).
        io_threads = time_execute(
            lambda: driver.Builder()
            .with_modules(io_mod)
            .enable_dynamic_execution(allow_experimental_mode=True)
            .with_local_executor(executors.MultiThreadingExecutor(max_tasks=10))
            .build(),
            3,
        )
        print(f"hamilton io_s {io_threads:.3f}", flush=True)
        # The alternative: one thread-pool submission per node.
        io_futures = time_execute(
            lambda: driver.Builder()
            .with_modules(io_mod)
            .with_adapters(h_threadpool.FutureAdapter(max_workers=10))
            .build(),
            3,
        )
        print(f"hamilton io_futureadapter_s {io_futures:.3f}", flush=True)

        # async: 1,000 async nodes each awaiting a 100 ms timer, one sync sum (limit 0.1 s).
        lines = ["import asyncio\n"]
        lines += [
            f"async def wait{i}(seed: int) -> int:\n    await asyncio.sleep(0.1)\n    return seed + {i}\n"
            for i in range(1000)
        ]
        lines.append(
            "def total("
            + ", ".join(f"wait{i}: int" for i in range(1000))
            + ") -> int:\n    return sum(["
            + ", ".join(f"wait{i}" for i in range(1000))
            + "])\n"
        )
        async_mod = load("par_async", "\n".join(lines), tmp)

        async def run_async():
            times = []
            for _ in range(3):
                dr = await async_driver.Builder().with_modules(async_mod).build()
                t = time.perf_counter()
                await dr.execute(["total"], inputs={"seed": 1})
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        print(f"hamilton async_s {asyncio.run(run_async()):.3f}", flush=True)

        # cpu: 8 CPU-bound nodes of ~50 ms, sequential vs MultiThreadingExecutor(2).
        def spin(rounds):
            x = 0
            for i in range(rounds):
                x = (x * 31 + i) & 0xFFFFFFFF
            return x

        probe = 200_000
        t = time.perf_counter()
        spin(probe)
        rounds = int(0.05 / ((time.perf_counter() - t) / probe))
        lines = [
            "def _spin(rounds):\n    x = 0\n    for i in range(rounds):\n"
            "        x = (x * 31 + i) & 0xFFFFFFFF\n    return x\n"
        ]
        lines += [
            f"def cpu{i}(seed: int) -> int:\n    return seed + _spin({rounds}) % 7 + {i}\n"
            for i in range(8)
        ]
        lines.append(
            "def total("
            + ", ".join(f"cpu{i}: int" for i in range(8))
            + ") -> int:\n    return "
            + " + ".join(f"cpu{i}" for i in range(8))
            + "\n"
        )
        cpu_mod = load("par_cpu", "\n".join(lines), tmp)
        seq = time_execute(lambda: driver.Builder().with_modules(cpu_mod).build(), 5)
        thr = time_execute(
            lambda: driver.Builder()
            .with_modules(cpu_mod)
            .enable_dynamic_execution(allow_experimental_mode=True)
            .with_local_executor(executors.MultiThreadingExecutor(max_tasks=2))
            .build(),
            5,
        )
        print(f"hamilton cpu_sequential_s {seq:.3f}", flush=True)
        print(f"hamilton cpu_threads2_s {thr:.3f}", flush=True)
        print(f"hamilton cpu_speedup {seq / thr:.2f}", flush=True)

        # fanout: Parallelizable/Collect over 3,000 trivial items, dynamic execution with the
        # default executors. Quadratic in Hamilton (~15 s): run once.
        src = (
            "from hamilton.htypes import Collect, Parallelizable\n\n"
            "def item(n_items: int) -> Parallelizable[int]:\n"
            "    for i in range(n_items):\n        yield i\n\n"
            "def doubled(item: int) -> int:\n    return item * 2\n\n"
            "def total(doubled: Collect[int]) -> int:\n    return sum(doubled)\n"
        )
        fan_mod = load("par_fanout", src, tmp)
        dr = (
            driver.Builder()
            .with_modules(fan_mod)
            .enable_dynamic_execution(allow_experimental_mode=True)
            .build()
        )
        t = time.perf_counter()
        out = dr.execute(["total"], inputs={"n_items": 3000})
        fan = time.perf_counter() - t
        assert out["total"] == 3000 * 2999, out["total"]
        print(f"hamilton fanout3k_s {fan:.2f}", flush=True)


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else ""
    cases = {"overhead": overhead, "cache": cache, "parallel": parallel}
    if case not in cases:
        print(f"usage: hamilton_bench.py {{{','.join(cases)}}}", file=sys.stderr)
        sys.exit(2)
    threading.stack_size(512 * 1024 * 1024)
    t = threading.Thread(target=cases[case])
    t.start()
    t.join()


if __name__ == "__main__":
    main()
