#!/usr/bin/env bash
# Set up, migrate, load the demo data and serve on the embedded default (SQLite under ./var).
# MATCHMAKER_PORT (default 8000) and MATCHMAKER_HOST (default 127.0.0.1) choose where it listens.
set -euo pipefail
host="${MATCHMAKER_HOST:-127.0.0.1}"
port="${MATCHMAKER_PORT:-8000}"
# Before anything is installed or any key issued: a port another program holds stops here, saying how to
# choose another.
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  echo "error: $host:$port is already in use; choose another port, e.g. MATCHMAKER_PORT=8001 $0" >&2
  exit 1
fi
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
export MATCHMAKER_DATA_DIR="${MATCHMAKER_DATA_DIR:-$ROOT/var}"
matchmaker db upgrade
matchmaker demo | tee "$MATCHMAKER_DATA_DIR/demo-keys.txt"
buyer_key="$(awk '/^buyer/ {print $NF}' "$MATCHMAKER_DATA_DIR/demo-keys.txt")"
cat <<MSG

Matchmaker is starting at http://$host:$port
  Web pages (sign in with a key above: buyer, vendor or operator): http://$host:$port/ui
  API docs (click Authorize, paste a key): http://$host:$port/docs
  List the demo offers:  curl -H "Authorization: Bearer $buyer_key" http://$host:$port/offers
  (keys saved in $MATCHMAKER_DATA_DIR/demo-keys.txt; Ctrl-C stops the server)

MSG
exec matchmaker serve --host "$host" --port "$port"
