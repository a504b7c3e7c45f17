"""`studio_doctor` passes on a healthy setup and names each broken part."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from studio.catalogue.models import GeminiModel
from studio.catalogue.services import catalogue_set_default
from studio.generation import records
from tests.live_emulator import LiveEmulator, StartEmulator

pytestmark = pytest.mark.django_db(transaction=True)


def doctor(*args: str) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("studio_doctor", *args, stdout=out)
    except CommandError as error:
        return False, out.getvalue() + str(error)
    return True, out.getvalue()


def a_runner_is_alive() -> None:
    records.runner_report(worker_id="w1", started_at=timezone.now(), running=2, concurrency=16)


def test_a_healthy_setup_passes_every_check(gemini: LiveEmulator) -> None:
    a_runner_is_alive()
    ok, out = doctor()
    assert ok, out
    lines = out.splitlines()
    for name in ("database", "storage", "channel layer", "gemini", "default model", "clock", "runners"):
        assert any(line.startswith(f"ok    {name}:") for line in lines), (name, out)
    assert "gemini-3-pro-image is served" in out and "1 alive, 2/16 jobs running" in out
    assert lines[-1] == "doctor: all 7 checks ok"


def test_a_wrong_key_is_named(start_emulator: StartEmulator, settings: Any) -> None:
    strict = start_emulator(api_keys="the-right-key")
    settings.GEMINI_BASE_URL, settings.GEMINI_API_KEY = strict.url, "a-wrong-key"
    a_runner_is_alive()
    ok, out = doctor()
    assert not ok
    assert "FAIL  gemini: Gemini rejected the credentials: set a valid GEMINI_API_KEY" in out
    assert "API key not valid" in out
    settings.GEMINI_API_KEY = "the-right-key"
    assert doctor()[0]


def test_an_unserved_default_model_is_named(gemini: LiveEmulator) -> None:
    ghost = GeminiModel.objects.get(model_id="gemini-3-pro-image")
    ghost.pk, ghost.model_id, ghost.is_default = None, "gemini-9-image", False
    ghost.save()
    catalogue_set_default(model=ghost)
    a_runner_is_alive()
    ok, out = doctor()
    assert not ok and "FAIL  default model: gemini-9-image is not served for this account" in out
    assert "ok    gemini:" in out


def test_unwritable_storage_is_named(gemini: LiveEmulator, settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "media")},
        },
    }
    a_runner_is_alive()
    ok, out = doctor()
    assert not ok and "FAIL  storage: cannot write and read files" in out


def test_redis_down_is_named(gemini: LiveEmulator, settings: Any) -> None:
    closed = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.REDIS_URL = closed
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [closed]}}
    }
    a_runner_is_alive()
    ok, out = doctor()
    assert not ok and f"FAIL  channel layer: no round trip through {closed}" in out


def test_no_runner_is_named_unless_skipped(gemini: LiveEmulator) -> None:
    ok, out = doctor()
    assert not ok and "FAIL  runners: no runner reported" in out
    assert doctor("--no-runners")[0]
