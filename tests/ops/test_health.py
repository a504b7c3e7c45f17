"""/healthz answers while the process lives; /readyz turns red, in words only to the log, when the
channel layer (Redis) or storage cannot be reached, or the embedded runner has stopped reporting."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from studio.generation.models import RunnerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_session() -> None:
    answer = Client().get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert "no-cache" in answer["Cache-Control"]


def test_readyz_is_green_when_everything_answers(settings: Any) -> None:
    settings.STUDIO_RUNNER = "external"
    answer = Client().get("/readyz")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"ready": True, "checks": {"database": True, "channel_layer": True, "storage": True}}


def test_readyz_turns_red_when_redis_is_down(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.STUDIO_RUNNER = "external"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": True, "channel_layer": False, "storage": True}
    assert "127.0.0.1:1" not in answer.content.decode(), "reasons go to the log, not to whoever asks"
    assert any("channel layer" in record.getMessage() for record in caplog.records)


def test_readyz_turns_red_when_storage_fails(settings: Any, tmp_path: Path) -> None:
    settings.STUDIO_RUNNER = "external"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}},
    }
    answer = Client().get("/readyz")
    assert answer.status_code == 503 and answer.json()["checks"]["storage"] is False


def test_readyz_wants_a_recent_runner_heartbeat_when_the_runner_is_embedded(settings: Any) -> None:
    settings.STUDIO_RUNNER = "embedded"
    assert Client().get("/readyz").json()["checks"]["runners"] is False
    now = timezone.now()
    RunnerHeartbeat.objects.create(worker_id="web-1", started_at=now, seen_at=now, running=0, concurrency=16)
    answer = Client().get("/readyz")
    assert answer.status_code == 200 and answer.json()["checks"]["runners"] is True
    settings.STUDIO_RUNNER = "external"
    assert "runners" not in Client().get("/readyz").json()["checks"], "a web process without a runner"
    assert Client().get("/readyz?runners=1").json()["checks"]["runners"] is True


def test_a_worker_containers_health_is_its_own_heartbeat() -> None:
    now = timezone.now()
    RunnerHeartbeat.objects.create(worker_id="another-host:7:abcd", started_at=now, seen_at=now, concurrency=16)
    with pytest.raises(CommandError, match="runners"):
        call_command("studio_doctor", "--only", "runners_here", stdout=io.StringIO())
    here = f"{socket.gethostname()}:42:beef"
    RunnerHeartbeat.objects.create(worker_id=here, started_at=now, seen_at=now, concurrency=16)
    out = io.StringIO()
    call_command("studio_doctor", "--only", "runners_here", "--only", "database", stdout=out)
    assert out.getvalue().count("ok  ") == 2 and "gemini" not in out.getvalue().lower()
