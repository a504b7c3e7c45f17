"""The catalogue's first entries: Gemini 3 Pro Image (GA), its shut-down preview id, and a Flash-tier model.

Pro's figures are Google's (the image-generation and pricing pages as of 2026). The Flash-tier
entry's sizes, token counts, reference limits and prices are from Google's later pages and not
verified against the live API; admins can correct any of them in the Django admin.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PRO_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
PRO = {
    "aspect_ratios": PRO_RATIOS,
    "image_sizes": ["1K", "2K", "4K"],
    "image_tokens": {"1K": 1120, "2K": 1120, "4K": 2000},
    "thinking_levels": [],
    "grounding": True,
    "max_reference_images": 14,
    "max_people": 5,
    "max_objects": 6,
    "input_token_limit": 65536,
    "input_image_tokens": 1120,
    "price_input_per_million": Decimal("2.00"),
    "price_text_output_per_million": Decimal("12.00"),
    "price_image_output_per_million": Decimal("120.00"),
    "price_per_search_query": Decimal("0.014"),
    "batch_discount": Decimal("0.5"),
}


def seed_catalogue(GeminiModel: Any) -> None:
    """Create the seed entries (the migration passes its historical model)."""
    ga = GeminiModel.objects.create(
        model_id="gemini-3-pro-image", display_name="Gemini 3 Pro Image", lifecycle="ga", **PRO
    )
    GeminiModel.objects.create(
        model_id="gemini-3-pro-image-preview",
        display_name="Gemini 3 Pro Image Preview",
        lifecycle="preview",
        shutdown_on="2026-06-25",
        replacement=ga,
        enabled=False,
        **PRO,
    )
    GeminiModel.objects.create(
        model_id="gemini-3.1-flash-image",
        display_name="Gemini 3.1 Flash Image",
        lifecycle="ga",
        aspect_ratios=[*PRO_RATIOS, "1:4", "4:1", "1:8", "8:1"],
        image_sizes=["512", "1K", "2K", "4K"],
        image_tokens={"512": 747, "1K": 1120, "2K": 1680, "4K": 2520},
        thinking_levels=["MINIMAL", "HIGH"],
        grounding=True,
        max_reference_images=14,
        max_people=4,
        max_objects=10,
        input_token_limit=131072,
        input_image_tokens=1120,
        price_input_per_million=Decimal("0.50"),
        price_text_output_per_million=Decimal("3.00"),
        price_image_output_per_million=Decimal("60.00"),
        price_per_search_query=Decimal("0.014"),
        batch_discount=Decimal("0.5"),
    )
