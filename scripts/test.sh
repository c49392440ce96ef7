#!/usr/bin/env bash
# Set up and run every check and test: lint, types, migrations, then the suite on SQLite and on PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" dev
cd "$ROOT"
POSTGRES_URL="${MATCHMAKER_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"

# The browser tests drive Debian's chromium; install it (with a CJK font for readable screenshots) when
# missing and this machine can. Without it they skip, saying why.
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium and chromedriver for the browser tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei >/dev/null; } \
      || echo "warning: could not install chromium; the browser tests will skip" >&2
  else
    echo "warning: chromium/chromedriver missing and not installable here (needs root and apt-get); the browser tests will skip" >&2
  fi
fi

echo "==> ruff, mypy"
ruff format --check matchmaker tests
ruff check matchmaker tests
mypy

echo "==> migrations: upgrade from empty, then alembic check"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
MATCHMAKER_DATA_DIR="$scratch" alembic upgrade head
MATCHMAKER_DATA_DIR="$scratch" alembic check

# The suite, then the schema fuzz apart, each on two xdist workers (one per core; each worker migrates its
# own database, or its own schema on PostgreSQL): the suite took 7-9 minutes a database on one.
# The browser journeys (pages over a real server) run in the SQLite pass only: what they drive is the
# pages, and every page's database work is tested on both databases by the rest of the suite.
suite() {
  local selection="$1"
  shift
  pytest -q -n 2 -m "$selection" "$@"
  pytest -q -n 2 -m fuzz tests/test_openapi_fuzz.py
}

echo "==> tests on SQLite"
(unset MATCHMAKER_TEST_DATABASE_URL; suite "not fuzz" "$@")

if python -c "import psycopg, sys; psycopg.connect('${POSTGRES_URL}', connect_timeout=3).close()" 2>/dev/null; then
  echo "==> tests on PostgreSQL ($POSTGRES_URL)"
  MATCHMAKER_TEST_DATABASE_URL="$POSTGRES_URL" suite "not fuzz and not browser" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "error: PostgreSQL at $POSTGRES_URL is unreachable; CI must test on both databases" >&2
  exit 1
else
  echo "==> PostgreSQL at $POSTGRES_URL is unreachable: skipped the PostgreSQL run"
fi
