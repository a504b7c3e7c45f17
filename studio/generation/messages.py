"""The pipeline's own words for a model call: what goes in, what streams out, what goes wrong.
Only `gemini.py` translates them to and from the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FileSource:
    """An image that travels through the Files API: which row caches its handle."""

    kind: str  # "image" (ImageVersion) or "reference" (Reference)
    row_id: int
    storage_key: str
    cached_uri: str = ""
    cached_backend: str = ""
    cached_expires: datetime | None = None


@dataclass(frozen=True)
class InputPart:
    text: str | None = None
    data: bytes | None = None
    mime_type: str = ""
    signature: bytes | None = None
    file_uri: str = ""  # set once the image is uploaded; then `data` is not sent
    via_files: FileSource | None = None


@dataclass(frozen=True)
class InputContent:
    role: str  # "user" or "model"
    parts: tuple[InputPart, ...]


@dataclass(frozen=True)
class ImageRequest:
    model: str
    contents: tuple[InputContent, ...]
    system_instruction: str = ""
    aspect_ratio: str | None = None  # None: the model matches the input image, else 1:1
    image_size: str = "1K"
    grounding: bool = False
    safety_threshold: str | None = None
    include_thoughts: bool = True
    seed: int | None = None
    thinking_level: str | None = None  # only for models whose catalogue entry lists levels


@dataclass(frozen=True)
class OutputPart:
    thought: bool
    text: str | None = None
    data: bytes | None = None
    mime_type: str = ""
    signature: bytes | None = None


@dataclass
class StreamEvent:
    parts: list[OutputPart] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    grounding: dict[str, Any] | None = None
    block_reason: str | None = None
    model_version: str = ""


class GeminiError(Exception):
    """A failed call, classified so the pipeline can decide to retry and what to tell the person."""

    RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504})

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code
        self.retryable = retryable
        # How long the server asked us to wait (RetryInfo.retryDelay or Retry-After), in seconds.
        self.retry_after = retry_after
