"""The generation controls a turn carries, validated in one place for forms, services and the pipeline.

Only their shape is checked here; which ratios, sizes and thinking levels a model supports is data
in the model catalogue (`studio.catalogue.capabilities.check_options`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

ASPECT_SHAPE = re.compile(r"^(auto|\d{1,2}:\d{1,2})$")
SIZE_SHAPE = re.compile(r"^(\d{3,4}|\dK)$")
THINKING_SHAPE = re.compile(r"^[A-Z]{0,12}$")
OUTPUT_FORMATS = ("jpeg", "png", "webp")
SAFETY_THRESHOLDS = (
    ("default", "Google's default"),
    ("BLOCK_LOW_AND_ABOVE", "Strict: block low and above"),
    ("BLOCK_MEDIUM_AND_ABOVE", "Block medium and above"),
    ("BLOCK_ONLY_HIGH", "Block only high"),
    ("BLOCK_NONE", "Block none"),
    ("OFF", "Off"),
)
MAX_COUNT = 4
MAX_RETRIES = 5
MAX_PROMPT_CHARS = 8000


class InvalidOptions(ValueError):
    pass


@dataclass(frozen=True)
class GenerationOptions:
    aspect_ratio: str = "auto"
    image_size: str = "1K"
    count: int = 1
    output_format: str = "jpeg"
    grounding: bool = False
    safety: str = "default"
    retries: int = 2
    thinking_level: str = ""  # empty: the model's own; only models whose catalogue entry lists levels

    def __post_init__(self) -> None:
        if not ASPECT_SHAPE.match(self.aspect_ratio):
            raise InvalidOptions("Aspect ratio must be auto or a ratio such as 16:9.")
        if not SIZE_SHAPE.match(self.image_size):
            raise InvalidOptions("Image size must be a size such as 1K, 2K or 4K.")
        if not THINKING_SHAPE.match(self.thinking_level):
            raise InvalidOptions("Unknown thinking level.")
        if not 1 <= self.count <= MAX_COUNT:
            raise InvalidOptions(f"Ask for 1 to {MAX_COUNT} images.")
        if self.output_format not in OUTPUT_FORMATS:
            raise InvalidOptions("Output format must be PNG, JPEG or WebP.")
        if self.safety not in {value for value, _ in SAFETY_THRESHOLDS}:
            raise InvalidOptions("Unknown safety threshold.")
        if not 0 <= self.retries <= MAX_RETRIES:
            raise InvalidOptions(f"Retries must be between 0 and {MAX_RETRIES}.")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationOptions:
        """Unknown keys are ignored so old rows keep loading when options grow."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        try:
            if "count" in values:
                values["count"] = int(values["count"])
            if "retries" in values:
                values["retries"] = int(values["retries"])
            if "grounding" in values:
                values["grounding"] = values["grounding"] in {True, "true", "on", "1"}
        except (TypeError, ValueError):
            raise InvalidOptions("Count and retries must be whole numbers.") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
