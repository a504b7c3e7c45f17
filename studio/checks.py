"""System checks that refuse impossible combinations of settings at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def studio_settings_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    layer = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    in_memory = layer.endswith("InMemoryChannelLayer")
    if settings.STUDIO_RUNNER not in {"embedded", "external"}:
        problems.append(Error("STUDIO_RUNNER must be 'embedded' or 'external'.", id="studio.E001"))
    if settings.STUDIO_RUNNER == "external" and in_memory:
        problems.append(
            Error(
                "An external runner (studio_worker) cannot reach browsers through the in-memory channel layer.",
                hint="Set REDIS_URL so web and worker processes share events.",
                id="studio.E002",
            )
        )
    sqlite = str(settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3")
    if settings.STUDIO_RUNNER == "external" and sqlite:
        problems.append(
            Warning(
                "Worker processes on SQLite serialise on one file lock.",
                hint="Use PostgreSQL (DATABASE_URL) for a scaled deployment.",
                id="studio.W001",
            )
        )
    if settings.STORAGE_BACKEND not in {"local", "s3"}:
        problems.append(Error("STUDIO_STORAGE must be 'local' or 's3'.", id="studio.E003"))
    if not 1 <= settings.STUDIO_RUNNER_CONCURRENCY <= 512:
        problems.append(Error("STUDIO_RUNNER_CONCURRENCY must be between 1 and 512.", id="studio.E004"))
    return problems
