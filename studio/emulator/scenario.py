"""Per-request outcomes and faults: the x-emulator-scenario header and [[emulator: ...]] prompt markers.

Google never sees either; the studio sends the header only when its backend is the emulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from .errors import invalid_argument

HEADER = "x-emulator-scenario"
PROMPT_MARKER = re.compile(r"\[\[\s*emulator\s*:\s*([^\]]*)\]\]", re.IGNORECASE)

BLOCK_REASONS = ("SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY")
FAULT_CODES = (408, 429, 500, 502, 503, 504)


@dataclass
class Scenario:
    outcome: str = ""  # "", image_safety, no_image, refusal, prompt_block
    block_reason: str = "OTHER"
    error: int | None = None
    bad_key: bool = False
    midstream_error: int | None = None
    midstream_after: int = 1
    fail_times: int | None = None
    retry_delay_s: int | None = None
    retry_after_s: int | None = None
    latency_ms: int | None = None
    event_delay_ms: int | None = None
    event_gaps_ms: tuple[int, ...] = ()  # uneven gaps between events, used in turn
    stall: bool = False
    thoughts: bool | None = None
    interim_images: int | None = None
    mime: str | None = None
    seed: int | None = None

    def is_default(self) -> bool:
        return self == Scenario()


def _on_off(value: str) -> bool:
    if value.lower() in {"on", "true", "1", "yes"}:
        return True
    if value.lower() in {"off", "false", "0", "no"}:
        return False
    raise ValueError(value)


def apply_directives(scenario: Scenario, text: str) -> None:
    """Parse `name[=value], name[=value]` into `scenario`; a bad directive is a 400, never silent."""
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        try:
            _apply(scenario, name, value)
        except (ValueError, KeyError):
            raise invalid_argument(f"Unknown or malformed emulator directive {item!r}.") from None


def _apply(s: Scenario, name: str, value: str) -> None:
    if name in {"image_safety", "no_image", "refusal"}:
        s.outcome = name
    elif name == "prompt_block":
        s.outcome = "prompt_block"
        reason = (value or "OTHER").upper()
        if reason not in BLOCK_REASONS:
            raise ValueError(reason)
        s.block_reason = reason
    elif name == "error":
        if value == "bad_key":
            s.bad_key = True
        else:
            code = int(value)
            if code not in FAULT_CODES:
                raise ValueError(value)
            s.error = code
    elif name == "midstream_error":
        code_text, _, after = value.partition("@")
        s.midstream_error = int(code_text)
        s.midstream_after = int(after) if after else 1
    elif name == "fail_times":
        s.fail_times = int(value)
    elif name == "retry_delay":
        s.retry_delay_s = int(value.rstrip("s"))
    elif name == "retry_after":
        s.retry_after_s = int(value.rstrip("s"))
    elif name == "latency":
        s.latency_ms = int(value)
    elif name == "event_delay":
        s.event_delay_ms = int(value)
    elif name == "gaps":
        gaps = tuple(int(gap) for gap in value.split("/"))
        if not gaps or min(gaps) < 0:
            raise ValueError(value)
        s.event_gaps_ms = gaps
    elif name == "stall":
        s.stall = True
    elif name == "thoughts":
        s.thoughts = _on_off(value)
    elif name == "interim_images":
        count = int(value)
        if not 0 <= count <= 2:
            raise ValueError(value)
        s.interim_images = count
    elif name == "mime":
        if value not in {"jpeg", "png", "mislabelled"}:
            raise ValueError(value)
        s.mime = value
    elif name == "seed":
        s.seed = int(value)
    else:
        raise KeyError(name)


def strip_markers(text: str) -> str:
    return PROMPT_MARKER.sub("", text).strip()


def markers_in(text: str) -> list[str]:
    return PROMPT_MARKER.findall(text)


DIRECTIVE_NAMES = [f.name for f in fields(Scenario)]
