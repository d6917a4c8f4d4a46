#!/usr/bin/env bash
# The torture suite's long form: tests/torture.rs (and the crash test) with many rounds.
#   bench/torture.sh [ROUNDS] [SEED]
# ROUNDS (default 30) rounds of each case: kill -9 at random steps, ten kinds of damage to
# results, rows, key rows, database pages and logs, a full disk (a small tmpfs: needs root,
# else that case prints SKIPPED and the rest still run), four processes on one cache, gc
# racing builder processes. SEED (default 24301) picks the blows; a failure prints the seed
# to reproduce it. CI runs the bounded form (3 rounds) with the other tests.
set -euo pipefail
rounds="${1:-30}"
seed="${2:-24301}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
start=$(date +%s)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
WEFT_TORTURE_ITERATIONS="$rounds" WEFT_TORTURE_SEED="$seed" \
  cargo test -q -p weft-tests --all-features --test torture --test crash -- --nocapture \
  >"$log" 2>&1 || status=$?
grep -E "^test result|SKIPPED|torture seed|panicked|FAILED" "$log" || true
[ "$status" = 0 ] || tail -n 40 "$log"
echo "torture: $rounds rounds, seed $seed, $(( $(date +%s) - start )) s, exit $status"
exit "$status"
