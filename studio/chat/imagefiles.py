"""Image files follow their rows. When image rows are discarded (a failed or cancelled response, an
abandoned job), their files go too: once the deletion commits, and only files no other row uses
(a reference made from a version shares that version's files)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet

from .models import ImageVersion, Reference

logger = logging.getLogger(__name__)

FILE_FIELDS: dict[type[ImageVersion] | type[Reference], tuple[str, ...]] = {
    ImageVersion: ("storage_key", "thumbnail_key", "rendition_key"),
    Reference: ("storage_key", "thumbnail_key"),
}


def images_discard(images: QuerySet[ImageVersion]) -> int:
    """Delete these image rows (inside the caller's transaction) and, after it commits, their files."""
    keys = {key for row in images.values_list(*FILE_FIELDS[ImageVersion]) for key in row if key}
    deleted, _ = images.delete()
    if keys:
        transaction.on_commit(lambda: files_delete_unused(keys), robust=True)
    return deleted


def files_delete_unused(keys: Iterable[str]) -> list[str]:
    """Delete the files among `keys` that no image or reference row uses; returns the deleted keys."""
    wanted = {key for key in keys if key}
    used: set[str] = set()
    for model, fields in FILE_FIELDS.items():
        for field in fields:
            used.update(model.objects.filter(**{f"{field}__in": wanted}).values_list(field, flat=True))
    removed = sorted(wanted - used)
    files_delete(removed)
    return removed


def files_delete(keys: Iterable[str]) -> None:
    """Delete files no row can use any more. A file left behind is better than a failed cleanup
    taking the caller down (or hiding the error that made it clean up)."""
    for key in keys:
        try:
            default_storage.delete(key)
        except OSError:
            logger.exception("could not delete discarded image file %s", key)
