"""The Files API: resumable uploads exactly as the SDK performs them, and 48-hour expiry."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .clock import Clock, rfc3339

GOOGLE_FILES_PREFIX = "https://generativelanguage.googleapis.com/v1beta/files/"
FILE_ID = re.compile(r"files/([a-z0-9-]+)")


@dataclass
class StoredFile:
    file_id: str
    display_name: str
    mime_type: str
    data: bytes
    created: float
    expires: float
    source: str = "UPLOADED"  # or GENERATED (batch results)

    def resource(self, api_root: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": f"files/{self.file_id}",
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(self.created),
            "expirationTime": rfc3339(self.expires),
            "sha256Hash": base64.b64encode(hashlib.sha256(self.data).hexdigest().encode()).decode(),
            "uri": GOOGLE_FILES_PREFIX + self.file_id,
            "state": "ACTIVE",
            "source": self.source,
        }
        if self.display_name:
            body["displayName"] = self.display_name
        if self.source == "GENERATED":
            body["downloadUri"] = f"{api_root}/v1beta/files/{self.file_id}:download?alt=media"
        return body


@dataclass
class UploadSession:
    display_name: str
    mime_type: str
    size: int
    received: bytearray = field(default_factory=bytearray)


class FileStore:
    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._files: dict[str, StoredFile] = {}
        self._uploads: dict[str, UploadSession] = {}

    def start_upload(self, display_name: str, mime_type: str, size: int) -> str:
        upload_id = secrets.token_urlsafe(24)
        self._uploads[upload_id] = UploadSession(display_name, mime_type, size)
        return upload_id

    def receive_chunk(self, upload_id: str, offset: int, chunk: bytes, finalize: bool) -> StoredFile | None:
        session = self._uploads.get(upload_id)
        if session is None:
            raise errors.ApiError(404, "Upload session not found or already finalized.")
        if offset != len(session.received):
            raise errors.invalid_argument(
                f"Invalid upload offset {offset}; the server has {len(session.received)} bytes."
            )
        session.received.extend(chunk)
        if not finalize:
            return None
        del self._uploads[upload_id]
        return self.add(bytes(session.received), session.mime_type, session.display_name)

    def add(
        self, data: bytes, mime_type: str, display_name: str = "", source: str = "UPLOADED", file_id: str = ""
    ) -> StoredFile:
        now = self._clock.now()
        stored = StoredFile(
            file_id=file_id or secrets.token_hex(6),
            display_name=display_name,
            mime_type=mime_type,
            data=data,
            created=now,
            expires=now + self._ttl_s,
            source=source,
        )
        self._files[stored.file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        stored = self._files.get(file_id)
        if stored is None or stored.expires <= self._clock.now():
            self._files.pop(file_id, None)
            raise errors.file_not_accessible(file_id)
        return stored

    def delete(self, file_id: str) -> None:
        self.get(file_id)
        del self._files[file_id]

    def live(self) -> list[StoredFile]:
        now = self._clock.now()
        return sorted((f for f in self._files.values() if f.expires > now), key=lambda f: f.created, reverse=True)

    def resolve_uri(self, uri: str) -> tuple[str, bytes]:
        """`fileData.fileUri` -> (mime type, bytes); Google-style URIs are resolved by id."""
        match = FILE_ID.search(uri)
        if match is None:
            raise errors.invalid_argument(f"Unsupported file uri: {uri}")
        stored = self.get(match.group(1))
        return stored.mime_type, stored.data

    def clear(self) -> None:
        self._files.clear()
        self._uploads.clear()
