#!/usr/bin/env bash
# Runs weft and Apache Hamilton on the same workload in one run and prints both.
#   bench/compare.sh overhead
# Hamilton (apache-hamilton from PyPI) is installed into bench/.venv (ignored by git) if missing.
# Machines are noisy: every figure is a median over repetitions, compared within this one run.
set -euo pipefail
case_name="${1:-}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

case "$case_name" in
  overhead) ;;
  *) echo "usage: bench/compare.sh overhead" >&2; exit 2 ;;
esac

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import hamilton" 2>/dev/null; then
  echo "installing apache-hamilton into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q apache-hamilton
fi
export HAMILTON_TELEMETRY_ENABLED=false

echo "building weft (release) ..." >&2
(cd "$root" && cargo build -q --release -p weft-bench)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$root/target/release/weft-bench" "$case_name" | tee "$out/weft.txt"
"$venv/bin/python" "$here/hamilton_bench.py" "$case_name" | tee "$out/hamilton.txt"

get() { awk -v k="$2" '$0 ~ k {print $NF}' "$out/$1.txt" | tail -n 1; }
case "$case_name" in
  overhead)
    w=$(get weft overall_us_per_node)
    h=$(get hamilton overall_us_per_node)
    b=$(awk '$1 == "weft" && $2 == "chain10000" {print $NF}' "$out/weft.txt")
    echo "graph build, 10,000 nodes: weft ${b} ms"
    awk -v w="$w" -v h="$h" 'BEGIN { printf "overhead: weft %.3f us/node, hamilton %.3f us/node, ratio %.1f\n", w, h, h / w }'
    ;;
esac
