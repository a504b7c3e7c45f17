#!/usr/bin/env bash
# Install everything the studio needs on a fresh machine, idempotently:
# a Python >= 3.12 (pyenv's or the system's), uv, and the locked environment from uv.lock.
# Prints `export` lines for UV_PYTHON etc. when sourced is not possible; other scripts source it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

find_python() {
  local candidates=() root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for v in 3.13 3.12; do
    # pyenv's shims refuse versions that are not "global", so use the real binaries.
    for dir in "$root"/versions/"$v"*; do [ -x "$dir/bin/python$v" ] && candidates+=("$dir/bin/python$v"); done
    candidates+=("/usr/local/bin/python$v" "/usr/bin/python$v")
  done
  for py in "${candidates[@]}"; do
    if [ -x "$py" ] && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

if [ -z "${STUDIO_PYTHON:-}" ]; then
  STUDIO_PYTHON="$(find_python)" || { echo "bootstrap: no Python >= 3.12 found (install one with pyenv or apt)" >&2; exit 1; }
fi
export STUDIO_PYTHON
export UV_PYTHON="$STUDIO_PYTHON" UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT="$ROOT/.venv"

# uv runs as a module of that Python, so no shim or PATH entry can get in the way.
if ! "$STUDIO_PYTHON" -m uv --version >/dev/null 2>&1; then
  echo "bootstrap: installing uv for $STUDIO_PYTHON" >&2
  "$STUDIO_PYTHON" -m pip install --quiet --disable-pip-version-check uv >&2
fi
uv() { "$STUDIO_PYTHON" -m uv "$@"; }

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on our machines) every process would
# otherwise compile its imports from source again, about 3 s of CPU per start.
(cd "$ROOT" && uv sync --frozen --quiet --compile-bytecode) >&2
"$ROOT/.venv/bin/python" -m compileall -q "$ROOT/studio" >/dev/null  # our own code, the same way

# Chart.js for the usage and billing charts, from the npm registry at the version package-lock.json
# pins; served from our own static files (no CDN, the strict CSP stays).
if [ ! -f "$ROOT/node_modules/chart.js/dist/chart.umd.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "bootstrap: installing Chart.js (npm ci)" >&2
    (cd "$ROOT" && npm ci --silent --no-audit --no-fund) >&2
  else
    echo "bootstrap: npm not found; install Node.js and npm (apt install nodejs npm) for the charts" >&2
    exit 1
  fi
fi
