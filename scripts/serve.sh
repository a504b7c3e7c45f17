#!/usr/bin/env bash
# Start the embedded studio: migrations, static files, an admin, Daphne + runner, and the Gemini
# emulator when no GEMINI_API_KEY is set. Prints the URL and the admin login.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh
exec "$STUDIO_PYTHON" -m uv run --frozen python manage.py studio_serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
