#!/usr/bin/env bash
# Headless Chromium for the web view's browser tests (cli/tests/ui_browser.rs): chromedriver on
# a free 127.0.0.1 port; the tests start Chromium through it (headless, no sandbox as root).
#   packages - chromium chromium-driver (Debian)
#   install  - checks that chromedriver and chromium are installed
#   start    - runs chromedriver, waits (bounded) until /status says ready, writes
#              WEFT_TEST_WEBDRIVER=http://127.0.0.1:PORT to $WEFT_SERVICES/chromium.env
#   stop     - kills the chromedriver it started (and the browsers it left)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${WEFT_SERVICES:-$PWD/.test-services/run}"
mkdir -p "$dir"
pidfile="$dir/chromium.pid"
envfile="$dir/chromium.env"
log="$dir/chromium.log"

driver_bin() {
  command -v chromedriver || { [ -x /usr/bin/chromedriver ] && echo /usr/bin/chromedriver; } || true
}

case "${1:-}" in
  packages)
    echo "chromium chromium-driver"
    ;;
  install)
    if [ -z "$(driver_bin)" ] || ! command -v chromium >/dev/null; then
      echo "chromium and chromedriver are not installed: apt-get install -y chromium chromium-driver" >&2
      exit 1
    fi
    ;;
  start)
    bin="$(driver_bin)"
    [ -n "$bin" ] || { echo "chromedriver not found: apt-get install -y chromium-driver" >&2; exit 1; }
    # A free port, chosen by the kernel.
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
    setsid "$bin" --port="$port" --allowed-ips=127.0.0.1 --log-path="$log" >/dev/null 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 100); do
      if curl -fsS "http://127.0.0.1:$port/status" 2>/dev/null | grep -q '"ready":\s*true'; then
        echo "WEFT_TEST_WEBDRIVER=http://127.0.0.1:$port" >"$envfile"
        echo "chromedriver ready on 127.0.0.1:$port"
        exit 0
      fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || break
      sleep 0.2
    done
    echo "chromedriver did not become ready; log tail:" >&2
    tail -20 "$log" >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      # The process group setsid made: chromedriver and any browser it left running.
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      rm -f "$pidfile" "$envfile"
    fi
    ;;
  *)
    echo "usage: $0 packages|install|start|stop" >&2
    exit 2
    ;;
esac
