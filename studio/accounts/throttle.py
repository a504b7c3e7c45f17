"""Throttles for login, sign-up, password reset and share-link passwords, per account and per client
address, on django-ratelimit (cache-based: the database cache embedded, Redis when scaled, so every
process shares the counts). Only failures count towards login limits: check first, count on failure."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .models import token_digest


@dataclass(frozen=True)
class Limit:
    group: str
    key: str  # django-ratelimit key: "ip", "post:username", ...
    setting: str  # the settings name holding the rate, e.g. "5/15m"

    @property
    def rate(self) -> str:
        rate: str = getattr(settings, self.setting)
        return rate


LOGIN = (
    Limit("login-account", "post:username", "STUDIO_THROTTLE_LOGIN_ACCOUNT"),
    Limit("login-ip", "ip", "STUDIO_THROTTLE_LOGIN_IP"),
)
SIGN_UP = (
    Limit("signup-ip", "ip", "STUDIO_THROTTLE_SIGNUP_IP"),
    Limit("signup-email", "post:email", "STUDIO_THROTTLE_SIGNUP_EMAIL"),
)
SHARE_PASSWORD = (
    Limit("share-ip", "ip", "STUDIO_THROTTLE_SHARE_IP"),
    Limit("share-link", "link", "STUDIO_THROTTLE_SHARE_LINK"),
)
PASSWORD_RESET = (
    Limit("reset-ip", "ip", "STUDIO_THROTTLE_RESET_IP"),
    Limit("reset-email", "post:email", "STUDIO_THROTTLE_RESET_EMAIL"),
)


def client_address(request: HttpRequest) -> str:
    """The client's address: behind a TLS proxy, the first of X-Forwarded-For; else REMOTE_ADDR."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return str(forwarded)
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(limit: Limit, request: HttpRequest) -> str | Callable[[str, HttpRequest], str]:
    if limit.key == "link":  # the share link in the URL, by its token's hash
        return lambda group, req: token_digest(str(req.resolver_match.kwargs["token"]) if req.resolver_match else "")
    if limit.key.startswith("post:"):
        field = limit.key[5:]
        return lambda group, req: str(req.POST.get(field, "")).strip().lower()  # "Rae" and "rae" are one account
    return limit.key


def wait_seconds(request: HttpRequest, limits: Iterable[Limit]) -> int:
    """Seconds until the person may try again (0: now). Does not count this request."""
    longest = 0
    for limit in limits:
        usage = get_usage(request, group=limit.group, key=_key(limit, request), rate=limit.rate, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            longest = max(longest, int(usage["time_left"]))
    return longest


def count(request: HttpRequest, limits: Iterable[Limit]) -> None:
    """Count a (failed) attempt against every limit."""
    for limit in limits:
        get_usage(request, group=limit.group, key=_key(limit, request), rate=limit.rate, increment=True)


def refusal(seconds: int) -> str:
    if seconds <= 60:
        return "Too many attempts. Try again in a minute."
    return f"Too many attempts. Try again in {math.ceil(seconds / 60)} minutes."
