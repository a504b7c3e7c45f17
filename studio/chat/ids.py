"""Ids from URLs and forms: ASCII digits only (str.isdigit also accepts "²", which int() refuses)."""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest

ID = re.compile(r"^[0-9]{1,12}$")


def parse_id(value: str | None) -> int | None:
    """The id in `value`, or None when it is missing or not a plain number."""
    return int(value) if value and ID.match(value) else None


def require_id(value: str | None, what: str) -> int:
    """The id in `value`; a malformed one is a 400 that says which field was wrong."""
    parsed = parse_id(value)
    if parsed is None:
        raise BadRequest(f"The {what} in this request is not a valid number. Reload the page and try again.")
    return parsed
