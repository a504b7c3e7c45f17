"""Reference images for a turn: validated completely before anything is stored.

Accepted: PNG, JPEG, WebP (HEIC/HEIF only if this server's Pillow can read them). Limits follow the
model's catalogue entry (Gemini 3 Pro Image: 14 images in all, at most 5 people and 6 objects).
Each file is sniffed from its bytes, its header read for the size (a decompression bomb is refused
before any pixel is decoded), then fully decoded once to catch truncated or corrupt files.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from PIL import Image

from .imagestore import MIME_EXTENSION, sniff_mime, store_thumbnail
from .models import ImageVersion, Reference, ReferenceRole, Turn
from .thumbnails import thumbnail_key_for

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000
ACCEPTED = {"image/png", "image/jpeg", "image/webp"}


class ReferenceError(ValueError):
    """A reference we refuse, with a message for the person who attached it."""


def _heic_readable() -> bool:
    return ".heic" in Image.registered_extensions()


@dataclass(frozen=True)
class ReferenceLimits:
    """How many references the model takes: in all, labelled person, labelled object."""

    total: int
    people: int
    objects: int
    model_name: str = "the model"


@dataclass(frozen=True)
class ReferenceInput:
    role: str
    upload: UploadedFile[bytes] | None = None
    version: ImageVersion | None = None


@dataclass(frozen=True)
class CheckedReference:
    role: str
    data: bytes
    mime_type: str
    width: int
    height: int
    name: str
    version: ImageVersion | None


def accepted_types() -> set[str]:
    """What an upload may be: HEIC only where Pillow can read it here."""
    return ACCEPTED | ({"image/heic"} if _heic_readable() else set())


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _check_upload(upload: UploadedFile[bytes], role: str) -> CheckedReference:
    name = upload.name or "the file"
    size = upload.size or 0
    if size == 0:
        raise ReferenceError(f"“{name}” is empty (0 bytes). Attach the image again.")
    if size > MAX_UPLOAD_BYTES:
        raise ReferenceError(
            f"“{name}” is {_megabytes(size)}; the limit is {_megabytes(MAX_UPLOAD_BYTES)} per reference. "
            "Resize or compress it."
        )
    data = upload.read()
    mime = sniff_mime(data)
    if mime not in accepted_types():
        kinds = "PNG, JPEG, WebP" + (" or HEIC" if _heic_readable() else "")
        raise ReferenceError(f"“{name}” is not an image we accept. Use {kinds}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
                if width * height > MAX_PIXELS:
                    raise ReferenceError(
                        f"“{name}” is {width}×{height} pixels ({width * height / 1e6:.0f} MP); the limit is "
                        f"{MAX_PIXELS // 1_000_000} MP. Scale it down."
                    )
                header.load()  # decode once: truncated and corrupt files fail here
    except ReferenceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ReferenceError(
            f"“{name}” has far too many pixels to open safely (the limit is {MAX_PIXELS // 1_000_000} MP). "
            "Scale it down."
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ReferenceError(
            f"“{name}” could not be read: the file is damaged or incomplete. Export it again."
        ) from None
    return CheckedReference(role, data, mime, width, height, name[:200], None)


def _check_version(version: ImageVersion, role: str) -> CheckedReference:
    with default_storage.open(version.storage_key, "rb") as handle:
        data = handle.read()
    label = f"turn {version.response.turn_id} image {version.response.index + 1}"
    return CheckedReference(role, data, version.mime_type, version.width, version.height, label, version)


def check_references(items: list[ReferenceInput], limits: ReferenceLimits) -> list[CheckedReference]:
    model = limits.model_name
    if len(items) > limits.total:
        extra = len(items) - limits.total
        raise ReferenceError(
            f"You attached {len(items)} reference images; {model} takes at most {limits.total}. Remove {extra}."
        )
    roles = [item.role for item in items]
    if any(role not in ReferenceRole.values for role in roles):
        raise ReferenceError("Label each reference as person, object or style.")
    people, objects = roles.count(ReferenceRole.PERSON), roles.count(ReferenceRole.OBJECT)
    if people > limits.people:
        raise ReferenceError(
            f"{people} references are labelled person; {model} keeps at most {limits.people} people consistent. "
            f"Relabel or remove {people - limits.people}."
        )
    if objects > limits.objects:
        raise ReferenceError(
            f"{objects} references are labelled object; {model} keeps at most {limits.objects} objects faithful. "
            f"Relabel or remove {objects - limits.objects}."
        )
    checked = []
    for item in items:
        if item.upload is not None:
            checked.append(_check_upload(item.upload, item.role))
        elif item.version is not None:
            checked.append(_check_version(item.version, item.role))
    return checked


def store_references(*, turn: Turn, checked: list[CheckedReference], written: list[str]) -> list[Reference]:
    """Create the rows; new files' keys go to `written` so a failed transaction can delete them."""
    rows = []
    for position, item in enumerate(checked):
        if item.version is not None:  # an earlier version: share its stored bytes, never copy them
            key, thumb = item.version.storage_key, thumbnail_key_for(item.version, made=written)
        else:
            stem = f"conversations/{turn.conversation_id}/references/{turn.pk}-{position}"
            key = default_storage.save(f"{stem}.{MIME_EXTENSION[item.mime_type]}", ContentFile(item.data))
            written.append(key)
            thumb = store_thumbnail(item.data, stem)  # the upload was fully decoded by its check
            written.append(thumb)
        rows.append(
            Reference(
                turn=turn,
                position=position,
                role=item.role,
                source_version=item.version,
                original_name=item.name,
                storage_key=key,
                mime_type=item.mime_type,
                width=item.width,
                height=item.height,
                byte_size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                thumbnail_key=thumb,
            )
        )
    return Reference.objects.bulk_create(rows)
