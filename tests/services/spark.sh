#!/usr/bin/env bash
# A real Spark Connect server for the Spark tests (engine feature `spark`): the Connect server
# that PyPI `pyspark` ships (its jars; no Maven), on Java 17, bound to 127.0.0.1 on a free port,
# master `local[2]`.
#
#   bash tests/services/spark.sh packages|install|start|stop
#
# `start` writes $WEFT_SERVICES/spark.env:
#   WEFT_TEST_SPARK_REMOTE   the Connect URL (sc://127.0.0.1:PORT) the tests connect to
# Self-contained on purpose: every service script stands alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
name=spark
services="${WEFT_SERVICES:-$root/.test-services/run}"
venv="$root/.test-services/venv-$name"
pyspark_version="4.3.0"

spark_home() { "$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'; }

case "${1:-}" in
  packages)
    # protoc and the well-known .proto files build the Connect client (the crate's build
    # script); Java runs the server; python3 + venv install pyspark.
    echo "protobuf-compiler libprotobuf-dev openjdk-17-jre-headless python3 python3-venv"
    ;;
  install)
    for tool in protoc java python3; do
      command -v "$tool" >/dev/null || { echo "spark service: '$tool' is missing; install the Debian packages of 'bash $0 packages'" >&2; exit 1; }
    done
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
      exit 0
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$pyspark_version"
    ;;
  start)
    mkdir -p "$services/spark-logs" "$services/spark-pids"
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    home="$(spark_home)"
    export SPARK_HOME="$home" SPARK_LOCAL_IP=127.0.0.1 \
      SPARK_LOG_DIR="$services/spark-logs" SPARK_PID_DIR="$services/spark-pids" \
      SPARK_IDENT_STRING="weft-test"
    rm -f "$SPARK_PID_DIR"/*.pid
    # The script daemonizes and writes its own pid file under SPARK_PID_DIR.
    "$home/sbin/start-connect-server.sh" --master 'local[2]' \
      --conf spark.connect.grpc.binding.address=127.0.0.1 \
      --conf "spark.connect.grpc.binding.port=$port" \
      --conf spark.ui.enabled=false \
      --conf spark.sql.shuffle.partitions=4 >"$services/spark-start.log" 2>&1
    pid=""
    for _ in $(seq 100); do
      pid="$(cat "$SPARK_PID_DIR"/*.pid 2>/dev/null || true)"
      [ -n "$pid" ] && break
      sleep 0.1
    done
    [ -n "$pid" ] || { echo "spark: no pid file under $SPARK_PID_DIR; start log:" >&2; cat "$services/spark-start.log" >&2; exit 1; }
    echo "$pid" >"$services/$name.pid"
    # Ready when the gRPC port accepts a connection; bounded: 240 tries, 0.5 s apart (the JVM
    # takes 5 s idle, up to ~20 s on a loaded machine).
    ready=""
    for _ in $(seq 240); do
      if "$venv/bin/python" -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1)" "$port" 2>/dev/null; then
        ready=1; break
      fi
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.5
    done
    if [ -z "$ready" ]; then
      echo "the Spark Connect server did not answer on 127.0.0.1:$port; its log:" >&2
      tail -n 40 "$SPARK_LOG_DIR"/*.out >&2 || true
      exit 1
    fi
    echo "WEFT_TEST_SPARK_REMOTE=sc://127.0.0.1:$port" >"$services/$name.env"
    echo "spark (pyspark $pyspark_version Connect server) on sc://127.0.0.1:$port"
    ;;
  stop)
    pidfile="$services/$name.pid"
    [ -f "$pidfile" ] || exit 0
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile" "$services/$name.env" "$services/spark-pids"/*.pid
    ;;
  *)
    echo "usage: $0 packages|install|start|stop" >&2; exit 2
    ;;
esac
