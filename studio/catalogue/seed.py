"""The catalogue's first entries: Gemini 3 Pro Image (GA), its shut-down preview id, and a Flash-tier model.

Pro's figures are Google's (the image-generation and pricing pages as of 2026). The Flash-tier
entry's sizes, token counts, reference limits and prices are from Google's later pages and not
verified against the live API; admins can correct any of them in the Django admin.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
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
}
# Prices in USD, the first PriceVersion of each model (billing keeps later versions).
PRO_PRICES = {
    "input_per_million": Decimal("2.00"),
    "text_output_per_million": Decimal("12.00"),
    "image_output_per_million": Decimal("120.00"),
    "per_thousand_queries": Decimal("14.00"),
    "batch_discount": Decimal("0.5"),
}
PRICES = {
    "gemini-3-pro-image": PRO_PRICES,
    "gemini-3-pro-image-preview": PRO_PRICES,
    "gemini-3.1-flash-image": {
        **PRO_PRICES,
        "input_per_million": Decimal("0.50"),
        "text_output_per_million": Decimal("3.00"),
        "image_output_per_million": Decimal("60.00"),
    },
}


def _price_columns(model_id: str) -> dict[str, Decimal]:
    """The catalogue's price columns as its first migrations had them (before billing's versions)."""
    prices = PRICES[model_id]
    return {
        "price_input_per_million": prices["input_per_million"],
        "price_text_output_per_million": prices["text_output_per_million"],
        "price_image_output_per_million": prices["image_output_per_million"],
        "price_per_search_query": prices["per_thousand_queries"] / 1000,
        "batch_discount": prices["batch_discount"],
    }


def seed_catalogue(GeminiModel: Any, PriceVersion: Any = None, *, price_columns: bool = False) -> None:
    """Create the seed entries (a migration passes its historical models). `price_columns`: the first
    migrations' schema, which kept prices on the model; with `PriceVersion`, each model's version 1."""

    def extra(model_id: str) -> dict[str, Decimal]:
        return _price_columns(model_id) if price_columns else {}

    ga = GeminiModel.objects.create(
        model_id="gemini-3-pro-image",
        display_name="Gemini 3 Pro Image",
        lifecycle="ga",
        **PRO,
        **extra("gemini-3-pro-image"),
    )
    GeminiModel.objects.create(
        model_id="gemini-3-pro-image-preview",
        display_name="Gemini 3 Pro Image Preview",
        lifecycle="preview",
        shutdown_on="2026-06-25",
        replacement=ga,
        enabled=False,
        **PRO,
        **extra("gemini-3-pro-image-preview"),
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
        **extra("gemini-3.1-flash-image"),
    )
    if PriceVersion is not None:
        for model in GeminiModel.objects.all():
            PriceVersion.objects.create(
                model=model,
                version=1,
                effective_from=EPOCH,
                note="Seeded from Google's pricing page",
                **PRICES[model.model_id],
            )
