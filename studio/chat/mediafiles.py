"""Stored files answered to the people allowed to see them. Local storage: the bytes, streamed by
us. S3 (or MinIO, R2): thumbnails are still streamed by us (small, cached for good by the browser),
while originals and downloads get a short-lived signed redirect to the private bucket, with the
content type, disposition and caching the bucket must answer with written into the signature."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from storages.backends.s3 import S3Storage

from .models import ImageVersion
from .thumbnails import thumbnail_key_for

IMMUTABLE = "private, max-age=31536000, immutable"


@cache
def _signer() -> S3Storage:
    """Signs for the endpoint browsers reach; signing is local (no request to the bucket)."""
    options: dict[str, Any] = dict(settings.S3_OPTIONS)
    if settings.S3_PUBLIC_ENDPOINT_URL:
        options["endpoint_url"] = settings.S3_PUBLIC_ENDPOINT_URL
    return S3Storage(**options)


def signed_url(key: str, *, content_type: str, filename: str | None) -> str:
    disposition = f'attachment; filename="{filename}"' if filename else "inline"
    parameters = {
        "ResponseContentType": content_type,
        "ResponseContentDisposition": disposition,
        "ResponseCacheControl": f"private, max-age={settings.STUDIO_SIGNED_URL_SECONDS}",
    }
    url: str = _signer().url(key, parameters=parameters, expire=settings.STUDIO_SIGNED_URL_SECONDS)
    return url


def stored_file(
    key: str, content_type: str, *, filename: str | None = None, redirect: bool = False
) -> FileResponse | HttpResponseRedirect:
    """A stored image file, never sniffed. `redirect`: a signed bucket URL where storage is S3."""
    if redirect and settings.STORAGE_BACKEND == "s3":
        answer = HttpResponseRedirect(signed_url(key, content_type=content_type, filename=filename))
        answer["Cache-Control"] = "private, no-store"  # the signature expires; ask us again next time
        answer["Referrer-Policy"] = "no-referrer"
        return answer
    try:
        handle = default_storage.open(key, "rb")
    except FileNotFoundError:
        raise Http404("The image file is missing from storage.") from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=filename is not None, filename=filename or ""
    )
    response["Cache-Control"] = IMMUTABLE
    response["X-Content-Type-Options"] = "nosniff"
    return response


def thumbnail_file(image: ImageVersion) -> FileResponse | HttpResponseRedirect:
    """An image's thumbnail, made now if this is its first view."""
    key = thumbnail_key_for(image)
    if not key:
        raise Http404("This image could not be read, so it has no thumbnail; download the original.")
    return stored_file(key, "image/webp")
