"""Run as a separate process by test_runner: claim in small batches until the queue is empty and
print every claimed id. Two of these race against each other on the same database."""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup()

from studio.generation.records import response_claim  # noqa: E402


def main(worker_id: str) -> None:
    misses = 0
    while misses < 3:
        ids = response_claim(worker_id=worker_id, limit=3, lease_seconds=60)
        if not ids:
            misses += 1
            continue
        misses = 0
        print(" ".join(str(i) for i in ids), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
