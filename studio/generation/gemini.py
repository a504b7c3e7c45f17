"""The Gemini adapter: the one module that imports google.genai.

It builds SDK requests from our messages, streams `generate_content_stream`, and turns every SDK
or transport failure into a classified `GeminiError`. SDK retries stay off: the pipeline owns the
retry policy (and its billing rules).
"""

from __future__ import annotations

import email.utils
import importlib
import io
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2
import pydantic
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from .messages import GeminiError, ImageRequest, InputContent, InputPart, OutputPart, StreamEvent

SAFETY_CATEGORIES = (
    types.HarmCategory.HARM_CATEGORY_HARASSMENT,
    types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
    types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
)


@dataclass(frozen=True)
class GeminiSettings:
    api_key: str
    base_url: str = ""
    vertex_project: str = ""
    vertex_location: str = "global"
    vertex_express: bool = False  # Vertex AI with an API key and no project ("express mode")
    vertex_access_token: str = ""  # a static OAuth token instead of application default credentials
    timeout_s: float = 300.0
    api_version: str = "v1beta"
    # The SDK's HTTP client keeps at most 100 connections (20 idle) by default: a runner allowed more
    # calls at once would queue the rest behind whole generations. Size the pool to the runner.
    max_connections: int = 100


def _client(settings: GeminiSettings) -> genai.Client:
    timeout_ms = int(settings.timeout_s * 1000)
    pool = {
        "limits": httpx2.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
        )
    }
    if settings.vertex_project or settings.vertex_express:
        options = types.HttpOptions(timeout=timeout_ms, async_client_args=pool)
        if settings.base_url:
            options.base_url = settings.base_url
        if settings.vertex_express:
            return genai.Client(vertexai=True, api_key=settings.api_key, http_options=options)
        token = Credentials(token=settings.vertex_access_token) if settings.vertex_access_token else None  # type: ignore[no-untyped-call]
        return genai.Client(
            vertexai=True,
            project=settings.vertex_project,
            location=settings.vertex_location,
            credentials=token,
            http_options=options,
        )
    options = types.HttpOptions(api_version=settings.api_version, timeout=timeout_ms, async_client_args=pool)
    if settings.base_url:
        options.base_url = settings.base_url
    return genai.Client(api_key=settings.api_key or "emulator", http_options=options)


def _content(content: InputContent) -> types.ContentDict:
    # The SDK's typed dicts, not its models: it validates `contents` against a union in which a list
    # of Content models is also tried, part by part, as Files, Parts and images (about 160 us per
    # Content against 40 for its dict, serial work while a claim's requests are being sent).
    parts: list[types.PartDict] = []
    for part in content.parts:
        sdk_part: types.PartDict
        if part.file_uri:
            sdk_part = {"file_data": {"file_uri": part.file_uri, "mime_type": part.mime_type}}
        elif part.data is not None:
            sdk_part = {"inline_data": {"data": part.data, "mime_type": part.mime_type}}
        else:
            sdk_part = {"text": part.text or ""}
        if part.signature is not None:
            sdk_part["thought_signature"] = part.signature
        parts.append(sdk_part)
    return {"role": content.role, "parts": parts}


def _config(request: ImageRequest) -> types.GenerateContentConfig:
    # Never thinkingLevel, never candidateCount > 1: the image model rejects both.
    thinking = types.ThinkingConfig(include_thoughts=request.include_thoughts)
    if request.thinking_level:  # only models that accept one get it (the catalogue says which)
        thinking.thinking_level = types.ThinkingLevel(request.thinking_level)
    config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=request.aspect_ratio, image_size=request.image_size),
        thinking_config=thinking,
        seed=request.seed,
    )
    if request.system_instruction:
        config.system_instruction = request.system_instruction
    if request.grounding:
        config.tools = [types.Tool(google_search=types.GoogleSearch())]
    if request.safety_threshold:
        threshold = types.HarmBlockThreshold(request.safety_threshold)
        config.safety_settings = [types.SafetySetting(category=c, threshold=threshold) for c in SAFETY_CATEGORIES]
    return config


def _dump(model: pydantic.BaseModel | None) -> dict[str, Any]:
    if model is None:
        return {}
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _event(chunk: types.GenerateContentResponse) -> StreamEvent:
    event = StreamEvent(usage=_dump(chunk.usage_metadata), model_version=chunk.model_version or "")
    if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason is not None:
        event.block_reason = str(chunk.prompt_feedback.block_reason.value)
    for candidate in chunk.candidates or []:
        if candidate.finish_reason is not None:
            event.finish_reason = str(candidate.finish_reason.value)
        if candidate.grounding_metadata is not None:
            event.grounding = _dump(candidate.grounding_metadata)
        for part in (candidate.content.parts if candidate.content else None) or []:
            thought = bool(part.thought)
            if part.inline_data is not None and part.inline_data.data:
                blob = part.inline_data
                event.parts.append(
                    OutputPart(
                        thought, data=blob.data, mime_type=blob.mime_type or "", signature=part.thought_signature
                    )
                )
            elif part.text is not None:
                event.parts.append(OutputPart(thought, text=part.text, signature=part.thought_signature))
        break  # candidateCount is always 1
    return event


# A streamed chunk with each kind of part the pipeline reads, for warm_up.
WARM_UP_CHUNK = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "a", "thought": True}, {"inlineData": {"data": "MA=="}}]},
            "finishReason": "STOP",
            "groundingMetadata": {"webSearchQueries": ["a"]},
        }
    ],
    "usageMetadata": {"promptTokenCount": 1},
    "modelVersion": "warm-up",
}

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _retry_info_delay(body: Any) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("17s", "0.5s") from a Google error body."""
    details = (body.get("error") or {}).get("details") if isinstance(body, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _retry_after_header(response: Any, now: float | None = None) -> float | None:
    """`Retry-After`: seconds, or an HTTP date."""
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def retry_hint(error: errors.APIError) -> float | None:
    """How long the server asked us to wait: RetryInfo wins over Retry-After (it is more precise)."""
    delay = _retry_info_delay(error.details)
    return delay if delay is not None else _retry_after_header(error.response)


def classify(error: BaseException) -> GeminiError:
    if isinstance(error, GeminiError):
        return error
    if isinstance(error, errors.APIError):
        code = int(error.code or 0)
        message = error.message or str(error)
        details = str(error.details)
        if code == 403 and "access the File" in message:
            return GeminiError("file_missing", message, code=code)  # a cached Files API handle went stale
        if "API_KEY_INVALID" in details or code in {401, 403}:
            return GeminiError("bad_key", message, code=code)
        if code == 404 and "not found" in message.lower():
            return GeminiError("unknown_model", message, code=code)
        kind = {429: "rate_limited", 503: "overloaded", 408: "timeout", 504: "timeout"}.get(code)
        if kind is None:
            kind = "server" if code >= 500 else "bad_request"
        retryable = code in GeminiError.RETRYABLE_CODES
        return GeminiError(kind, message, code=code, retryable=retryable, retry_after=retry_hint(error))
    if isinstance(error, pydantic.ValidationError):
        return GeminiError("invalid_response", "Gemini sent a response the SDK could not read.")
    name = type(error).__name__
    module = type(error).__module__
    if module.startswith(("httpx", "httpcore", "aiohttp", "anyio")) or isinstance(error, (OSError, ConnectionError)):
        if "Timeout" in name:
            return GeminiError("timeout", "Gemini did not answer in time.", retryable=True)
        return GeminiError("network", f"Could not reach Gemini ({name}).", retryable=True)
    return GeminiError("internal", f"Unexpected failure while calling Gemini ({name}: {error}).")


class GeminiClient:
    """One per runner: the SDK's async HTTP client belongs to the event loop that first uses it."""

    def __init__(self, settings: GeminiSettings, *, extra_headers: dict[str, str] | None = None) -> None:
        self._settings = settings
        self._headers = extra_headers or {}
        self._sdk: genai.Client | None = None

    @property
    def backend(self) -> str:
        """Which Files API a cached handle belongs to (a handle from one backend means nothing to another)."""
        if self._settings.vertex_project:
            return f"vertex:{self._settings.vertex_project}"
        if self._settings.vertex_express:
            return f"vertex-express:{self._settings.base_url or 'google'}"
        return self._settings.base_url or "google"

    @property
    def is_vertex(self) -> bool:
        return bool(self._settings.vertex_project or self._settings.vertex_express)

    def list_model_ids(self) -> set[str]:
        """The model ids this account can call (blocking: for start-up, the admin and the doctor)."""
        try:
            listed = self._sdk_client().models.list(config=types.ListModelsConfig(query_base=True, page_size=1000))
            return {str(model.name or "").rsplit("/", 1)[-1] for model in listed}
        except Exception as error:
            raise classify(error) from error

    def count_text_tokens(self, model: str, texts: Iterable[str]) -> int:
        """Gemini's own count of some text (blocking: the submit-time limit check calls it near the limit)."""
        parts = [types.Part(text=text) for text in texts if text]
        if not parts:
            return 0
        try:
            counted = self._sdk_client().models.count_tokens(
                model=model, contents=[types.Content(role="user", parts=parts)]
            )
        except Exception as error:
            raise classify(error) from error
        return int(counted.total_tokens or 0)

    def warm_up(self) -> None:
        """Build the SDK client (and its HTTP transports) before the first job needs it, and load
        anyio's asyncio backend, which the HTTP pool otherwise imports inside the first burst. The
        SDK's pydantic types build their validators on first use (about 20 ms in all): a request's
        and a response's are built here too."""
        self._sdk_client()
        importlib.import_module("anyio._backends._asyncio")
        request = ImageRequest(
            model="warm-up",
            contents=(InputContent("user", (InputPart(text="warm-up"), InputPart(data=b"0", mime_type="image/png"))),),
            grounding=True,
            safety_threshold="BLOCK_NONE",
        )
        config, contents = _config(request), [_content(c) for c in request.contents]
        types.Content.model_validate(contents[0])
        # The parameters model the SDK validates every call's arguments with (about 6 ms to build);
        # private, so looked up rather than required.
        parameters = getattr(types, "_GenerateContentParameters", None)
        if parameters is not None:
            parameters(model=request.model, contents=contents, config=config)
        _event(types.GenerateContentResponse.model_validate(WARM_UP_CHUNK))

    def _sdk_client(self) -> genai.Client:
        if self._sdk is None:
            self._sdk = _client(self._settings)
        return self._sdk

    async def upload(self, data: bytes, mime_type: str) -> tuple[str, datetime | None]:
        """Upload an image to the Files API; returns its uri and expiry."""
        try:
            uploaded = await self._sdk_client().aio.files.upload(
                file=io.BytesIO(data), config=types.UploadFileConfig(mime_type=mime_type)
            )
        except Exception as error:
            raise classify(error) from error
        if not uploaded.uri:
            raise GeminiError("invalid_response", "The Files API returned no uri for an upload.")
        return uploaded.uri, uploaded.expiration_time

    async def stream(self, request: ImageRequest) -> AsyncIterator[StreamEvent]:
        client = self._sdk_client()
        config = _config(request)
        if self._headers:
            config.http_options = types.HttpOptions(headers=self._headers)
        try:
            stream = await client.aio.models.generate_content_stream(
                model=request.model, contents=[_content(c) for c in request.contents], config=config
            )
            async for chunk in stream:
                yield _event(chunk)
        except Exception as error:  # every failure leaves as a classified GeminiError
            raise classify(error) from error
