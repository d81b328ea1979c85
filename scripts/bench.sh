#!/usr/bin/env bash
# make bench: a fresh Sluice with private Redis and PostgreSQL, the default
# sluice-bench suite against it (Sluice restarted before each entry so memory
# figures start clean), and BENCHMARKS.md's generated section rewritten.
set -euo pipefail
. "$(dirname "$0")/services.sh"
export SLUICE_RUN_DIR=$(mktemp -d /tmp/sluice-bench-run.XXXXXX)
export PORT=${BENCH_PORT:-$(free_port)} BIND=127.0.0.1 LOG_LEVEL=warn REDIS_NAMESPACE=bench
cleanup() {
  set +e
  [ -f "$SLUICE_RUN_DIR/sluice.pid" ] && kill "$(cat "$SLUICE_RUN_DIR/sluice.pid")" 2>/dev/null
  sleep 0.5
  stop_services
  rm -rf "$SLUICE_RUN_DIR"
}
trap cleanup EXIT INT TERM
start_services
"$root/scripts/restart-sluice.sh"
"$root/bin/sluice-bench" suite \
  -target "127.0.0.1:$PORT" -pid-file "$SLUICE_RUN_DIR/sluice.pid" \
  -before-each "$root/scripts/restart-sluice.sh" \
  -redis "127.0.0.1:$REDIS_PORT_PRIVATE" -namespace bench \
  -update "$root/BENCHMARKS.md" ${BENCH_PLOT:+-plot "$BENCH_PLOT"} "$@"
