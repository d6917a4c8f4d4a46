#!/usr/bin/env bash
# A one-machine Ray head on 127.0.0.1 (dashboard on: the Jobs REST API lives there).
# Verbs: packages | install | start | stop (see tests/run.sh). Writes WEFT_TEST_RAY (the
# dashboard's http address), WEFT_TEST_RAY_PYTHON (the venv's python: a job's entrypoint
# inherits the PATH of `ray start`, so weft calls this python explicitly) and WEFT_TEST_RAY_GCS
# (the head's GCS address, for `ray.init(address=...)`: bench/hamilton_cluster.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=ray
venv="$PWD/.test-services/venv-$name"
dir="${WEFT_SERVICES:-$PWD/.test-services/run}"
mkdir -p "$dir"


case "${1:-}" in
packages) echo "python3 python3-venv curl" ;;
install)
  [ -x "$venv/bin/ray" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q "ray[default]==2.60.0"; }
  ;;
start)
  # Every port the head listens on is chosen free here, not left to Ray's fixed defaults
  # (dashboard agent 52365, runtime-env agent, metrics, client server 10001, workers from
  # 10002): a second head on the machine (another checkout's tests, a benchmark) must not
  # collide with this one. One python picks them all while holding each open, so no two are
  # the same; the workers get a block of their own below the kernel's ephemeral range.
  read -r gcs dash agent agent_grpc runtime_env metrics client node_mgr obj_mgr workers <<<"$(python3 - <<'PY'
import random, socket
held = []
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
    return s.getsockname()[1]
singles = [free() for _ in range(9)]
def block_free(lo, n):
    socks = []
    try:
        for p in range(lo, lo + n):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        for s in socks: s.close()
rng = random.SystemRandom()
for _ in range(100):
    lo = rng.randrange(20000, 32000 - 200)
    if block_free(lo, 200): break
print(*singles, lo)
PY
)"
  log="$dir/$name.log"
  # Ray's session directory holds unix sockets (paths <= 107 bytes): a short one under /tmp.
  tmp=$(mktemp -d /tmp/weft-ray.XXXXXX)
  echo "$tmp" >"$dir/$name.tmp"
  export RAY_USAGE_STATS_ENABLED=0
  # `ray start` turns --node-ip-address=127.0.0.1 into the machine's outward address (so the
  # client server, the agents and the metrics servers bind it, or 0.0.0.0) unless Ray believes
  # it is a one-machine install: this variable (named for Windows and macOS, read everywhere)
  # keeps the node on 127.0.0.1. What still binds every interface: see the book's "Ray and
  # Dask" chapter, "What listens where".
  export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
  # --block keeps `ray start` in the foreground: its process group is the whole head.
  setsid "$venv/bin/ray" start --head --block --node-ip-address=127.0.0.1 --port="$gcs" \
    --dashboard-host=127.0.0.1 --dashboard-port="$dash" --include-dashboard=true \
    --dashboard-agent-listen-port="$agent" --dashboard-agent-grpc-port="$agent_grpc" \
    --runtime-env-agent-port="$runtime_env" --metrics-export-port="$metrics" \
    --ray-client-server-port="$client" --node-manager-port="$node_mgr" \
    --object-manager-port="$obj_mgr" --min-worker-port="$workers" \
    --max-worker-port="$((workers + 199))" \
    --num-cpus=2 --resources='{"ssd": 2}' --disable-usage-stats --temp-dir="$tmp" >"$log" 2>&1 &
  echo $! >"$dir/$name.pid"
  url="http://127.0.0.1:$dash"
  # Ready when the Jobs API accepts a job and runs it to the end (the agent comes up after the
  # dashboard answers: "No available agent" until then). Bounded: 300 tries, ~5 minutes.
  ok=""
  for _ in $(seq 300); do
    kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || break
    id=$(curl -sf -X POST "$url/api/jobs/" -H 'Content-Type: application/json' \
      -d '{"entrypoint":"true"}' 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])' 2>/dev/null || true)
    if [ -n "$id" ]; then
      for _ in $(seq 120); do
        st=$(curl -sf "$url/api/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
        case "$st" in SUCCEEDED) ok=1; break ;; FAILED|STOPPED) break ;; esac
        sleep 1
      done
      [ -n "$ok" ] && break
    fi
    sleep 1
  done
  if [ -z "$ok" ]; then echo "ray head did not come up; log tail:" >&2; tail -30 "$log" >&2; exit 1; fi
  printf 'WEFT_TEST_RAY=%s\nWEFT_TEST_RAY_PYTHON=%s\nWEFT_TEST_RAY_GCS=%s\n' "$url" "$venv/bin/python" "127.0.0.1:$gcs" >"$dir/$name.env"
  ;;
stop)
  pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
  [ -n "$pid" ] || exit 0
  # `ray start --block` stops every Ray process of the head when it gets SIGTERM; the group is
  # killed only if that does not finish in a minute.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 60); do
    [ -n "$(ps -o stat= -g "$pid" 2>/dev/null | grep -v '^Z')" ] || break
    sleep 1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  tmp=$(cat "$dir/$name.tmp" 2>/dev/null || true)
  case "$tmp" in /tmp/weft-ray.*) rm -rf "$tmp" ;; esac
  rm -f "$dir/$name.pid" "$dir/$name.tmp"
  ;;
*) echo "usage: $0 packages|install|start|stop" >&2; exit 2 ;;
esac
