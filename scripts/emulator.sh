#!/usr/bin/env bash
# Serve the Gemini emulator on its own: scripts/emulator.sh --port 8765 [flags; see --help]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh
exec "$STUDIO_PYTHON" -m uv run --frozen python -m studio.emulator "$@"
