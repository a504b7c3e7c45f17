"""What a response costs: after the fact from the usage Gemini reports, and before it as an estimate
with an upper bound (what a send reserves against the team's quota).

Money is `Decimal` throughout, kept to the micro-dollar; figures shown to people round to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

MILLION = Decimal(1_000_000)
THOUSAND = Decimal(1_000)
MICRO = Decimal("0.000001")
CENT = Decimal("0.01")

# What a send may produce beyond its image, for the estimate (typical) and the reservation (bound).
# Gemini 3 Pro Image reports a few hundred thinking tokens per image (291-748 in Google's samples).
TYPICAL_TEXT_TOKENS = 600
BOUND_TEXT_TOKENS = 2_000  # thinking and text together
TYPICAL_QUERIES = 2
BOUND_QUERIES = 5


@dataclass(frozen=True)
class PriceList:
    input_per_million: Decimal
    text_output_per_million: Decimal  # text and thinking
    image_output_per_million: Decimal
    per_thousand_queries: Decimal
    batch_discount: Decimal = Decimal("0.5")
    version_id: int | None = None  # the PriceVersion row these come from

    def factor(self, batch: bool) -> Decimal:
        return Decimal(1) - self.batch_discount if batch else Decimal(1)


def _tokens(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key) or 0
    return int(value)


def image_output_tokens(usage: dict[str, Any]) -> int:
    details = usage.get("candidates_tokens_details") or []
    return sum(int(d.get("token_count") or 0) for d in details if str(d.get("modality", "")).upper() == "IMAGE")


def micro(value: Decimal) -> Decimal:
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def response_cost(prices: PriceList, usage: dict[str, Any], search_queries: int = 0, *, batch: bool = False) -> Decimal:
    """What Google bills for one response, from its final usageMetadata. Interim thought images are
    not in the IMAGE count Gemini reports, so they cost nothing, as Google bills them."""
    images = image_output_tokens(usage)
    text_out = max(0, _tokens(usage, "candidates_token_count") - images) + _tokens(usage, "thoughts_token_count")
    return _priced(
        prices,
        input_tokens=_tokens(usage, "prompt_token_count"),
        text_tokens=text_out,
        image_tokens=images,
        queries=search_queries,
        batch=batch,
    )


def _priced(
    prices: PriceList, *, input_tokens: int, text_tokens: int, image_tokens: int, queries: int, batch: bool
) -> Decimal:
    cost = (
        input_tokens * prices.input_per_million
        + text_tokens * prices.text_output_per_million
        + image_tokens * prices.image_output_per_million
    ) / MILLION + queries * prices.per_thousand_queries / THOUSAND
    return micro(cost * prices.factor(batch))


@dataclass(frozen=True)
class Estimate:
    """A send's cost before it happens: `expected` is the likely figure, `bound` what it is reserved
    at (it cannot cost more unless Gemini thinks past BOUND_TEXT_TOKENS or searches more than
    BOUND_QUERIES times). Per-image figures times `images`."""

    images: int
    input_tokens: int
    image_tokens: int
    expected_each: Decimal
    bound_each: Decimal
    input_each: Decimal
    image_each: Decimal
    text_each: Decimal
    grounding_each: Decimal
    price_version_id: int | None = None

    @property
    def expected(self) -> Decimal:
        return self.expected_each * self.images

    @property
    def bound(self) -> Decimal:
        return self.bound_each * self.images

    def as_dict(self) -> dict[str, str | int]:
        return {
            "images": self.images,
            "expected": str(self.expected),
            "bound": str(self.bound),
            "input": str(self.input_each * self.images),
            "image": str(self.image_each * self.images),
            "text": str(self.text_each * self.images),
            "grounding": str(self.grounding_each * self.images),
        }


def estimate(
    prices: PriceList,
    *,
    images: int,
    input_tokens: int,
    image_tokens: int,
    grounding: bool,
    batch: bool = False,
) -> Estimate:
    """`input_tokens` should be a bound (limits.turn_input's), `image_tokens` the catalogue's per-image
    output tokens at the chosen size."""

    def part(**tokens: int) -> Decimal:
        return _priced(
            prices,
            input_tokens=tokens.get("input", 0),
            text_tokens=tokens.get("text", 0),
            image_tokens=tokens.get("image", 0),
            queries=tokens.get("queries", 0),
            batch=batch,
        )

    queries = (TYPICAL_QUERIES, BOUND_QUERIES) if grounding else (0, 0)
    expected = part(input=input_tokens, text=TYPICAL_TEXT_TOKENS, image=image_tokens, queries=queries[0])
    bound = part(input=input_tokens, text=BOUND_TEXT_TOKENS, image=image_tokens, queries=queries[1])
    return Estimate(
        images=images,
        input_tokens=input_tokens,
        image_tokens=image_tokens,
        expected_each=expected,
        bound_each=bound,
        input_each=part(input=input_tokens),
        image_each=part(image=image_tokens),
        text_each=part(text=TYPICAL_TEXT_TOKENS),
        grounding_each=part(queries=queries[0]),
        price_version_id=prices.version_id,
    )


def cents(value: Decimal, *, up: bool = False) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_CEILING if up else ROUND_HALF_UP)
