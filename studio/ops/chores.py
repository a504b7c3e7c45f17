"""Periodic chores on Django's tasks framework. The storage sweep deletes stored files that no row
references, once they are older than a grace period: the leftovers of crashes between storing a
file and writing its row, of workers killed mid-generation, of anything that escaped the
"files follow their rows" rule. Runners ask for chores as they go (`enqueue_due`); a shared cache
key makes sure that, however many runners there are, each chore is asked for once per period."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.tasks import task
from django.utils import timezone

from studio.chat.imagefiles import files_delete_unused

logger = logging.getLogger("studio.ops")

SWEPT = "conversations"  # every stored image and reference lives below this folder
BATCH = 500


def stored_files(folder: str = SWEPT, *, storage: Storage | None = None) -> Iterator[str]:
    """Every file key below `folder`, walking the storage (local folders or a bucket's prefixes)."""
    storage = storage or default_storage
    if isinstance(storage, FileSystemStorage) and not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for name in folders:
        yield from stored_files(f"{folder}/{name}", storage=storage)


def sweep(*, grace: dt.timedelta, now: dt.datetime | None = None) -> list[str]:
    """Delete files below the swept folder that are older than `grace` and that no row uses."""
    cutoff = (now or timezone.now()) - grace
    removed: list[str] = []
    batch: list[str] = []
    for key in stored_files():
        try:
            if default_storage.get_modified_time(key) >= cutoff:
                continue
        except (OSError, NotImplementedError):
            continue  # gone meanwhile, or a backend that cannot say: leave it
        batch.append(key)
        if len(batch) == BATCH:
            removed += files_delete_unused(batch)
            batch = []
    removed += files_delete_unused(batch)
    if removed:
        logger.info("sweep: deleted %s stored files no row uses", len(removed))
    return removed


@task
def sweep_storage() -> int:
    return len(sweep(grace=dt.timedelta(seconds=settings.STUDIO_SWEEP_GRACE_S)))


def enqueue_due() -> list[str]:
    """Ask for each chore whose period has passed (once across all runners); returns their names."""
    asked = []
    if cache.add("studio:chores:sweep_storage", "1", timeout=settings.STUDIO_SWEEP_EVERY_S):
        sweep_storage.enqueue()
        asked.append("sweep_storage")
    return asked
