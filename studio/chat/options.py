"""The generation controls a turn carries, validated in one place for forms, services and the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

ASPECT_RATIOS = ("auto", "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")
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


def closest_aspect_ratio(width: int, height: int) -> str:
    """The supported ratio nearest to an image's shape ("auto" follows the first reference)."""
    target = width / height

    def distance(label: str) -> float:
        w, h = (int(x) for x in label.split(":"))
        return abs(w / h - target)

    return min(ASPECT_RATIOS[1:], key=distance)


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

    def __post_init__(self) -> None:
        if self.aspect_ratio not in ASPECT_RATIOS:
            raise InvalidOptions(f"Aspect ratio must be one of {', '.join(ASPECT_RATIOS)}.")
        if self.image_size not in IMAGE_SIZES:
            raise InvalidOptions("Image size must be 1K, 2K or 4K.")
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
