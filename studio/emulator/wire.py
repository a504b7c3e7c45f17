"""JSON and base64 conventions of the Gemini REST API.

The SDK sends a mix of camelCase and snake_case keys and URL-safe base64; Google's
servers accept both spellings and both alphabets, and answer in camelCase with
standard base64. Everything the emulator reads goes through these helpers first.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

# Maps whose keys are user data, not field names: never rename inside them.
FREE_FORM_KEYS = frozenset(
    {"args", "response", "metadata", "labels", "responseSchema", "responseJsonSchema", "parametersJsonSchema"}
)
# `response` is only free-form inside a functionResponse; elsewhere it is a field.
_FREE_FORM_PARENTS = {"response": "functionResponse"}

_SNAKE = re.compile(r"_([a-z0-9])")
_CAMEL = re.compile(r"([A-Z])")


def to_camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def to_snake(name: str) -> str:
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def normalize_keys(value: Any, parent: str = "") -> Any:
    """Return `value` with every field name in camelCase, free-form maps untouched."""
    if isinstance(value, list):
        return [normalize_keys(item, parent) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        camel = to_camel(key)
        required_parent = _FREE_FORM_PARENTS.get(camel)
        free_form = camel in FREE_FORM_KEYS and (required_parent is None or required_parent == parent)
        out[camel] = item if free_form else normalize_keys(item, camel)
    return out


class Base64Error(ValueError):
    pass


def b64decode_any(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    if not isinstance(text, str):
        raise Base64Error("base64 value must be a string")
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Base64Error(str(exc)) from exc


def b64encode_std(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def enum_value(value: Any) -> str:
    """Enums are parsed case-insensitively, as proto3 JSON parsers on Google's side do."""
    return str(value).upper()
