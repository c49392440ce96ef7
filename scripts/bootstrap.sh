# Sourced by run-demo.sh and test.sh: create .venv and install the project into it.
# Usage: source scripts/bootstrap.sh [extras]   (e.g. "dev")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Matchmaker needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "==> creating virtualenv in $ROOT/.venv"
  "$PYTHON" -m venv "$ROOT/.venv"
fi
VENV="$ROOT/.venv"
extras="${1:-}"
target="$ROOT"
[ -n "$extras" ] && target="$ROOT[$extras]"
echo "==> installing matchmaker${extras:+ with [$extras]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }
export PATH="$VENV/bin:$PATH"
