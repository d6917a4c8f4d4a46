#!/usr/bin/env bash
# A dask.distributed scheduler and two single-threaded workers on 127.0.0.1, one process group.
# `--no-dashboard` leaves each process's HTTP server (health, metrics) on 0.0.0.0:8787 or a
# random port of 0.0.0.0: `--dashboard-address 127.0.0.1:0` keeps it on 127.0.0.1, any port.
# Verbs: packages | install | start | stop (see tests/run.sh). Writes WEFT_TEST_DASK (the
# scheduler address) and WEFT_TEST_DASK_PYTHON (the venv's python, which runs weft's driver).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=dask
venv="$PWD/.test-services/venv-$name"
dir="${WEFT_SERVICES:-$PWD/.test-services/run}"
mkdir -p "$dir"

case "${1:-}" in
packages) echo "python3 python3-venv" ;;
install)
  [ -x "$venv/bin/dask" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q "dask[distributed]==2026.8.0"; }
  ;;
start)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log="$dir/$name.log"
  setsid bash -c "
    '$venv/bin/dask' scheduler --host 127.0.0.1 --port $port --no-dashboard --dashboard-address 127.0.0.1:0 &
    '$venv/bin/dask' worker tcp://127.0.0.1:$port --host 127.0.0.1 --nworkers 2 --nthreads 1 --resources ssd=1 --no-dashboard --dashboard-address 127.0.0.1:0 &
    wait" >"$log" 2>&1 &
  echo $! >"$dir/$name.pid"
  addr="tcp://127.0.0.1:$port"
  # Ready when a client sees both workers (bounded: ~2 minutes).
  if ! "$venv/bin/python" - "$addr" <<'PY'
import sys
from dask.distributed import Client
c = Client(sys.argv[1], timeout="120s")
c.wait_for_workers(2, timeout=120)
c.close()
PY
  then echo "dask did not come up; log tail:" >&2; tail -30 "$log" >&2; exit 1; fi
  printf 'WEFT_TEST_DASK=%s\nWEFT_TEST_DASK_PYTHON=%s\n' "$addr" "$venv/bin/python" >"$dir/$name.env"
  ;;
stop)
  pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
  [ -n "$pid" ] || exit 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$dir/$name.pid"
  ;;
*) echo "usage: $0 packages|install|start|stop" >&2; exit 2 ;;
esac
