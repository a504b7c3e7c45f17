from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import template
from django.template import Context
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from studio.billing.pricing import cents as to_cents
from studio.catalogue.capabilities import nearest_ratio, ratio_value
from studio.chat.options import SAFETY_THRESHOLDS

register = template.Library()

_BOLD = re.compile(r"\*\*(.+?)\*\*")


@register.filter
def mark_words(text: str, query: str) -> SafeString:
    """`text` escaped, with each word of a search `query` it contains wrapped in <mark>."""
    words = sorted({re.escape(word) for word in (query or "").split() if word}, key=len, reverse=True)
    if not words:
        return escape(text or "")
    pattern = re.compile("|".join(words), re.IGNORECASE)
    pieces, start = [], 0
    for match in pattern.finditer(text or ""):
        pieces += [escape(text[start : match.start()]), f"<mark>{escape(match.group())}</mark>"]
        start = match.end()
    pieces.append(escape((text or "")[start:]))
    return mark_safe("".join(pieces))


@register.filter
def thought_markup(text: str) -> SafeString:
    """Model text is escaped first; only **bold** headings and line breaks become markup."""
    escaped = escape(text or "")
    with_bold = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return mark_safe(with_bold.replace("\n\n", "<br><br>").replace("\n", "<br>"))


@register.filter
def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "just now" under a minute (timesince alone says "0 minutes"), else "3 hours ago"."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now)} ago"


@register.filter
def usd(value: Decimal | float | None) -> str:
    amount = Decimal(value or 0)
    return f"${amount:.4f}" if amount < 1 else f"${amount:.2f}"


@register.filter
def cents(value: Decimal | None) -> str:
    """Money as people read it: to the cent, never below one cent when something was charged."""
    amount = Decimal(value or 0)
    if Decimal(0) < amount < Decimal("0.01"):
        return "<$0.01"
    return f"${to_cents(amount)}"


FINISH_WORDS = {
    "MAX_TOKENS": "Stopped at the output limit",
    "SAFETY": "Stopped by the safety filter",
    "IMAGE_SAFETY": "Image removed by the safety filter",
    "IMAGE_PROHIBITED_CONTENT": "Image refused as prohibited content",
    "IMAGE_RECITATION": "Image refused as too close to existing work",
    "IMAGE_OTHER": "Image refused",
    "RECITATION": "Stopped: too close to existing text",
    "PROHIBITED_CONTENT": "Stopped: prohibited content",
    "BLOCKLIST": "Stopped by a blocklist",
    "NO_IMAGE": "Finished without an image",
    "MALFORMED_FUNCTION_CALL": "Stopped: malformed request",
    "OTHER": "Stopped for another reason",
}


@register.filter
def finish_words(reason: str) -> str:
    """Gemini's finish reason in words (a normal STOP is not shown at all)."""
    return FINISH_WORDS.get(reason, reason.replace("_", " ").capitalize())


@register.filter
def turn_cost(turn: Any) -> Decimal:
    """What a turn's responses cost together (responses are prefetched with the turn)."""
    return sum((response.cost_usd for response in turn.responses.all()), Decimal(0))


@register.filter
def filesize(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def tokens(usage: dict[str, Any] | None, key: str) -> int:
    return int((usage or {}).get(key) or 0)


@register.simple_tag
def options_summary(settings: dict[str, Any]) -> str:
    parts = [
        "auto ratio" if settings.get("aspect_ratio") in (None, "auto") else str(settings["aspect_ratio"]),
        str(settings.get("image_size", "1K")),
    ]
    count = int(settings.get("count", 1))
    if count > 1:
        parts.append(f"×{count}")
    parts.append(str(settings.get("output_format", "jpeg")).upper())
    if settings.get("grounding"):
        parts.append("grounded")
    return " · ".join(parts)


def _ratio_label(width: int, height: int) -> str:
    """An image's shape as a ratio ("16:9"), the common ones recognised, else reduced."""
    known = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1"]
    best = nearest_ratio(known, width, height)
    return best if abs(ratio_value(best) - width / height) < 0.03 else f"{width}×{height}"


@register.simple_tag
def turn_summary(turn: Any) -> str:
    """Every setting the turn sent, in words: the ratio Gemini actually drew when it was "auto", and
    the safety threshold when it was not Google's default."""
    settings = dict(turn.settings)
    text = options_summary(settings)
    if settings.get("aspect_ratio") in (None, "auto"):
        image = next((i for r in turn.responses.all() for i in r.images.all() if not i.is_thought), None)
        if image is not None:
            text = text.replace("auto ratio", f"auto ratio ({_ratio_label(image.width, image.height)})", 1)
    safety = str(settings.get("safety") or "default")
    if safety != "default":
        text += " · safety: " + dict(SAFETY_THRESHOLDS).get(safety, safety).lower()
    if settings.get("thinking_level"):
        text += f" · thinking {str(settings['thinking_level']).lower()}"
    return text


@register.filter
def web_url(value: str | None) -> str:
    """Only http(s) links from model output reach an href; anything else becomes inert."""
    text = (value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else "#"


MEDIA_ROUTES = {
    "image": "chat:image",
    "thumb": "chat:image_thumb",
    "rendition": "chat:image_rendition",
    "ref": "chat:reference_thumb",
    "grounding": "chat:search_suggestions",
}


@register.simple_tag(takes_context=True)
def media_url(context: Context, kind: str, pk: int) -> str:
    """An image's (or grounding panel's) URL: the team's own, or on a share page the link's, which
    checks the link instead of a membership."""
    share = context.get("share")
    if share is not None:
        return reverse("sharing:media", args=[share.token, kind, pk])
    return reverse(MEDIA_ROUTES[kind], args=[pk])
