#!/usr/bin/env bash
# Installs what the real-client tests use: the npm packages of
# netpoll/testdata/clients (ws, playwright-core) and Debian's Chromium.
# Failures are reported, not fatal: those tests then skip with a message
# saying what is missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
clients="$root/netpoll/testdata/clients"
if command -v npm >/dev/null 2>&1 && [ -f "$clients/package.json" ]; then
  if [ ! -d "$clients/node_modules" ]; then
    echo "deps: npm install in netpoll/testdata/clients" >&2
    (cd "$clients" && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2 \
      || echo "deps: npm install failed; the Node and Chromium client tests will skip" >&2
  fi
else
  echo "deps: npm not found; the Node and Chromium client tests will skip" >&2
fi
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  echo "deps: installing chromium (apt-get)" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } \
    || echo "deps: could not install chromium; the browser test will skip" >&2
fi
exit 0
