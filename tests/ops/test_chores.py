"""The storage sweep: stored files that no row uses are deleted once older than the grace period;
files rows use, and young files (a response still being written), stay. It runs on Django's tasks
framework: at once when embedded, through the database queue and `db_worker` when scaled."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from studio.chat.models import ImageVersion
from studio.ops import chores
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _aged(key: str, hours: float) -> str:
    then = time.time() - hours * 3600
    os.utime(default_storage.path(key), (then, then))
    return key


def _world() -> tuple[list[str], str, str]:
    """A finished image (its files in use), an old orphan and a young orphan beside them."""
    user = make_user("swe")
    conversation = make_conversation(user)
    submit(conversation, user, "a lighthouse")
    run_all()
    image = ImageVersion.objects.get(is_thought=False)
    used = [_aged(key, 48) for key in (image.storage_key, image.thumbnail_key) if key]
    folder = f"conversations/{conversation.pk}/responses/999999"  # a worker died before writing the row
    old = _aged(default_storage.save(f"{folder}/lost.png", ContentFile(b"orphan")), 48)
    young = default_storage.save(f"{folder}/being-written.png", ContentFile(b"fresh"))
    return used, old, young


def test_the_sweep_deletes_only_old_files_no_row_uses(gemini: LiveEmulator) -> None:
    used, old, young = _world()
    assert old in set(chores.stored_files())
    removed = chores.sweep(grace=dt.timedelta(hours=1))
    assert removed == [old]
    assert not default_storage.exists(old)
    assert default_storage.exists(young), "younger than the grace period: maybe still being written"
    assert all(default_storage.exists(key) for key in used)
    assert chores.sweep(grace=dt.timedelta(hours=1)) == [], "nothing left to do"


def test_embedded_chores_run_at_once_and_once_per_period(gemini: LiveEmulator, settings: Any) -> None:
    _, old, _ = _world()
    settings.STUDIO_SWEEP_GRACE_S = 3600
    cache.delete("studio:chores:sweep_storage")
    assert chores.enqueue_due() == ["sweep_storage"]
    assert not default_storage.exists(old), "the immediate backend ran it in this thread"
    assert chores.enqueue_due() == [], "not again within the period, whichever runner asks"


def test_scaled_chores_queue_in_the_database_for_db_worker(gemini: LiveEmulator, settings: Any) -> None:
    _, old, _ = _world()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # Django re-reads it
    cache.delete("studio:chores:sweep_storage")
    assert chores.enqueue_due() == ["sweep_storage"]
    assert default_storage.exists(old), "queued, not run"
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay")
    assert not default_storage.exists(old)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
