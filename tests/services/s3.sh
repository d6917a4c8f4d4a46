#!/usr/bin/env bash
# A real S3-compatible server for the object-store cache tests (engine feature `object-store`):
# moto in server mode (PyPI `moto[server]`, pinned), bound to 127.0.0.1 on a free port.
#
#   bash tests/services/s3.sh packages|install|start|stop
#
# `start` writes $WEFT_SERVICES/s3.env:
#   WEFT_TEST_S3_URL      the endpoint (http://127.0.0.1:PORT)
#   WEFT_TEST_S3_BUCKET   a bucket made by `start`; each test works under its own prefix
#   AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#                         what object_store's S3 client reads from the environment (test
#                         credentials: moto accepts any)
# Self-contained on purpose: every service script stands alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
name=s3
services="${WEFT_SERVICES:-$root/.test-services/run}"
venv="$root/.test-services/venv-$name"
moto_version="5.2.5"

case "${1:-}" in
  packages)
    # python3 and its venv module (Debian splits it out).
    echo "python3 python3-venv"
    ;;
  install)
    if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')"; then
      exit 0
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
    ;;
  start)
    mkdir -p "$services"
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    log="$services/$name.log"
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    echo $! >"$services/$name.pid"
    url="http://127.0.0.1:$port"
    # Ready when a real S3 request (list buckets) answers; bounded: 120 tries, 0.5 s apart.
    for _ in $(seq 120); do
      if "$venv/bin/python" - "$url" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/", timeout=2) as r:
    body = r.read()
    sys.exit(0 if r.status == 200 and b"ListAllMyBucketsResult" in body else 1)
PY
      if ! kill -0 "$(cat "$services/$name.pid")" 2>/dev/null; then
        echo "moto_server exited; its log:" >&2; tail -n 30 "$log" >&2; exit 1
      fi
      sleep 0.5
    done
    if ! "$venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/', timeout=2)" "$url" 2>/dev/null; then
      echo "moto_server did not answer on $url; its log:" >&2; tail -n 30 "$log" >&2; exit 1
    fi
    # The tests' bucket (moto takes unsigned requests); each test works under its own prefix.
    "$venv/bin/python" - "$url/weft-test" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="PUT"), timeout=10).read()
PY
    cat >"$services/$name.env" <<EOF
WEFT_TEST_S3_URL=$url
WEFT_TEST_S3_BUCKET=weft-test
AWS_ENDPOINT_URL=$url
AWS_ALLOW_HTTP=true
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=weft-test
AWS_SECRET_ACCESS_KEY=weft-test-secret
EOF
    echo "s3 (moto $moto_version) on $url"
    ;;
  stop)
    pidfile="$services/$name.pid"
    [ -f "$pidfile" ] || exit 0
    pid="$(cat "$pidfile")"
    # setsid made it a process-group leader: stop the group it leads.
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile" "$services/$name.env"
    ;;
  *)
    echo "usage: $0 packages|install|start|stop" >&2; exit 2
    ;;
esac
