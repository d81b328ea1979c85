# Sourced by demo.sh and bench.sh: a private redis-server and PostgreSQL
# (fixture schema and seed loaded) in a temporary directory, stopped by
# stop_services. Sets REDIS_PORT_PRIVATE, PG_PORT_PRIVATE, SERVICES_DIR.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures=${SLUICE_FIXTURES:-$root/../shared/fixtures}
bindir=$(pg_config --bindir)
as_pg=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_services() {
  SERVICES_DIR=$(mktemp -d /tmp/sluice-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$SERVICES_DIR"; fi
  REDIS_PORT_PRIVATE=${REDIS_PORT_PRIVATE:-$(free_port)}
  PG_PORT_PRIVATE=${PG_PORT_PRIVATE:-$(free_port)}
  echo "services: redis on 127.0.0.1:$REDIS_PORT_PRIVATE, postgresql on 127.0.0.1:$PG_PORT_PRIVATE" >&2
  redis-server --port "$REDIS_PORT_PRIVATE" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$SERVICES_DIR" --logfile "$SERVICES_DIR/redis.log" --pidfile "$SERVICES_DIR/redis.pid"
  "${as_pg[@]}" "$bindir/initdb" -D "$SERVICES_DIR/pg" -U postgres --auth=trust >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg.log" -w \
    -o "-p $PG_PORT_PRIVATE -k $SERVICES_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT_PRIVATE" -U postgres -qc 'CREATE DATABASE mastodon_development'
  psql -h 127.0.0.1 -p "$PG_PORT_PRIVATE" -U postgres -d mastodon_development -q -v ON_ERROR_STOP=1 \
    -f "$fixtures/schema.sql" -f "$fixtures/seed.sql" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT_PRIVATE/mastodon_development"
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT_PRIVATE"
}

stop_services() {
  [ -n "${SERVICES_DIR:-}" ] || return 0
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1
  redis-cli -p "$REDIS_PORT_PRIVATE" shutdown nosave >/dev/null 2>&1
  rm -rf "$SERVICES_DIR"
  SERVICES_DIR=
}
