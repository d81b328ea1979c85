#!/usr/bin/env bash
# Installs the services the tests and the demo start privately: redis-server
# and a PostgreSQL server. Idempotent; needs root (or sudo) only when
# something is missing.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; then
  missing+=(postgresql postgresql-client)
fi
command -v go >/dev/null 2>&1 || { echo "deps: Go is not installed; install Go 1.26 from https://go.dev/dl" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" postgresql-common >/dev/null
