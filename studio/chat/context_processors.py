from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from studio.accounts.models import User
from studio.accounts.selectors import teams_for_user


def studio(request: HttpRequest) -> dict[str, Any]:
    """Whether the studio talks to the emulator: every page shows it, so nobody mistakes the pictures."""
    emulator = not (settings.GEMINI_API_KEY or settings.GEMINI_VERTEX_PROJECT)
    user = getattr(request, "user", None)
    # The header's team switcher; a callable, so only pages that show it query it.
    teams = (lambda: list(teams_for_user(user=user))) if isinstance(user, User) else list
    session = getattr(request, "session", None)
    # The Undo offer after an archive, shown once by the next whole page (a callable: fragments skip it).
    undo = (lambda: session.pop("undo", None)) if session is not None else dict
    return {"emulator_mode": emulator, "nav_teams": teams, "undo": undo}
