"""Store model images: original bytes unchanged, MIME sniffed from the bytes, a WebP thumbnail (now,
or on first view), and a rendition in the requested output format when it differs. CPU-bound: call
from a worker thread."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

THUMBNAIL_EDGE = 512
FORMAT_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MIME_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}


def response_folder(conversation_id: int, response_id: int) -> str:
    """Where a response's images are stored."""
    return f"conversations/{conversation_id}/responses/{response_id}"


class UnreadableImage(ValueError):
    pass


def sniff_mime(data: bytes) -> str | None:
    """The API's label is sometimes wrong (JPEG bytes labelled PNG), so trust only the magic bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in {b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"}:
        return "image/heic"
    return None


@dataclass(frozen=True)
class StoredImage:
    storage_key: str
    mime_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    thumbnail_key: str
    rendition_key: str
    rendition_mime_type: str

    @property
    def keys(self) -> tuple[str, ...]:
        """Every file stored for this image."""
        return tuple(key for key in (self.storage_key, self.thumbnail_key, self.rendition_key) if key)


def _encode(image: Image.Image, fmt: str, *, quality: int = 90) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=92)
    elif fmt == "png":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", quality=quality, method=0)  # the fastest method: thumbnails sit on the hot path
    return out.getvalue()


def thumbnail_webp(image: Image.Image) -> bytes:
    """A small WebP of an open image; JPEGs are decoded at reduced scale, which is much faster."""
    image.draft("RGB", (THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    thumb = image.convert("RGB")
    thumb.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    return _encode(thumb, "webp", quality=80)  # a third faster to encode than 90, and a third smaller


def store_thumbnail(data: bytes, stem: str) -> str:
    """A WebP thumbnail of the image in `data`, stored as `{stem}.thumb.webp`; returns its key.
    Raises OSError or DecompressionBombError when `data` does not decode."""
    with Image.open(io.BytesIO(data)) as image:
        thumbnail = thumbnail_webp(image)
    return default_storage.save(f"{stem}.thumb.webp", ContentFile(thumbnail))


def _looks_complete(data: bytes, mime: str) -> bool:
    """A cut-off image without decoding it: each format's closing bytes are where they belong."""
    if mime == "image/jpeg":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if mime == "image/png":
        return b"IEND" in data[-12:]
    if mime == "image/webp":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def store_image(
    *, data: bytes, folder: str, output_format: str, digest: str = "", thumbnail: bool = True
) -> StoredImage:
    """`digest`: the bytes' sha256 when the caller has it already. `thumbnail`: make it now; without,
    the image is checked for being whole instead of decoded, and its first viewer makes the
    thumbnail (chat.thumbnails)."""
    mime = sniff_mime(data)
    if mime is None:
        raise UnreadableImage("The model sent bytes that are not an image we can read.")
    if not thumbnail and not _looks_complete(data, mime):
        raise UnreadableImage("The model's image is cut off.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            small = thumbnail_webp(probe) if thumbnail else b""
            rendition = b""
            wanted = FORMAT_MIME.get(output_format, mime)
            if wanted != mime:
                with Image.open(io.BytesIO(data)) as full:
                    rendition = _encode(full.convert("RGB") if output_format == "jpeg" else full.copy(), output_format)
    except (OSError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"The model's image could not be decoded ({exc}).") from exc
    stem = f"{folder}/{uuid.uuid4().hex}"
    key = default_storage.save(f"{stem}.{MIME_EXTENSION[mime]}", ContentFile(data))
    thumbnail_key = default_storage.save(f"{stem}.thumb.webp", ContentFile(small)) if small else ""
    rendition_key = ""
    if rendition:
        rendition_key = default_storage.save(f"{stem}.{MIME_EXTENSION[wanted]}", ContentFile(rendition))
    return StoredImage(
        storage_key=key,
        mime_type=mime,
        width=width,
        height=height,
        byte_size=len(data),
        sha256=digest or hashlib.sha256(data).hexdigest(),
        thumbnail_key=thumbnail_key,
        rendition_key=rendition_key,
        rendition_mime_type=wanted if rendition else "",
    )


def load_codecs() -> None:
    """Load Pillow's format plugins now rather than on the first image a crowd of jobs decodes."""
    Image.init()


def read_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        data: bytes = handle.read()
        return data
