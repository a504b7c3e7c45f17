"""Procedural images: deterministic, legible, at the exact size Google returns.

A person must tell them apart at a glance: the prompt is written on the image with its size,
aspect ratio and turn number; the references it used appear as labelled thumbnails; an edit is
drawn on top of the image it edits, tinted, so the lineage is visible.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

# Pixel sizes of Gemini 3 Pro Image per aspect ratio and image size (GEMINI_API.md section 7).
PIXEL_SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "1:1": {"1K": (1024, 1024), "2K": (2048, 2048), "4K": (4096, 4096)},
    "2:3": {"1K": (848, 1264), "2K": (1696, 2528), "4K": (3392, 5056)},
    "3:2": {"1K": (1264, 848), "2K": (2528, 1696), "4K": (5056, 3392)},
    "3:4": {"1K": (896, 1200), "2K": (1792, 2400), "4K": (3584, 4800)},
    "4:3": {"1K": (1200, 896), "2K": (2400, 1792), "4K": (4800, 3584)},
    "4:5": {"1K": (928, 1152), "2K": (1856, 2304), "4K": (3712, 4608)},
    "5:4": {"1K": (1152, 928), "2K": (2304, 1856), "4K": (4608, 3712)},
    "9:16": {"1K": (768, 1376), "2K": (1536, 2752), "4K": (3072, 5504)},
    "16:9": {"1K": (1376, 768), "2K": (2752, 1536), "4K": (5504, 3072)},
    "21:9": {"1K": (1584, 672), "2K": (3168, 1344), "4K": (6336, 2688)},
}


@dataclass(frozen=True)
class ImageSpec:
    prompt: str
    aspect_ratio: str
    image_size: str
    turn: int
    seed: int
    base: bytes | None = None  # the image this one edits
    references: tuple[bytes, ...] = field(default=())
    fmt: str = "jpeg"  # "jpeg" or "png"
    size_px: tuple[int, int] | None = None  # the model's own size table; None: Pro's

    @property
    def pixels(self) -> tuple[int, int]:
        return self.size_px or PIXEL_SIZES[self.aspect_ratio][self.image_size]


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    fmt: str  # "jpeg" or "png": what the bytes really are
    width: int
    height: int


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _palette(rng: random.Random, n: int) -> list[tuple[int, int, int]]:
    return [(rng.randrange(30, 226), rng.randrange(30, 226), rng.randrange(30, 226)) for _ in range(n)]


def _open(data: bytes, at_least: tuple[int, int] | None = None) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if at_least is not None:
        image.draft("RGB", at_least)  # JPEG: decode at the smallest scale still >= the target (fast)
    if image.mode == "RGB":  # converting would copy a 4K canvas (68 MB) for nothing
        image.load()
        return image
    return image.convert("RGB")


def _background(spec: ImageSpec, rng: random.Random) -> Image.Image:
    width, height = spec.pixels
    if spec.base is not None:
        base = _open(spec.base, (width, height))
        if base.size != (width, height):
            base = ImageOps.fit(base, (width, height), Image.Resampling.BILINEAR)
        colour = _palette(rng, 1)[0]
        # A tint towards the colour through a lookup table: one new canvas, where blending with a
        # solid image made two (a 4K edit's drawing peaked near 300 MB; three drew at once).
        edited = base.point([round(v * 0.82 + c * 0.18) for c in colour for v in range(256)])
        del base
        # Every edit leaves a new mark of its own: a ring and a frame in this turn's colour.
        draw = ImageDraw.Draw(edited)
        unit = min(width, height)
        radius = rng.uniform(0.08, 0.18) * unit
        cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height * 0.7)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=max(3, unit // 60))
        draw.rectangle((0, 0, width - 1, height - 1), outline=colour, width=max(4, unit // 90))
        return edited
    corners = Image.new("RGB", (3, 3))
    corners.putdata(_palette(rng, 9))
    # A smooth gradient at quarter size, enlarged by pixel repetition: a colour step per 4 pixels is
    # invisible, and this is about six times cheaper than interpolating at full size, which matters
    # when a crowd of requests renders at once.
    quarter = corners.resize((max(1, width // 4), max(1, height // 4)), Image.Resampling.BILINEAR)
    canvas = quarter.resize((width, height), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    unit = min(width, height)
    for word_color in _palette(rng, 3 + min(len(spec.prompt.split()), 6)):
        radius = rng.uniform(0.06, 0.22) * unit
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=word_color)
    return canvas


def _shade(canvas: Image.Image, box: tuple[int, int, int, int], darkness: float) -> None:
    region = canvas.crop(box)
    canvas.paste(Image.blend(region, Image.new("RGB", region.size, (8, 10, 16)), darkness), box[:2])


def _caption(canvas: Image.Image, spec: ImageSpec) -> None:
    width, height = canvas.size
    unit = min(width, height)
    text_size = max(14, unit // 26)
    small_size = max(11, unit // 40)
    lines = textwrap.wrap(spec.prompt or "(no prompt)", width=max(20, int(width / (text_size * 0.55))))[:3]
    # An edit draws over the caption of the image it edits: its band is as tall as any caption
    # (three lines) and nearly opaque, so no earlier words show through, above or between the new ones.
    edit = spec.base is not None
    band = int((3 if edit else len(lines)) * text_size * 1.3 + small_size * 2.6)
    _shade(canvas, (0, height - band, width, height), 0.94 if edit else 0.6)
    draw = ImageDraw.Draw(canvas)
    margin = unit // 40
    y = height - int(len(lines) * text_size * 1.3 + small_size * 2.6) + small_size // 2  # text sits at the bottom
    for line in lines:
        draw.text((margin, y), line, fill=(255, 255, 255), font=_font(text_size))
        y += int(text_size * 1.3)
    facts = f"{width}x{height} · {spec.aspect_ratio} · {spec.image_size} · seed {spec.seed % 100000}"
    draw.text((margin, y + small_size // 3), facts, fill=(210, 216, 228), font=_font(small_size))

    badge = f"TURN {spec.turn}" if spec.base is None else f"EDIT · TURN {spec.turn}"
    badge_font = _font(max(12, unit // 30))
    left, top, right, bottom = draw.textbbox((0, 0), badge, font=badge_font)
    pad = unit // 80 + 2
    x1 = width - margin - (right - left) - 2 * pad
    draw.rounded_rectangle(
        (x1, margin, width - margin, margin + (bottom - top) + 2 * pad), radius=pad, fill=(250, 204, 21)
    )
    draw.text((x1 + pad - left, margin + pad - top), badge, fill=(20, 20, 20), font=badge_font)


def _references(canvas: Image.Image, references: tuple[bytes, ...]) -> None:
    if not references:
        return
    width, height = canvas.size
    unit = min(width, height)
    thumb = max(24, unit // 9)
    margin = unit // 40
    label_font = _font(max(10, thumb // 4))
    draw = ImageDraw.Draw(canvas)
    per_row = max(1, (width // 2) // (thumb + margin))
    for index, data in enumerate(references):
        row, col = divmod(index, per_row)
        x, y = margin + col * (thumb + margin), margin + row * (thumb + margin)
        try:
            picture = ImageOps.fit(_open(data, (thumb, thumb)), (thumb, thumb), Image.Resampling.BILINEAR)
        except Exception:  # noqa: BLE001 - an unreadable reference still gets its slot
            picture = Image.new("RGB", (thumb, thumb), (90, 90, 90))
        draw.rectangle((x - 3, y - 3, x + thumb + 2, y + thumb + 2), fill=(255, 255, 255))
        canvas.paste(picture, (x, y))
        draw.rectangle((x, y, x + thumb // 2, y + thumb // 3), fill=(15, 23, 42))
        draw.text((x + 3, y + 1), f"R{index + 1}", fill=(255, 255, 255), font=label_font)


def _encode(canvas: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "png":
        canvas.save(out, "PNG", compress_level=1)
    else:
        canvas.save(out, "JPEG", quality=88)
    return out.getvalue()


def render(spec: ImageSpec) -> RenderedImage:
    """The final image for `spec`: same spec, same bytes."""
    rng = random.Random(spec.seed)
    canvas = _background(spec, rng)
    _references(canvas, spec.references)
    _caption(canvas, spec)
    return RenderedImage(_encode(canvas, spec.fmt), spec.fmt, canvas.width, canvas.height)


def render_draft(final: RenderedImage, number: int, total: int) -> RenderedImage:
    """An earlier interim 'thought' image: a coarse, labelled sketch of the final one."""
    width, height = final.width, final.height
    image = _open(final.data, (max(1, width // 24), max(1, height // 24)))
    coarse = image.resize((max(1, width // 24), max(1, height // 24)), Image.Resampling.BILINEAR)
    sketch = coarse.resize((width, height), Image.Resampling.NEAREST)
    unit = min(width, height)
    draw = ImageDraw.Draw(sketch)
    draw.text(
        (unit // 30, unit // 30), f"DRAFT {number}/{total}", fill=(255, 255, 255), font=_font(max(14, unit // 14))
    )
    return RenderedImage(_encode(sketch, final.fmt), final.fmt, width, height)


def spec_digest(spec: ImageSpec) -> bytes:
    digest = hashlib.sha256()
    for value in (spec.prompt, spec.aspect_ratio, spec.image_size, str(spec.turn), str(spec.seed), spec.fmt):
        digest.update(value.encode() + b"\0")
    digest.update(hashlib.sha256(spec.base or b"").digest())
    for reference in spec.references:
        digest.update(hashlib.sha256(reference).digest())
    return digest.digest()
