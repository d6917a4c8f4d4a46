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
    which flatters Hamilton."""
    import shutil

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


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else ""
    cases = {"overhead": overhead, "cache": cache}
    if case not in cases:
        print(f"usage: hamilton_bench.py {{{','.join(cases)}}}", file=sys.stderr)
        sys.exit(2)
    threading.stack_size(512 * 1024 * 1024)
    t = threading.Thread(target=cases[case])
    t.start()
    t.join()


if __name__ == "__main__":
    main()
