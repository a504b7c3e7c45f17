#!/usr/bin/env bash
# The whole test suite: lint, types, then pytest. `make test` runs this; so does .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bootstrap.sh
source scripts/bootstrap.sh
run() { "$STUDIO_PYTHON" -m uv run --frozen "$@"; }

echo "== ruff"
run ruff check .
run ruff format --check .
echo "== mypy"
run mypy
echo "== pytest"
run pytest "$@"
