#!/usr/bin/env bash
# The README's test command: every test of the workspace, feature-gated ones included.
#
# Tests behind cargo features talk to real servers (a Spark Connect server, an S3-compatible
# server, a Ray head, a Dask scheduler, a headless Chromium). Each one has a script in
# tests/services/NAME.sh with four verbs:
#   packages - print the Debian packages it needs (`.ci/run` installs them as root)
#   install  - install what it needs by package name (pip into an ignored venv under
#              .test-services/, apt packages only checked: `.ci/run` installs those as root)
#   start    - start it bound to 127.0.0.1, wait until it answers (bounded), write its pid to
#              $WEFT_SERVICES/NAME.pid and the environment the tests read to $WEFT_SERVICES/NAME.env
#   stop     - stop it by the process id it wrote
# This script installs and starts every service, runs `cargo test --workspace --all-features`
# with their environment, and stops them all afterwards (also on failure or Ctrl-C).
#
#   bash tests/run.sh                # everything
#   bash tests/run.sh -p weft-tests  # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export WEFT_SERVICES="${WEFT_SERVICES:-$root/.test-services/run}"
mkdir -p "$WEFT_SERVICES"

services=()
for script in tests/services/*.sh; do
  [ -e "$script" ] || continue
  case "$(basename "$script")" in _*) continue ;; esac  # shared helpers, not services
  services+=("$(basename "$script" .sh)")
done

started=()
stop_all() {
  local code=$?
  for name in "${started[@]}"; do
    echo "== [${SECONDS}s] stopping service $name"
    bash "tests/services/$name.sh" stop || echo "warning: service $name did not stop cleanly" >&2
  done
  exit "$code"
}
trap stop_all EXIT INT TERM

for name in "${services[@]}"; do
  echo "== [${SECONDS}s] installing service $name"
  bash "tests/services/$name.sh" install
done
for name in "${services[@]}"; do
  echo "== [${SECONDS}s] starting service $name"
  started+=("$name")
  bash "tests/services/$name.sh" start
  # shellcheck disable=SC1090
  if [ -f "$WEFT_SERVICES/$name.env" ]; then set -a; . "$WEFT_SERVICES/$name.env"; set +a; fi
done

echo "== [${SECONDS}s] cargo test --workspace --all-features $*"
cargo test --workspace --all-features "$@"
