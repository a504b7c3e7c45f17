from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def studio(request: HttpRequest) -> dict[str, Any]:
    """Whether the studio talks to the emulator: every page shows it, so nobody mistakes the pictures."""
    emulator = not (settings.GEMINI_API_KEY or settings.GEMINI_VERTEX_PROJECT)
    return {"emulator_mode": emulator}
