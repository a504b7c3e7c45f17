"""Small builders shared by the conformance tests: SDK configs and image inspection."""

from __future__ import annotations

import io
from typing import Any

from google.genai import types
from PIL import Image, ImageChops, ImageStat

MODEL = "gemini-3-pro-image-preview"


def image_config(
    aspect: str | None = None,
    size: str | None = None,
    *,
    thoughts: bool | None = True,
    grounding: bool = False,
    modalities: list[str] | None = None,
    scenario: str | None = None,
    **extra: Any,
) -> types.GenerateContentConfig:
    """A GenerateContentConfig as the studio would build it; `scenario` becomes the emulator header."""
    return types.GenerateContentConfig(
        response_modalities=modalities or ["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=aspect, image_size=size) if (aspect or size) else None,
        thinking_config=types.ThinkingConfig(include_thoughts=thoughts) if thoughts is not None else None,
        tools=[types.Tool(google_search=types.GoogleSearch())] if grounding else None,
        http_options=types.HttpOptions(headers={"x-emulator-scenario": scenario}) if scenario else None,
        **extra,
    )


def final_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    candidate = response.candidates[0] if response.candidates else None
    if candidate is None or candidate.content is None:
        return []
    return [p for p in candidate.content.parts or [] if not p.thought]


def thought_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    candidate = response.candidates[0] if response.candidates else None
    if candidate is None or candidate.content is None:
        return []
    return [p for p in candidate.content.parts or [] if p.thought]


def final_image(response: types.GenerateContentResponse) -> bytes:
    images = [p.inline_data.data for p in final_parts(response) if p.inline_data and p.inline_data.data]
    assert len(images) == 1, f"expected one final image, got {len(images)}"
    return images[0]


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return "unknown"


def solid_png(width: int, height: int, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def mean_difference(a: bytes, b: bytes, region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> float:
    """Mean absolute per-channel difference of two images at a common small size (0-255), over
    `region` (left, top, right, bottom as fractions of the image)."""
    size = (64, 64)
    box = (int(region[0] * 64), int(region[1] * 64), int(region[2] * 64), int(region[3] * 64))
    left = open_image(a).convert("RGB").resize(size).crop(box)
    right = open_image(b).convert("RGB").resize(size).crop(box)
    channels: list[float] = ImageStat.Stat(ImageChops.difference(left, right)).mean
    return sum(channels) / len(channels)
