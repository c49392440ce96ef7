#!/usr/bin/env bash
# Set up, migrate, load the demo data and serve on the embedded default (SQLite under ./var).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
export MATCHMAKER_DATA_DIR="${MATCHMAKER_DATA_DIR:-$ROOT/var}"
host="${MATCHMAKER_HOST:-127.0.0.1}"
port="${MATCHMAKER_PORT:-8000}"
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
