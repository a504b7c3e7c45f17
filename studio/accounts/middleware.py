"""Signed-out htmx requests go to the login page as a whole page, not swapped into a fragment."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request after django-htmx's middleware: `request.htmx` says whether htmx sent it, and from where."""

    htmx: HtmxDetails


def htmx_login_redirect(get_response: Callable[[HttpRequest], HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """htmx follows redirects inside the XHR, so a session that ended in another tab would swap the
    login page into the composer. Tell htmx to load it as a page instead, returning to where the
    person was (not to the URL the fragment was posted to)."""
    login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path

    def middleware(request: HtmxHttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if not request.htmx or response.status_code != 302 or request.user.is_authenticated:
            return response
        if urlsplit(response["Location"]).path != login_path:
            return response
        current = urlsplit(request.htmx.current_url or "/")
        back = current.path + (f"?{current.query}" if current.query else "")
        return HttpResponseClientRedirect(redirect_to_login(back)["Location"])

    return middleware
