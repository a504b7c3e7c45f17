"""What a response costs, from the usage Gemini reports and the model's prices (its catalogue entry)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class PriceList:
    input_per_million: Decimal
    text_output_per_million: Decimal  # text and thinking
    image_output_per_million: Decimal
    per_search_query: Decimal


def _tokens(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key) or 0
    return int(value)


def image_output_tokens(usage: dict[str, Any]) -> int:
    details = usage.get("candidates_tokens_details") or []
    return sum(int(d.get("token_count") or 0) for d in details if str(d.get("modality", "")).upper() == "IMAGE")


def response_cost(prices: PriceList, usage: dict[str, Any], search_queries: int = 0) -> Decimal:
    images = image_output_tokens(usage)
    text_out = max(0, _tokens(usage, "candidates_token_count") - images) + _tokens(usage, "thoughts_token_count")
    cost = (
        _tokens(usage, "prompt_token_count") * prices.input_per_million
        + text_out * prices.text_output_per_million
        + images * prices.image_output_per_million
    ) / MILLION + search_queries * prices.per_search_query
    return cost.quantize(Decimal("0.000001"))
