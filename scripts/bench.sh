#!/usr/bin/env bash
# Run every benchmark in bench/ and print its figures.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh
for script in bench/*.py; do
  echo "== $script"
  PYTHONPATH="$ROOT" "$STUDIO_PYTHON" -m uv run --frozen python "$script" "$@"
done
