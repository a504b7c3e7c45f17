"""Run as a separate process by test_runner: claim in small batches until the queue is empty and
print every claimed id. Two of these race against each other on the same database.

Each worker says "ready" once Django and its connection are up, then waits for "go" on stdin, so
neither drains the queue while the other is still importing Django. A short pause after each batch
stands in for the work a real worker does before it claims again."""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup()

from django.db import connection  # noqa: E402

from studio.generation.records import response_claim  # noqa: E402


def main(worker_id: str) -> None:
    connection.ensure_connection()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    misses = 0
    while misses < 3:
        ids = response_claim(worker_id=worker_id, limit=3, lease_seconds=60)
        if not ids:
            misses += 1
            continue
        misses = 0
        print(" ".join(str(i) for i in ids), flush=True)
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1])
