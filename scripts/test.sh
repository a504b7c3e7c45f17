#!/usr/bin/env bash
# The whole test suite: lint, types, then pytest twice: on the embedded defaults (SQLite, in-memory
# channel layer) and on PostgreSQL + Redis (web and worker as separate processes in the browser test).
# `make test` runs this; so does .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bootstrap.sh
source scripts/bootstrap.sh
source scripts/browser.sh
source scripts/compose.sh
run() { "$STUDIO_PYTHON" -m uv run --frozen "$@"; }

PG_URL="${STUDIO_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${STUDIO_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

echo "== ruff"
run ruff check .
run ruff format --check .
echo "== docker/compose.yaml"
docker-compose -f docker/compose.yaml --env-file docker/.env.example config -q
echo "== mypy"
STUDIO_VAR_DIR="$SCRATCH/mypy" run mypy
echo "== pytest: embedded defaults (SQLite, in-memory channel layer; PostgreSQL-only tests run next)"
(unset DATABASE_URL REDIS_URL; STUDIO_VAR_DIR="$SCRATCH/embedded" run pytest -m "not postgres" "$@")
echo "== pytest: PostgreSQL + Redis"
DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" STUDIO_VAR_DIR="$SCRATCH/scaled" run pytest "$@"
