"""Parse and validate a GenerateContentRequest the way Google's front end does.

The result is a typed `GenerateRequest`; every rejection is an `ApiError` with Google's status
and wording (see GEMINI_API.md section 6.1).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from . import errors
from .model_specs import ModelSpec
from .scenario import strip_markers
from .signatures import Signer, Verdict
from .wire import Base64Error, b64decode_any, enum_value, to_snake

MAX_INPUT_IMAGES = 14
INPUT_IMAGE_TOKENS = 560  # per input image (pricing page); text is about 4 characters a token
INPUT_MIME_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
DECODABLE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")
MODALITIES = ("TEXT", "IMAGE")
HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
)
THRESHOLDS = (
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)

# Known fields per message type (camelCase). A field not listed is a 400 "Cannot find field".
# A schema value of None means "scalar or free-form: do not look inside".
Schema = dict[str, str | None]
SCHEMAS: dict[str, Schema] = {
    "GenerateContentRequest": {
        "model": None,
        "contents": "Content",
        "systemInstruction": "Content",
        "tools": "Tool",
        "toolConfig": None,
        "safetySettings": "SafetySetting",
        "generationConfig": "GenerationConfig",
        "cachedContent": None,
        "labels": None,
        "serviceTier": None,
        "store": None,
        "continuationToken": None,
    },
    "Content": {"role": None, "parts": "Part"},
    "Part": {
        "text": None,
        "thought": None,
        "thoughtSignature": None,
        "inlineData": "Blob",
        "fileData": "FileData",
        "functionCall": None,
        "functionResponse": None,
        "executableCode": None,
        "codeExecutionResult": None,
        "videoMetadata": None,
        "mediaResolution": None,
        "partMetadata": None,
    },
    "Blob": {"mimeType": None, "data": None, "displayName": None},
    "FileData": {"fileUri": None, "mimeType": None, "displayName": None},
    "SafetySetting": {"category": None, "threshold": None},
    "Tool": {
        "googleSearch": "GoogleSearch",
        "googleSearchRetrieval": None,
        "codeExecution": None,
        "urlContext": None,
        "functionDeclarations": None,
        "computerUse": None,
        "fileSearch": None,
        "googleMaps": None,
    },
    "GoogleSearch": {"timeRangeFilter": None, "searchTypes": None},
    "GenerationConfig": {
        "stopSequences": None,
        "responseMimeType": None,
        "responseSchema": None,
        "responseJsonSchema": None,
        "responseModalities": None,
        "candidateCount": None,
        "maxOutputTokens": None,
        "temperature": None,
        "topP": None,
        "topK": None,
        "seed": None,
        "presencePenalty": None,
        "frequencyPenalty": None,
        "responseLogprobs": None,
        "logprobs": None,
        "enableEnhancedCivicAnswers": None,
        "speechConfig": None,
        "mediaResolution": None,
        "thinkingConfig": "ThinkingConfig",
        "imageConfig": "ImageConfig",
    },
    "ThinkingConfig": {"includeThoughts": None, "thinkingBudget": None, "thinkingLevel": None},
    "ImageConfig": {"aspectRatio": None, "imageSize": None},
}


@dataclass
class InputPart:
    content_position: int  # 1-based, as Google counts in its messages
    part_position: int
    text: str | None = None
    thought: bool = False
    signature: str | None = None
    mime_type: str = ""
    data: bytes | None = None  # decoded image bytes (inline, or resolved from the Files API)

    @property
    def is_image(self) -> bool:
        return self.data is not None

    @property
    def is_empty_text(self) -> bool:
        return self.data is None and not self.text


@dataclass
class Message:
    role: str
    parts: list[InputPart] = field(default_factory=list)


@dataclass
class GenerateRequest:
    spec: ModelSpec
    messages: list[Message]  # consecutive same-role contents merged, as the SDK's chat splits them
    system_text: str
    aspect_ratio: str | None
    image_size: str
    include_thoughts: bool | None
    modalities: tuple[str, ...]
    grounding: bool
    digest: bytes  # identifies the request for deterministic outputs
    thinking_level: str | None = None

    @property
    def model(self) -> str:
        return self.spec.id

    @property
    def prompt(self) -> str:
        """The instruction of the last user turn: its first text part (later ones label attachments)."""
        for message in reversed(self.messages):
            if message.role == "user":
                texts = [p.text for p in message.parts if p.text and not p.thought]
                return strip_markers(texts[0]) if texts else ""
        return ""

    @property
    def turn(self) -> int:
        return sum(1 for m in self.messages if m.role == "user")

    def current_images(self) -> list[bytes]:
        if not self.messages or self.messages[-1].role != "user":
            return []
        return [p.data for p in self.messages[-1].parts if p.data is not None and not p.thought]

    def edit_base(self) -> bytes | None:
        """The image being edited: the model's latest image in the history, else the first attached one."""
        for message in reversed(self.messages):
            if message.role == "model":
                images = [p.data for p in message.parts if p.data is not None and not p.thought]
                if images:
                    return images[-1]
        current = self.current_images()
        return current[0] if current else None

    def input_images(self) -> int:
        return sum(1 for m in self.messages for p in m.parts if p.is_image and not p.thought)

    def text_chars(self) -> int:
        chars = len(self.system_text)
        for message in self.messages:
            chars += sum(len(p.text or "") for p in message.parts if not p.thought)
        return chars

    def prompt_usage(self) -> tuple[int, list[dict[str, Any]]]:
        """Input tokens: about 4 characters a text token, 560 tokens an input image."""
        text = math.ceil(self.text_chars() / 4)
        images = INPUT_IMAGE_TOKENS * self.input_images()
        details: list[dict[str, Any]] = [{"modality": "TEXT", "tokenCount": text}]
        if images:
            details.append({"modality": "IMAGE", "tokenCount": images})
        return text + images, details


FileResolver = Callable[[str], tuple[str, bytes]]  # file uri -> (mime type, bytes); raises ApiError


def _check_fields(value: Any, schema_name: str, path: str) -> None:
    schema = SCHEMAS[schema_name]
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        item_path = f"{path}[{index}]" if isinstance(value, list) and path else path
        for key in item:
            if key not in schema:
                raise errors.unknown_field(key, item_path)
            child = schema[key]
            if child is not None:
                child_path = f"{item_path}.{to_snake(key)}" if item_path else to_snake(key)
                _check_fields(item[key], child, child_path)


def _invalid_enum(path: str, enum_type: str, value: Any) -> errors.ApiError:
    message = (
        f"Invalid value at '{path}' (type.googleapis.com/google.ai.generativelanguage.v1beta.{enum_type}), \"{value}\""
    )
    return errors.field_violation(message, path)


def _image_config(config: dict[str, Any], spec: ModelSpec) -> tuple[str | None, str]:
    image_config = config.get("imageConfig") or {}
    aspect = image_config.get("aspectRatio")
    ratios = spec.aspect_ratios
    if aspect is not None and aspect not in ratios:
        allowed = ", ".join(f"'{a}'" for a in ratios[:-1]) + f" or '{ratios[-1]}'"
        raise errors.invalid_argument(
            "* GenerateContentRequest.generation_config.image_config.aspect_ratio:"
            f" aspect_ratio must be one of {allowed}.\n"
        )
    size = image_config.get("imageSize", "1K")
    if size not in spec.image_sizes:
        sizes = spec.image_sizes
        allowed = ", ".join(f"'{s}'" for s in sizes[:-1]) + f" or '{sizes[-1]}'"
        raise errors.invalid_argument(
            "* GenerateContentRequest.generation_config.image_config.image_size: image_size must be one of"
            f" {allowed} (with an uppercase K).\n"
        )
    return aspect, size


def _thinking_level(thinking: dict[str, Any], spec: ModelSpec) -> str | None:
    raw = thinking.get("thinkingLevel")
    if raw is None:
        return None
    if not spec.thinking_levels:
        raise errors.invalid_argument("Thinking level is not supported for this model.")
    level = enum_value(raw)
    if level not in spec.thinking_levels:
        allowed = " or ".join(spec.thinking_levels)
        raise errors.invalid_argument(f"Thinking level {level} is not supported for {spec.id}; use {allowed}.")
    return level


def _generation_config(
    body: dict[str, Any], spec: ModelSpec
) -> tuple[str | None, str, bool | None, tuple[str, ...], str | None]:
    config = body.get("generationConfig") or {}
    if int(config.get("candidateCount", 1) or 1) > 1:
        raise errors.invalid_argument("Multiple candidates is not enabled for this model")
    thinking = config.get("thinkingConfig") or {}
    level = _thinking_level(thinking, spec)
    include = thinking.get("includeThoughts")
    modalities_raw = config.get("responseModalities") or ["TEXT", "IMAGE"]
    modalities = tuple(enum_value(m) for m in modalities_raw)
    for index, modality in enumerate(modalities):
        if modality not in MODALITIES:
            if modality in {"AUDIO", "VIDEO"}:
                raise errors.invalid_argument("Multi-modal output is not supported.")
            raise _invalid_enum(f"generation_config.response_modalities[{index}]", "Modality", modalities_raw[index])
    aspect, size = _image_config(config, spec)
    return aspect, size, (bool(include) if include is not None else None), modalities, level


def _check_safety(body: dict[str, Any]) -> None:
    for index, setting in enumerate(body.get("safetySettings") or []):
        category = enum_value(setting.get("category", ""))
        if category.startswith("HARM_CATEGORY_IMAGE_"):
            raise errors.invalid_argument(f"{category} is not supported in Gemini API.")
        if category not in HARM_CATEGORIES:
            raise _invalid_enum(f"safety_settings[{index}].category", "HarmCategory", setting.get("category"))
        if enum_value(setting.get("threshold", "")) not in THRESHOLDS:
            raise _invalid_enum(f"safety_settings[{index}].threshold", "HarmBlockThreshold", setting.get("threshold"))


def _decode_image(raw: dict[str, Any], path: str) -> tuple[str, bytes]:
    mime = str(raw.get("mimeType", "")).lower()
    try:
        data = b64decode_any(raw.get("data", ""))
    except Base64Error:
        raise errors.invalid_argument(
            f"Invalid value at '{path}.inline_data.data' (TYPE_BYTES), Base64 decoding failed."
        ) from None
    return mime, data


def _check_mime(mime: str) -> None:
    if mime not in INPUT_MIME_TYPES:
        raise errors.invalid_argument("MIME type must be image/png, image/jpeg, image/webp, image/heic, or image/heif.")


def _check_readable(mime: str, data: bytes) -> None:
    if mime not in DECODABLE_MIME_TYPES:
        return  # HEIC/HEIF: accepted unread, as Pillow cannot decode them without a plugin
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - any decoder failure is the same answer to the client
        raise errors.invalid_argument(
            "Unable to process input image. Please retry or report in"
            " https://developers.generativeai.google/guide/troubleshooting"
        ) from None


def _parse_contents(contents: Any, resolve_file: FileResolver, name: str = "contents") -> list[Message]:
    if not contents:
        raise errors.invalid_argument(f"* GenerateContentRequest.{name}: contents is not specified\n")
    messages: list[Message] = []
    for c_index, content in enumerate(contents):
        role = content.get("role") or "user"
        if role not in {"user", "model"}:
            raise errors.invalid_argument(
                f"Please use a valid role: user, model. Got '{role}' at content position {c_index + 1}."
            )
        parts_raw = content.get("parts") or []
        if not parts_raw:
            raise errors.invalid_argument(
                f"* GenerateContentRequest.contents[{c_index}].parts: contents.parts must not be empty.\n"
            )
        if messages and messages[-1].role == role:
            message = messages[-1]
        else:
            message = Message(role=role)
            messages.append(message)
        for p_index, raw in enumerate(parts_raw):
            part = InputPart(
                content_position=c_index + 1,
                part_position=p_index + 1,
                thought=bool(raw.get("thought", False)),
                signature=raw.get("thoughtSignature"),
            )
            path = f"contents[{c_index}].parts[{p_index}]"
            if "inlineData" in raw:
                mime, data = _decode_image(raw["inlineData"], path)
                _check_mime(mime)
                _check_readable(mime, data)
                part.mime_type, part.data = mime, data
            elif "fileData" in raw:
                uri = raw["fileData"].get("fileUri", "")
                mime, data = resolve_file(uri)
                _check_mime(str(raw["fileData"].get("mimeType") or mime).lower())
                part.mime_type, part.data = mime, data
            elif "text" in raw:
                part.text = str(raw.get("text") or "")
            message.parts.append(part)
    return messages


def _check_signatures(messages: list[Message], signer: Signer, strict: bool) -> None:
    """Google checks every earlier model turn of an image model (GEMINI_API.md section 8.1)."""
    for message in messages:
        if message.role != "model":
            continue
        checked = [p for p in message.parts if not p.thought and not (p.is_empty_text and p.signature is None)]
        for index, part in enumerate(checked):
            kind = "Image" if part.is_image else "Text"
            required = index == 0 or part.is_image
            if part.signature is None:
                if required and strict:
                    raise errors.missing_signature(kind, part.content_position, part.part_position)
                continue
            payload = part.data if part.data is not None else (part.text or "").encode()
            verdict = signer.verify(part.signature, kind.lower(), payload)
            if verdict is not Verdict.VALID:
                where = f"in content position {part.content_position}, part position {part.part_position}"
                word = "Corrupted" if verdict is Verdict.CORRUPTED else "Invalid"
                raise errors.invalid_argument(f"{word} thought signature {where}.")


def canonical_digest(model: str, seed: int, body: dict[str, Any]) -> bytes:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{seed}|{model}|".encode() + canonical.encode()).digest()


def parse_generate_request(
    body: dict[str, Any],
    *,
    spec: ModelSpec,
    seed: int,
    signer: Signer,
    strict_signatures: bool,
    resolve_file: FileResolver,
) -> GenerateRequest:
    """`body` is already normalised to camelCase; raises ApiError on anything Google would reject."""
    _check_fields(body, "GenerateContentRequest", "")
    aspect, size, include_thoughts, modalities, thinking_level = _generation_config(body, spec)
    model = spec.id
    _check_safety(body)
    messages = _parse_contents(body.get("contents"), resolve_file)
    user_images = sum(1 for m in messages if m.role == "user" for p in m.parts if p.is_image)
    if user_images > MAX_INPUT_IMAGES:
        raise errors.invalid_argument(
            f"The request contains {user_images} input images, but {model} accepts at most {MAX_INPUT_IMAGES}."
        )
    _check_signatures(messages, signer, strict_signatures)
    system = body.get("systemInstruction") or {}
    system_text = " ".join(str(p.get("text", "")) for p in system.get("parts", []) if isinstance(p, dict))
    grounding = any(isinstance(t, dict) and "googleSearch" in t for t in body.get("tools") or [])
    request = GenerateRequest(
        spec=spec,
        messages=messages,
        system_text=system_text,
        aspect_ratio=aspect,
        image_size=size,
        include_thoughts=include_thoughts,
        modalities=modalities,
        grounding=grounding,
        digest=canonical_digest(model, seed, body),
        thinking_level=thinking_level,
    )
    tokens, _ = request.prompt_usage()
    if tokens > spec.input_token_limit:
        raise errors.invalid_argument(
            f"The input token count ({tokens}) exceeds the maximum number of tokens allowed ({spec.input_token_limit})."
        )
    return request
