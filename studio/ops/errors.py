"""The 400 page: a malformed request is explained, never a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "Something in this request could not be read."
    html = render_to_string("400.html", {"message": message})
    return HttpResponse(html, status=400)
