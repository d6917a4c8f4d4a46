"""The web view's side of `bench/compare.sh ui`: requests pages of a running `weft ui` and
prints the server's render time (its `Server-Timing: render;dur=MS` header) and the time the
whole request took, first request included, as `key value` lines.

    python3 ui_bench.py URL RUN_ID NODE REPS
"""
import re
import statistics
import sys
import time
import urllib.request


def timed(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        body = r.read()
        timing = r.headers.get("server-timing", "")
        status = r.status
    wall = (time.perf_counter() - t) * 1e3
    m = re.search(r"dur=([0-9.]+)", timing)
    if status != 200 or not m:
        sys.exit(f"{url}: status {status}, server-timing {timing!r}")
    return float(m.group(1)), wall, len(body)


def main():
    base, run, node, reps = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], int(sys.argv[4])
    pages = [
        ("runs_page", f"{base}/"),
        ("run_page", f"{base}/runs/{run}"),
        ("node_page", f"{base}/runs/{run}/nodes/{node}"),
    ]
    for name, url in pages:
        server, wall, size = zip(*(timed(url) for _ in range(reps)))
        print(f"weft {name} first_server_ms {server[0]:.1f}")
        print(f"weft {name} median_server_ms {statistics.median(server):.1f}")
        print(f"weft {name} median_request_ms {statistics.median(wall):.1f}")
        print(f"weft {name} kB {size[0] / 1e3:.0f}")


main()
