"""A request id for every request: taken from a trusted proxy's X-Request-ID when it is sane, else
made here; returned in the response and put on every log line written while the request runs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from .logs import RequestContext, current

SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
Handler = Callable[[HttpRequest], HttpResponseBase]


def _context(request: HttpRequest) -> RequestContext:
    given = request.headers.get("X-Request-ID", "")
    request_id = given if SANE_ID.match(given) else uuid.uuid4().hex[:16]
    user = getattr(request, "user", None)
    user_id = str(user.pk) if user is not None and user.is_authenticated else "-"
    return RequestContext(request_id=request_id, user_id=user_id, method=request.method or "-", path=request.path)


class RequestIdMiddleware:
    """After authentication, so the user id is known; sync and async alike."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> object:
        if self.is_async:
            return self._acall(request)
        context = _context(request)
        token = current.set(context)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        assert isinstance(response, HttpResponseBase)
        response["X-Request-ID"] = context.request_id
        return response

    async def _acall(self, request: HttpRequest) -> object:
        context = _context(request)
        token = current.set(context)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            current.reset(token)
        assert isinstance(response, HttpResponseBase)
        response["X-Request-ID"] = context.request_id
        return response
