#!/usr/bin/env bash
# Runs weft and Apache Hamilton on the same workload in one run and prints both.
#   bench/compare.sh overhead   per-node execution overhead, no cache
#   bench/compare.sh cache      disk cache, cold and warm, process start included for weft
#   bench/compare.sh parallel   threads for blocking I/O, async timers, CPU-bound threads, fan-out
#   bench/compare.sh remote     issue 16's figures, weft only (Hamilton has no process pool or
#                               shared cache): the process pool's per-task overhead (1,000 trivial
#                               nodes, one task each, and as one task group); a 16-node CPU-bound
#                               graph on one thread, threads:2 and processes:2 — the "cpu speedup"
#                               is processes:2's over one thread (threads:2's is printed beside
#                               it); and the team cache's warm run (as `team`). Last line:
#                               remote: task <X> ms, grouped <Y> us/node, cpu speedup <Z>, team warm <W> us/node
#   bench/compare.sh frames     a 1,000,000-row data-frame pipeline (polars in weft; pandas and polars
#                               in Hamilton) uncached, cache cold, cache warm in a new process;
#                               also the CPU seconds a cold run adds per 100 MB stored
#   bench/compare.sh incremental  a one-input rerun of a 10,001-node graph (engine time without
#                               node bodies) and watch-mode latency; weft only: Hamilton has no
#                               incremental reruns or watch mode to compare with
#   bench/compare.sh ui         the web view (`weft ui`) over a cache of 1,000 runs of a 1,000-node
#                               flow: server render time of the runs, run and node pages, first
#                               request included; weft only: Hamilton's UI is a separate tracking
#                               server (Django + Postgres) fed while runs happen, not a view of a
#                               cache, so there is no like-for-like figure to set beside it
#   bench/compare.sh scale [N]  a chain of N nodes (default 1,000,000) with the disk cache: cold,
#                               then three warm runs, each a new process; wall and CPU seconds,
#                               peak memory, metadata growth per warm run. weft only (issue 12
#                               item 7's figures). Notes: on a shared machine compare CPU
#                               seconds, not wall; scale behaviour shows only at the full size
#                               (the cost of SQLite's random-key inserts grows once the key and
#                               result indexes outgrow its page cache, ~200k nodes), so check
#                               a change at N=100000 and 200000 for linearity, then at 1M. The
#                               first warm run after a cold one stores its records body afresh
#                               (a cold run's come in many batches), hence its growth and peak;
#                               later warm runs add 0 B. Figures: book, Reliability chapter.
#   bench/compare.sh team       a warm team-cache run from object storage (the S3-compatible test
#                               server of tests/services/s3.sh on 127.0.0.1), process start
#                               included, per node; weft only: Hamilton has no shared cache
#   bench/compare.sh cluster    issue 17's figures: a 16-node CPU-bound graph (each node ~0.5 s of
#                               work) and a 200-node trivial graph on a local Ray head and a local
#                               Dask cluster (2 CPUs each; started here with tests/services/*.sh in
#                               a private WEFT_SERVICES directory and stopped afterwards), through
#                               weft (--executor ray / dask: bench/src/cluster.rs) and Hamilton's
#                               RayGraphAdapter and DaskGraphAdapter (bench/hamilton_cluster.py);
#                               medians of 3 runs (the trivial graph: 9) after a warm-up. Last line:
#                               cluster: ray weft <A> s hamilton <B> s; dask weft <C> s hamilton <D> s; overhead ray <E> ms/task dask <F> ms/task
#                               (A-D: the CPU-bound graph; E, F: weft's trivial graph per task,
#                               Hamilton's beside it on the line before)
#   bench/compare.sh spark      the seed's Spark flow (raw_data(spark_session) -> filtered_data ->
#                               aggregated_stats) on a 1,000,000-row CSV through weft (feature
#                               spark) and through Hamilton's PySpark integration on a Spark Connect
#                               session, both against the same local Connect server (started here
#                               with tests/services/spark.sh, stopped on exit); weft cold (empty
#                               cache: Spark writes the cached node's parquet) and warm (a new
#                               process reads it back), and uncached (no adapter: Hamilton's
#                               work). Last line:
#                               spark: weft <A> s hamilton <B> s; weft cached <C> s
# Hamilton (apache-hamilton from PyPI) is installed into bench/.venv (ignored by git) if missing
# (for spark with pyspark into bench/.venv-spark).
# Machines are noisy: every figure is a median over repetitions, compared within this one run.
#
# Before/after: WEFT_ROOT=DIR runs weft from another checkout DIR (e.g. a worktree of an older
# commit: `git worktree add --detach ../before COMMIT`), against the same Hamilton side and with
# this script's reporting. weft is built in CARGO_TARGET_DIR if set, else DIR/target: give each
# checkout its own. Hamilton's figures, the same code in both runs, show the machine's drift
# between them.
set -euo pipefail
case_name="${1:-}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${WEFT_ROOT:-$here/..}" && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
# WEFT_BENCH_BIN=PATH runs that weft-bench binary instead of building one (an older build, for a
# before/after run on the same machine state).
weft_bench="${WEFT_BENCH_BIN:-$target/release/weft-bench}"
# Every case builds the same weft-bench: release, with all its features (polars, Spark, Ray,
# Dask, object store), so going from one case to another never rebuilds the engine (a polars
# build's link alone takes minutes on two cores). The Spark client needs `protoc`:
# `bash tests/services/spark.sh packages` installs it. Extra cargo arguments build more.
build_bench() {
  [ -n "${WEFT_BENCH_BIN:-}" ] && return 0
  (cd "$root" && cargo build -q --release -p weft-bench \
    --features weft-bench/polars,weft-bench/spark,weft-bench/ray,weft-bench/dask,weft-bench/object-store "$@")
}

case "$case_name" in
  overhead|cache|parallel|incremental|ui|scale|remote|team|frames|cluster|spark) ;;
  *) echo "usage: bench/compare.sh overhead|cache|parallel|incremental|ui|scale|remote|team|frames|cluster|spark" >&2; exit 2 ;;
esac

if [ "$case_name" = cluster ]; then
  venv="$here/.venv"
  # Hamilton beside the clients of the services' pinned Ray and Dask (a client must match its
  # cluster's version).
  if ! "$venv/bin/python" -c "import hamilton.version as v, ray, distributed, dask.dataframe; assert v.VERSION[:2] == (1, 90) and ray.__version__ == '2.60.0' and distributed.__version__ == '2026.8.0'" 2>/dev/null; then
    echo "installing Hamilton, Ray and Dask into $venv ..." >&2
    python3 -m venv "$venv"
    # (Hamilton's Dask plugin imports dask.dataframe: pandas and pyarrow.)
    "$venv/bin/pip" install -q apache-hamilton==1.90.0 "ray[default]==2.60.0" "dask[distributed,dataframe]==2026.8.0"
  fi
  export HAMILTON_TELEMETRY_ENABLED=false RAY_USAGE_STATS_ENABLED=0
  # The head is on 127.0.0.1 (tests/services/ray.sh); without this, Hamilton's `ray.init` turns
  # 127.0.0.1 into the machine's outward address and finds no GCS there.
  export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
  echo "building weft-bench with ray and dask (release) ..." >&2
  build_bench
  echo "weft from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))" >&2
  services="$(mktemp -d)"
  out="$(mktemp -d)"
  stop_services() {
    WEFT_SERVICES="$services" bash "$here/../tests/services/ray.sh" stop || true
    WEFT_SERVICES="$services" bash "$here/../tests/services/dask.sh" stop || true
    rm -rf "$services" "$out"
  }
  trap stop_services EXIT
  for s in ray dask; do
    WEFT_SERVICES="$services" bash "$here/../tests/services/$s.sh" install
  done
  # Hamilton's Dask adapter ships Hamilton objects in its task graph: the cluster's environment
  # needs Hamilton too, as the client's does (Ray's workers run the client's Python instead).
  dask_python="$here/../.test-services/venv-dask/bin/python"
  "$dask_python" -c "import hamilton, dask.dataframe" 2>/dev/null ||
    "$dask_python" -m pip install -q apache-hamilton==1.90.0 "dask[dataframe]==2026.8.0"
  for s in ray dask; do
    WEFT_SERVICES="$services" bash "$here/../tests/services/$s.sh" start
  done
  set -a; . "$services/ray.env"; . "$services/dask.env"; set +a
  # Ray's job ships the flow binary (this one), and Ray refuses uploads over 100 MB: the release
  # profile's line tables and the other cases' features make it bigger; a stripped copy is not.
  bin="$out/weft-bench"
  strip -o "$bin" "$weft_bench"
  "$bin" cluster ray "$WEFT_TEST_RAY" "$WEFT_TEST_RAY_PYTHON" | tee -a "$out/all.txt"
  "$venv/bin/python" "$here/hamilton_cluster.py" ray "$WEFT_TEST_RAY_GCS" | tee -a "$out/all.txt"
  "$bin" cluster dask "$WEFT_TEST_DASK" "$WEFT_TEST_DASK_PYTHON" | tee -a "$out/all.txt"
  "$venv/bin/python" "$here/hamilton_cluster.py" dask "$WEFT_TEST_DASK" | tee -a "$out/all.txt"
  v() { awk -v w="$1" -v k="$2" '$1 == w && $2 == k {print $3}' "$out/all.txt" | tail -n 1; }
  echo "per task, trivial graph: ray weft $(v weft ray_ms_per_task) ms hamilton $(v hamilton ray_ms_per_task) ms; dask weft $(v weft dask_ms_per_task) ms hamilton $(v hamilton dask_ms_per_task) ms"
  echo "cluster: ray weft $(v weft ray_cpu16_s) s hamilton $(v hamilton ray_cpu16_s) s; dask weft $(v weft dask_cpu16_s) s hamilton $(v hamilton dask_cpu16_s) s; overhead ray $(v weft ray_ms_per_task) ms/task dask $(v weft dask_ms_per_task) ms/task"
  exit 0
fi

if [ "$case_name" = ui ]; then
  echo "building weft-bench and weft (release) ..." >&2
  build_bench -p weft-dataflow-cli --bin weft-bench --bin weft
  echo "weft from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))" >&2
  out="$(mktemp -d)"
  pid=""
  trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT
  "$weft_bench" ui-cache "$out/cache"
  "$target/release/weft" ui --cache "$out/cache" --port 0 >"$out/ui.log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 300); do
    url="$(grep -o 'http://127.0.0.1:[0-9]*' "$out/ui.log" | head -n 1 || true)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/ui.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "weft ui did not start" >&2; exit 1; }
  run="$("$target/release/weft" cache --cache-dir "$out/cache" runs --json |
    python3 -c 'import json,sys; print(max(json.load(sys.stdin), key=lambda r: r["started_at"])["run_id"])')"
  python3 "$here/ui_bench.py" "$url" "$run" c0_n50 15 | tee "$out/weft.txt"
  get() { awk -v p="$1" -v k="$2" '$2 == p && $3 == k {print $NF}' "$out/weft.txt"; }
  awk -v r="$(get runs_page median_server_ms)" -v r1="$(get runs_page first_server_ms)" \
      -v p="$(get run_page median_server_ms)" -v p1="$(get run_page first_server_ms)" 'BEGIN {
    printf "runs page: median %.1f ms (first %.1f ms), budget 100 ms, %.1fx under\n", r, r1, 100 / r
    printf "run page: median %.1f ms (first %.1f ms), budget 200 ms, %.1fx under\n", p, p1, 200 / p }'
  exit 0
fi

if [ "$case_name" = scale ]; then
  n="${2:-1000000}"
  echo "building weft (release) ..." >&2
  build_bench
  bin="$weft_bench"
  dir="$(mktemp -d)/cache"
  trap 'rm -rf "$(dirname "$dir")"' EXIT
  meta_bytes() {
    # The metadata as a new process finds it: the log folded into the file first.
    python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$dir/meta.sqlite"
    stat -c %s "$dir/meta.sqlite"
  }
  prev=""
  for run in cold warm1 warm2 warm3; do
    line=$( { /usr/bin/time -f "%e %U %S %M" "$bin" cache-run "$dir" "chain$n" >/dev/null; } 2>&1 | tail -n 1)
    bytes=$(meta_bytes)
    growth=${prev:+$((bytes - prev))}
    echo "$line" | awk -v r="$run" -v n="$n" -v b="$bytes" -v g="${growth:--}" \
      '{ printf "weft chain%s %s wall_s %.1f cpu_s %.1f peak_mb %.0f meta_bytes %d meta_growth_bytes %s\n", n, r, $1, $2 + $3, $4 / 1024, b, g }'
    prev=$bytes
  done
  echo "targets: cold <= 30 s, warm (new process) <= 8 s, metadata growth per warm run <= 1 KB, peak <= 2 GB (wall figures need an idle machine)"
  exit 0
fi

# The team cache: a warm run from object storage (the S3-compatible test server of
# tests/services/s3.sh, started here on 127.0.0.1 and stopped on exit) by a fresh process with
# nothing local, per node, for a chain and a fan-in of 1,000 nodes; figures into $out/team.txt.
# Needs weft-bench built with the feature object-store, $bin and $out set.
team_measure() {
  export WEFT_SERVICES="$out/services"
  s3="$here/../tests/services/s3.sh"
  bash "$s3" install >&2
  trap 'bash "$s3" stop; rm -rf "$out"' EXIT
  bash "$s3" start >&2
  set -a; . "$WEFT_SERVICES/s3.env"; set +a
  for shape in chain1000 fanin1000; do
    url="s3://$WEFT_TEST_S3_BUCKET/bench-$$-$shape"
    # One driver fills the team cache; every later one (a fresh process with nothing local,
    # as on another machine) runs warm from object storage.
    cold=$(python3 "$here/timeit.py" 1 - -- "$bin" cache-run "$url" "$shape")
    warm=$(python3 "$here/timeit.py" 9 - -- "$bin" cache-run "$url" "$shape")
    inproc=$(for _ in 1 2 3 4 5 6 7 8 9; do WEFT_BENCH_EXECUTE_US=1 "$bin" cache-run "$url" "$shape"; done |
      awk '{print $2}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    awk -v s="$shape" -v c="$cold" -v w="$warm" -v e="$inproc" 'BEGIN {
      printf "weft %s team_cold_us_per_node %.1f\nweft %s team_warm_us_per_node %.1f\nweft %s team_warm_run_read_commit_us_per_node %.1f\n", s, c * 1e6 / 1000, s, w * 1e6 / 1000, s, e }'
  done | tee "$out/team.txt"
}
# The worse of the chain's and the fan-in's figure KEY.
team_worst() { awk -v k="$1" '$3 == k && $NF > m {m = $NF} END {print m}' "$out/team.txt"; }

if [ "$case_name" = remote ] || [ "$case_name" = team ]; then
  echo "building weft (release, feature object-store) ..." >&2
  build_bench
  echo "weft from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))" >&2
  bin="$weft_bench"
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  if [ "$case_name" = team ]; then
    team_measure
    echo "team warm $(team_worst team_warm_us_per_node) us/node (whole process, worse of chain and fan-in; in-process run + read + commit $(team_worst team_warm_run_read_commit_us_per_node) us/node; cold $(team_worst team_cold_us_per_node) us/node)"
    exit 0
  fi
  "$bin" remote | tee "$out/weft.txt"
  val() { awk -v k="$1" '$2 == k {print $NF}' "$out/weft.txt" | tail -n 1; }
  team_measure
  echo "(cpu: one thread $(val remote_cpu_one_s) s, threads:2 $(val remote_cpu_threads2_s) s = speedup $(val remote_cpu_threads_speedup), processes:2 $(val remote_cpu_processes2_s) s; goals: task <= 5 ms, grouped <= 50 us/node, cpu speedup >= 1.8 on 2 idle cores)"
  echo "remote: task $(val remote_task_ms) ms, grouped $(val remote_grouped_us_per_node) us/node, cpu speedup $(val remote_cpu_speedup), team warm $(team_worst team_warm_us_per_node) us/node"
  exit 0
fi

# The Hamilton side's Python: PKG... installed into bench/VENV unless the Python CHECK passes.
hamilton_venv() {
  venv="$here/$1"
  local check="$2"; shift 2
  if ! "$venv/bin/python" -c "$check" 2>/dev/null; then
    echo "installing $* into $venv ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "$@"
  fi
  export HAMILTON_TELEMETRY_ENABLED=false
}
# weft-bench built in release (for the case that needs feature FEATURE), as $bin.
release_bench() {
  echo "building weft-bench (release, for feature $1) ..." >&2
  build_bench
  bin="$weft_bench"
}
# The median of numbers on stdin; the `seconds S` line of a run's output.
med() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
secs() { awk '$1 == "seconds" {print $2}'; }

if [ "$case_name" = frames ]; then
  # The same pipeline in both, each run a new process timed inside (driver build to report):
  # uncached, cold (empty cache), warm (the cache a cold run left, in a new process).
  # polars 1.x: Hamilton 1.90 reads parquet back with an argument polars 2 removed.
  hamilton_venv .venv "import hamilton, pandas, pyarrow, numpy, packaging, polars; assert polars.__version__.startswith('1.')" \
    apache-hamilton==1.90.0 pandas==3.1.1 polars==1.44.2 pyarrow==26.0.1 numpy==2.4.6 packaging==25.0
  release_bench polars
  mkdir -p "$here/out"
  csv="$here/out/frames.csv"
  [ -f "$csv" ] || "$venv/bin/python" "$here/hamilton_frames.py" gen "$csv"
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  reps="${FRAMES_REPS:-9}"
  hreps="${FRAMES_HAMILTON_REPS:-3}"
  # side N EXTRA CMD...: the medians of N rounds, each an uncached run, a cold one (empty
  # cache) and a warm one (the cache that cold run left), then EXTRA rounds of an uncached
  # and a warm run alone (Hamilton's cold runs take seconds each; its uncached and warm ones
  # swing between runs, so they get more). Rounds, not a block of each: the machine's drift
  # over the minute reaches the three alike, so that their ratios hold.
  # timed KIND CMD...: runs CMD and adds a line to $runs: KIND, the seconds it printed, and
  # the CPU seconds (user + system) of its process, as bash's `time` counts them.
  timed() {
    local kind="$1"; shift
    local TIMEFORMAT='%3U %3S' cpu
    cpu=$( { time "$@" > "$out/stdout" 2> "$out/stderr"; } 2>&1 ) || true
    cat "$out/stderr" >&2
    echo "$kind $(secs < "$out/stdout") $(echo "$cpu" | awk '{print $1 + $2}')" >> "$runs"
  }
  measure() {
    local who="$1" n="$2" extra="$3"; shift 3
    # `timed` adds to $runs (bash scopes it dynamically).
    local dir="$out/cache-$who" runs="$out/runs-$who" u c w cu cc
    : > "$runs"
    for _ in $(seq "$n"); do
      timed uncached "$@" "$csv" -
      rm -rf "$dir"
      timed cold "$@" "$csv" "$dir"
      timed warm "$@" "$csv" "$dir"
    done
    for _ in $(seq "$extra"); do
      timed uncached "$@" "$csv" -
      timed warm "$@" "$csv" "$dir"
    done
    u=$(awk '$1 == "uncached" {print $2}' "$runs" | med)
    c=$(awk '$1 == "cold" {print $2}' "$runs" | med)
    w=$(awk '$1 == "warm" {print $2}' "$runs" | med)
    cu=$(awk '$1 == "uncached" {print $3}' "$runs" | med)
    cc=$(awk '$1 == "cold" {print $3}' "$runs" | med)
    echo "$who uncached $u cold $c warm $w cpu_uncached $cu cpu_cold $cc stored_bytes $(du -sb "$dir" | cut -f1)" \
      | tee -a "$out/all.txt" >&2
  }
  hextra="${FRAMES_HAMILTON_EXTRA:-6}"
  measure weft "$reps" 0 "$bin" frames-run
  measure hamilton_pandas "$hreps" "$hextra" "$venv/bin/python" "$here/hamilton_frames.py" run pandas
  measure hamilton_polars "$hreps" "$hextra" "$venv/bin/python" "$here/hamilton_frames.py" run polars
  fig() { awk -v w="$1" -v k="$2" '$1 == w { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' "$out/all.txt"; }
  wu=$(fig weft uncached); wc=$(fig weft cold); ww=$(fig weft warm)
  for h in hamilton_pandas hamilton_polars; do
    awk -v h="$h" -v hu="$(fig $h uncached)" -v hc="$(fig $h cold)" -v hw="$(fig $h warm)" \
      -v wu="$wu" -v wc="$wc" -v ww="$ww" 'BEGIN {
      printf "%s: uncached %.3f s cold %.3f s warm %.3f s; weft faster: uncached %.1fx cold %.1fx warm %.1fx\n",
        h, hu, hc, hw, hu / wu, hc / wc, hw / ww }'
  done
  awk -v wu="$wu" -v wc="$wc" -v ww="$ww" 'BEGIN {
    printf "weft: cold/uncached %.2f (goal <= 1.2), warm %.3f s (goal <= 0.1)\n", wc / wu, ww }'
  # What the cache costs in CPU, which does not depend on how many cores share it: a cold
  # run's CPU seconds beyond an uncached run's, per 100 MB of what it stored.
  awk -v cu="$(fig weft cpu_uncached)" -v cc="$(fig weft cpu_cold)" -v b="$(fig weft stored_bytes)" \
    -v hu="$(fig hamilton_pandas cpu_uncached)" -v hc="$(fig hamilton_pandas cpu_cold)" -v hb="$(fig hamilton_pandas stored_bytes)" 'BEGIN {
    mb = b / 1e6; hmb = hb / 1e6
    printf "cpu: weft uncached %.3f s cold %.3f s, the cache adds %.3f s for %.0f MB stored (%.3f s per 100 MB); hamilton (pandas) adds %.2f s for %.0f MB (%.2f s per 100 MB)\n",
      cu, cc, cc - cu, mb, (cc - cu) / mb * 100, hc - hu, hmb, (hc - hu) / hmb * 100 }'
  printf "frames: weft uncached %.3f s cold %.3f s warm %.3f s; hamilton uncached %.3f s cold %.3f s warm %.3f s\n" \
    "$wu" "$wc" "$ww" "$(fig hamilton_pandas uncached)" "$(fig hamilton_pandas cold)" "$(fig hamilton_pandas warm)"
  exit 0
fi

if [ "$case_name" = spark ]; then
  # Each run a new process timed inside (session connect to collected rows). Medians of
  # SPARK_REPS runs (default 5), after SPARK_WARMUP untimed runs of each side (default 3) to
  # warm the server's JVM (its runs keep getting faster for several runs after the first);
  # Hamilton's runs and weft's cold ones alternate, which goes first changing every pair.
  # A venv of its own: Hamilton's PySpark plugin imports pyspark.pandas, which needs pandas 2
  # (the frames case pins pandas 3).
  hamilton_venv .venv-spark "import hamilton.plugins.h_spark, sys, pyspark; sys.exit(pyspark.__version__ != '4.3.0')" \
    apache-hamilton==1.90.0 "pyspark[connect]==4.3.0" pandas==2.3.3
  release_bench spark
  mkdir -p "$here/out"
  csv="$here/out/spark.csv"
  [ -f "$csv" ] || "$venv/bin/python" "$here/hamilton_spark.py" gen "$csv"
  out="$(mktemp -d)"
  export WEFT_SERVICES="$out/services"
  svc="$here/../tests/services/spark.sh"
  trap 'bash "$svc" stop; rm -rf "$out"' EXIT
  bash "$svc" install >&2
  bash "$svc" start >&2
  set -a; . "$WEFT_SERVICES/spark.env"; set +a
  remote="$WEFT_TEST_SPARK_REMOTE"
  reps="${SPARK_REPS:-5}"
  weft() { "$bin" spark-run "$remote" "$csv" "$1"; }
  hamilton() { "$venv/bin/python" "$here/hamilton_spark.py" run "$remote" "$csv"; }
  for _ in $(seq "${SPARK_WARMUP:-3}"); do
    rm -rf "$out/warmup"; weft "$out/warmup" >/dev/null; hamilton >/dev/null
  done
  # Hamilton and weft cold in turns, so that the server's drift (its JIT, its caches) falls on
  # both alike; then weft uncached and warm.
  : >"$out/h.txt"; : >"$out/c.txt"
  # A pause before each run lets the server finish with the last one (a client's session is
  # released as its process ends), so neither side starts on the other's clean-up.
  h_run() { sleep 1; hamilton | secs >>"$out/h.txt"; }
  w_run() { rm -rf "$out/cache"; sleep 1; weft "$out/cache" | secs >>"$out/c.txt"; }
  for i in $(seq "$reps"); do
    if [ $((i % 2)) = 1 ]; then h_run; w_run; else w_run; h_run; fi
  done
  echo "hamilton runs: $(tr "\n" " " <"$out/h.txt")" >&2; echo "weft cold runs: $(tr "\n" " " <"$out/c.txt")" >&2
  h=$(med <"$out/h.txt")
  c=$(med <"$out/c.txt")
  u=$(for _ in $(seq "$reps"); do weft - | secs; done | med)
  # The cache the last cold run left, read by new processes.
  w=$(for _ in $(seq "$reps"); do weft "$out/cache" | secs; done | med)
  awk -v h="$h" -v c="$c" -v w="$w" 'BEGIN {
    printf "weft cold %.3f s hamilton %.3f s (goal: weft <= hamilton, %.2fx); weft warm %.3f s, %.1fx faster than cold (goal >= 5x)\n", c, h, h / c, w, c / w }'
  # Like for like with Hamilton's side (one Spark job, nothing written): weft uncached.
  awk -v h="$h" -v u="$u" 'BEGIN { printf "weft uncached %.3f s hamilton %.3f s (%.2fx)\n", u, h, h / u }'
  printf "spark: weft %.3f s hamilton %.3f s; weft cached %.3f s\n" "$c" "$h" "$w"
  exit 0
fi

if [ "$case_name" = incremental ]; then
  echo "building weft (release) ..." >&2
  build_bench
  echo "weft from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))" >&2
  exec "$weft_bench" incremental
fi

hamilton_venv .venv "import hamilton" apache-hamilton

echo "building weft (release) ..." >&2
build_bench
echo "weft from $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))" >&2

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if [ "$case_name" = cache ]; then
  # weft: whole processes, timed from outside (process start, opening SQLite, the run, exit).
  bin="$weft_bench"
  for shape in chain1000 fanin1000; do
    dir="$out/weft-cache-$shape"
    cold=$(python3 "$here/timeit.py" 7 "rm -rf '$dir'" -- "$bin" cache-run "$dir" "$shape")
    warm=$(python3 "$here/timeit.py" 9 - -- "$bin" cache-run "$dir" "$shape")
    # The same warm run timed inside the process as Hamilton's `execute` is: the run, reading
    # the requested outputs (lazy hits load) and committing the run's records.
    inproc=$(for _ in 1 2 3 4 5 6 7 8 9; do WEFT_BENCH_EXECUTE_US=1 "$bin" cache-run "$dir" "$shape"; done |
      awk '{print $2}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    awk -v s="$shape" -v c="$cold" -v w="$warm" -v e="$inproc" 'BEGIN {
      printf "weft %s cold_us_per_node %.1f\nweft %s warm_us_per_node %.1f\nweft %s warm_run_read_commit_us_per_node %.1f\n", s, c * 1e6 / 1000, s, w * 1e6 / 1000, s, e }'
  done | tee "$out/weft.txt"
else
  "$weft_bench" "$case_name" | tee "$out/weft.txt"
fi
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
  cache)
    # Each figure: the worse (larger) of the chain and the fan-in.
    worst() { awk -v k="$2" '$3 == k && $NF > m {m = $NF} END {print m}' "$out/$1.txt"; }
    a=$(worst weft cold_us_per_node); b=$(worst hamilton cold_us_per_node)
    c=$(worst weft warm_us_per_node); d=$(worst hamilton warm_us_per_node)
    e=$(worst weft warm_run_read_commit_us_per_node)
    # Like for like, in a fresh driver on both sides: the run, its outputs read and the run
    # committed, as Hamilton's `execute` returns loaded values after committing its records
    # (weft's figure above includes its whole process: start, graph build, opening the cache,
    # exit).
    awk -v e="$e" -v d="$d" 'BEGIN {
      printf "warm, execute + read outputs + commit on both sides: weft %.1f us/node hamilton %.1f us/node ratio %.0f\n", e, d, d / e }'
    awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
      printf "cache: cold weft %.1f us/node hamilton %.1f us/node ratio %.0f; warm weft %.1f us/node hamilton %.1f us/node ratio %.0f\n", a, b, b / a, c, d, d / c }'
    ;;
  parallel)
    # `weft|hamilton KEY VALUE` lines; each case beside its physical limit.
    val() { awk -v k="$2" '$2 == k {print $NF}' "$out/$1.txt" | tail -n 1; }
    wio=$(val weft io_s); hio=$(val hamilton io_s); hfut=$(val hamilton io_futureadapter_s)
    was=$(val weft async_s); has=$(val hamilton async_s)
    wcpu=$(val weft cpu_speedup); hcpu=$(val hamilton cpu_speedup); cores=$(val weft cpu_cores)
    wfan=$(val weft fanout10k_ms); hfan=$(val hamilton fanout3k_s)
    echo
    awk -v w="$wio" -v h="$hio" -v f="$hfut" 'BEGIN {
      printf "io     50 x 100 ms blocking, 10 threads:  weft %.3f s  hamilton %.3f s (FutureAdapter %.3f s)  limit 0.500 s  goal <= 0.525 s\n", w, h, f }'
    awk -v w="$was" -v h="$has" 'BEGIN {
      printf "async  1,000 x 100 ms timers:             weft %.3f s  hamilton %.3f s  limit 0.100 s  goal <= 0.150 s\n", w, h }'
    awk -v w="$wcpu" -v h="$hcpu" -v c="$cores" 'BEGIN { l = (c < 2 ? c : 2);
      printf "cpu    8 x ~50 ms, 2 threads vs 1:        weft %.2fx  hamilton %.2fx  limit %.1fx (%d cores)  goal >= 1.8x\n", w, h, l, c }'
    if [ "$wfan" = "n/a" ]; then wfan_txt="n/a"; else wfan_txt="$wfan ms"; fi
    echo "fanout trivial items:                    weft 10k $wfan_txt  hamilton 3k $hfan s  goal <= 50 ms for 10k"
    grep -E "^weft fanout_us_per_item" "$out/weft.txt" | sed 's/^weft /linearity (us per item): /'
    echo "parallel: io $wio s (limit 0.5), async $was s (limit 0.1), cpu speedup $wcpu, fanout10k $wfan_txt, hamilton fanout3k $hfan s"
    ;;
esac
