"""Thumbnails of generated images are made when a browser first asks for one, not by the worker.

A worker's time belongs to the streams it runs: a crowd of 200 spent about a quarter of its CPU on
WebP thumbnails, for images nobody may look at (a batch, a page left closed). A live viewer loses
nothing: the image's event goes out that much sooner, and its first request makes the thumbnail.
After that it is an ordinary stored file. One request per image makes it: a per-image lock in this
process, and across processes a conditional update (the loser deletes its copy and uses the winner's).
"""

from __future__ import annotations

import threading

from PIL import Image

from .imagefiles import files_delete_unused
from .imagestore import read_bytes, store_thumbnail
from .models import ImageVersion

_LOCKS = tuple(threading.Lock() for _ in range(64))  # striped: enough for the images made at once


def thumbnail_key_for(image: ImageVersion, made: list[str] | None = None) -> str:
    """The image's thumbnail key, made now if the image has none yet; "" if its original cannot be
    read. New files' keys go to `made` (a caller's transaction that fails can delete them)."""
    if image.thumbnail_key:
        return image.thumbnail_key
    with _LOCKS[image.pk % len(_LOCKS)]:
        current = _current(image)
        if current is None or current:
            return current or ""
        shared = _sibling_thumbnail(image)
        key = shared or _make(image.storage_key)
        if not key:
            return ""
        if ImageVersion.objects.filter(pk=image.pk, thumbnail_key="").update(thumbnail_key=key):
            image.thumbnail_key = key
            if made is not None and not shared:
                made.append(key)
            return key
        files_delete_unused([key])  # another process was first, or the image was deleted meanwhile
        return _current(image) or ""


def _current(image: ImageVersion) -> str | None:
    """The row's thumbnail key now ("" none yet; None: the row is gone)."""
    key: str | None = ImageVersion.objects.filter(pk=image.pk).values_list("thumbnail_key", flat=True).first()
    return key


def _sibling_thumbnail(image: ImageVersion) -> str:
    """A draft and the final image are often the same bytes, stored once: share their thumbnail."""
    found = (
        ImageVersion.objects.filter(response_id=image.response_id, storage_key=image.storage_key)
        .exclude(thumbnail_key="")
        .values_list("thumbnail_key", flat=True)
        .first()
    )
    return found or ""


def _make(storage_key: str) -> str:
    try:
        return store_thumbnail(read_bytes(storage_key), storage_key.rsplit(".", 1)[0])
    except (OSError, Image.DecompressionBombError):  # missing, truncated or corrupt: no thumbnail
        return ""
