"""Times whole commands (process start included): `timeit.py N SETUP -- CMD...`.

Runs SETUP (a shell command, e.g. clearing a cache; `-` for none) before each of N runs of CMD
and prints the median wall time in seconds."""

import statistics
import subprocess
import sys
import time


def main():
    n = int(sys.argv[1])
    setup = sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    times = []
    for _ in range(n):
        if setup != "-":
            subprocess.run(setup, shell=True, check=True)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    print(f"{statistics.median(times):.6f}")


if __name__ == "__main__":
    main()
