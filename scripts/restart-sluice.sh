#!/usr/bin/env bash
# (Re)starts bin/sluice with the current environment, writing its PID to
# $SLUICE_RUN_DIR/sluice.pid, and waits until /health answers. Used by
# make bench before each suite entry so every entry starts from a fresh heap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pidfile="$SLUICE_RUN_DIR/sluice.pid"
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  SLUICE_DRAIN_SECONDS=0 kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
fi
SLUICE_DRAIN_SECONDS=0 nohup "$root/bin/sluice" >>"$SLUICE_RUN_DIR/sluice.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/v1/streaming/health" >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "restart-sluice: sluice did not come up; see $SLUICE_RUN_DIR/sluice.log" >&2
exit 1
