"""Downloads that never sit whole in memory, under Daphne too.

Given a plain generator, Django's ASGI handler first collects it into a list ("must consume
synchronous iterators"), which defeats streaming. Under ASGI we hand Django an async iterator that
pulls one piece at a time from the generator in the thread that runs sync code (so its database
work keeps one connection); under WSGI and the test client, the generator itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse


def _next(pieces: Iterator[bytes | str]) -> bytes | str | None:
    return next(pieces, None)


async def _pulled(pieces: Iterator[bytes | str]) -> AsyncIterator[bytes | str]:
    step = sync_to_async(_next, thread_sensitive=True)
    while (piece := await step(pieces)) is not None:
        yield piece


def download(
    request: HttpRequest, pieces: Iterable[bytes | str], *, content_type: str, filename: str
) -> StreamingHttpResponse:
    """An attachment streamed piece by piece."""
    content: Iterable[bytes | str] | AsyncIterator[bytes | str] = pieces
    if isinstance(request, ASGIRequest):
        content = _pulled(iter(pieces))
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
