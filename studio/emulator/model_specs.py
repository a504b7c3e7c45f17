"""The image models the emulator serves, each with its own sizes, ratios, thinking and token limits.

Gemini 3 Pro Image's figures are documented (GEMINI_API.md section 7). The Flash-tier model's are
reconstructed from Google's later pages [INFERRED]: it adds 512 px output, the tall and wide ratios
1:4, 4:1, 1:8 and 8:1, a settable thinking level (MINIMAL or HIGH), other token counts per image and
a larger input window. Having two models that differ lets the studio prove it is driven by its
catalogue rather than by one model's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .imaging import PIXEL_SIZES

Pixels = dict[str, dict[str, tuple[int, int]]]


def _flash_pixels() -> Pixels:
    """Pro's table for the shared ratios plus the extreme ones; 512 px is half of 1K (rounded to 16)."""
    table: Pixels = {aspect: dict(sizes) for aspect, sizes in PIXEL_SIZES.items()}
    for aspect, one_k in {"1:4": (512, 2048), "4:1": (2048, 512), "1:8": (352, 2816), "8:1": (2816, 352)}.items():
        w, h = one_k
        table[aspect] = {"1K": (w, h), "2K": (w * 2, h * 2), "4K": (w * 4, h * 4)}
    for sizes in table.values():
        w, h = sizes["1K"]
        sizes["512"] = (max(16, round(w / 32) * 16), max(16, round(h / 32) * 16))
    return table


@dataclass(frozen=True)
class ModelSpec:
    id: str
    display_name: str
    description: str
    pixel_sizes: Pixels
    image_sizes: tuple[str, ...]
    image_tokens: dict[str, int]  # output tokens per final image, by size
    thinking_levels: tuple[str, ...]  # empty: thinkingLevel is refused
    input_token_limit: int
    output_token_limit: int = 32768
    version: str = "3.0"

    @property
    def aspect_ratios(self) -> tuple[str, ...]:
        return tuple(self.pixel_sizes)

    def pixels(self, aspect_ratio: str, image_size: str) -> tuple[int, int]:
        return self.pixel_sizes[aspect_ratio][image_size]


_PRO = {
    "pixel_sizes": PIXEL_SIZES,
    "image_sizes": ("1K", "2K", "4K"),
    "image_tokens": {"1K": 1120, "2K": 1120, "4K": 2000},
    "thinking_levels": (),
    "input_token_limit": 65536,
}
SPECS = (
    ModelSpec(
        id="gemini-3-pro-image",
        display_name="Gemini 3 Pro Image",
        description="Gemini 3 Pro Image (emulated): image generation and editing with thinking.",
        **_PRO,  # type: ignore[arg-type]
    ),
    ModelSpec(
        id="gemini-3-pro-image-preview",
        display_name="Nano Banana Pro",
        description="Gemini 3 Pro Image Preview (emulated). Google shut this id down on 2026-06-25.",
        **_PRO,  # type: ignore[arg-type]
    ),
    ModelSpec(
        id="gemini-3.1-flash-image",
        display_name="Gemini 3.1 Flash Image",
        description="Gemini 3.1 Flash Image (emulated): fast, cheaper image generation with a settable thinking level.",
        pixel_sizes=_flash_pixels(),
        image_sizes=("512", "1K", "2K", "4K"),
        image_tokens={"512": 747, "1K": 1120, "2K": 1680, "4K": 2520},
        thinking_levels=("MINIMAL", "HIGH"),
        input_token_limit=131072,
        version="3.1",
    ),
)
MODELS: dict[str, ModelSpec] = {spec.id: spec for spec in SPECS}
DEFAULT_MODEL = SPECS[0].id


def closest_aspect_ratio(spec: ModelSpec, width: int, height: int) -> str:
    """With no aspectRatio, the output matches the input image: the model's nearest ratio."""
    target = width / height

    def distance(label: str) -> float:
        w, h = (int(x) for x in label.split(":"))
        return abs(w / h - target)

    return min(spec.aspect_ratios, key=distance)
