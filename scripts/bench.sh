#!/usr/bin/env bash
# Run every benchmark in bench/ and print its figures. A benchmark is a script with a __main__
# block; the package's helper modules (bench/live.py) have none and are skipped. One that fails
# does not stop the others; the run then exits non-zero and names it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/bootstrap.sh
failed=()
for script in bench/*.py; do
  grep -q '^if __name__ == "__main__":' "$script" || continue
  echo "== $script"
  PYTHONPATH="$ROOT" "$STUDIO_PYTHON" -m uv run --frozen python "$script" "$@" || failed+=("$script")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
