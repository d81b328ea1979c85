#!/usr/bin/env bash
# make demo: Sluice with a private Redis and PostgreSQL holding the fixture
# schema and seed (../shared/fixtures), on http://127.0.0.1:${PORT:-4000}.
# A publisher posts a status to timeline:public every 5 seconds. Ctrl-C stops
# everything and removes the temporary directory.
set -euo pipefail
. "$(dirname "$0")/services.sh"
port=${PORT:-4000}
cleanup() {
  set +e
  [ -n "${pub_pid:-}" ] && kill "$pub_pid" 2>/dev/null
  [ -n "${sluice_pid:-}" ] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null
  stop_services
}
trap cleanup EXIT INT TERM
start_services
export PORT="$port" BIND=127.0.0.1
"$root/bin/sluice" & sluice_pid=$!

(
  n=0
  while sleep 5; do
    n=$((n + 1))
    redis-cli -p "$REDIS_PORT_PRIVATE" publish timeline:public \
      "{\"event\":\"update\",\"payload\":{\"id\":\"$n\",\"language\":\"en\",\"content\":\"<p>Hello from the Sluice demo, status $n</p>\",\"account\":{\"id\":\"109000000000000002\",\"username\":\"bob\",\"acct\":\"bob\"},\"media_attachments\":[],\"mentions\":[]}}" >/dev/null
  done
) & pub_pid=$!

cat <<TXT

Sluice demo is running on http://127.0.0.1:$port  (Ctrl-C to stop)
  curl -N 'http://127.0.0.1:$port/api/v1/streaming/public?access_token=alice-read-token'
  curl -N -H 'Authorization: Bearer bob-read-token' http://127.0.0.1:$port/api/v1/streaming/user
  curl http://127.0.0.1:$port/api/v1/streaming/health
Publish yourself:
  redis-cli -p $REDIS_PORT_PRIVATE publish timeline:public '{"event":"delete","payload":"1"}'

TXT
wait "$sluice_pid"
