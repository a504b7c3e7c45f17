"""Prices against figures worked out by hand (in the comments), for Gemini 3 Pro Image and the
Flash-tier model, from the seeded price versions: the same rows the studio bills with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from studio.billing.models import PriceVersion
from studio.billing.pricing import response_cost
from studio.billing.selectors import image_tokens, price_list, price_version, send_estimate
from studio.catalogue.models import GeminiModel

pytestmark = pytest.mark.django_db

PRO, FLASH = "gemini-3-pro-image", "gemini-3.1-flash-image"


def prices(model_id: str) -> Any:
    return price_list(price_version(GeminiModel.objects.get(model_id=model_id)))


def usage(prompt: int, image: int, text: int, thoughts: int) -> dict[str, Any]:
    """usageMetadata as the SDK hands it over (snake_case)."""
    details = [{"modality": "IMAGE", "token_count": image}] if image else []
    return {
        "prompt_token_count": prompt,
        "candidates_token_count": image + text,
        "thoughts_token_count": thoughts,
        "candidates_tokens_details": [*details, {"modality": "TEXT", "token_count": text}],
    }


CASES = [
    # Pro: input $2/1M, text and thinking $12/1M, image $120/1M, $14 per 1,000 queries.
    # 1K: 100 in = 0.0002; 20 text + 300 thoughts = 320 x 12/1M = 0.00384; 1120 x 120/1M = 0.1344.
    (PRO, usage(100, 1120, 20, 300), 0, False, Decimal("0.138440")),
    # 2K costs what 1K does (1120 tokens).
    (PRO, usage(100, 1120, 20, 300), 0, False, Decimal("0.138440")),
    # 4K: 2000 x 120/1M = 0.24 + 0.0002 + 0.00384.
    (PRO, usage(100, 2000, 20, 300), 0, False, Decimal("0.244040")),
    # Three references at 560 tokens each and 100 of text: 1780 x 2/1M = 0.00356; + 0.00384 + 0.1344.
    (PRO, usage(1780, 1120, 20, 300), 0, False, Decimal("0.141800")),
    # Heavy thinking: 2000 thoughts + 20 text = 2020 x 12/1M = 0.02424; + 0.0002 + 0.1344.
    (PRO, usage(100, 1120, 20, 2000), 0, False, Decimal("0.158840")),
    # Grounded, 2 queries: 2 x 0.014 = 0.028 on top of the 1K figure.
    (PRO, usage(100, 1120, 20, 300), 2, False, Decimal("0.166440")),
    # Batch: half of the grounded 1K figure (0.16644 / 2).
    (PRO, usage(100, 1120, 20, 300), 2, True, Decimal("0.083220")),
    # Blocked by image safety: no image billed, input and thinking are: 0.0002 + 291 x 12/1M = 0.003692.
    (PRO, usage(100, 0, 0, 291), 0, False, Decimal("0.003692")),
    # Flash: input $0.50/1M, text $3/1M, image $60/1M.
    # 512: 747 x 60/1M = 0.04482; 100 in = 0.00005; 320 x 3/1M = 0.00096.
    (FLASH, usage(100, 747, 20, 300), 0, False, Decimal("0.045830")),
    # 1K: 1120 x 60/1M = 0.0672 + 0.00005 + 0.00096.
    (FLASH, usage(100, 1120, 20, 300), 0, False, Decimal("0.068210")),
    # 2K: 1680 x 60/1M = 0.1008 + 0.00101.
    (FLASH, usage(100, 1680, 20, 300), 0, False, Decimal("0.101810")),
    # 4K: 2520 x 60/1M = 0.1512 + 0.00101, grounded with 3 queries (+0.042).
    (FLASH, usage(100, 2520, 20, 300), 3, False, Decimal("0.194210")),
    # Flash batch 4K ungrounded: 0.15221 / 2 = 0.076105.
    (FLASH, usage(100, 2520, 20, 300), 0, True, Decimal("0.076105")),
]


@pytest.mark.parametrize(("model_id", "reported", "queries", "batch", "expected"), CASES)
def test_response_cost_matches_the_hand_computed_figure(
    model_id: str, reported: dict[str, Any], queries: int, batch: bool, expected: Decimal
) -> None:
    assert response_cost(prices(model_id), reported, queries, batch=batch) == expected


def test_interim_images_cost_nothing() -> None:
    """Gemini's IMAGE count is the final image only; drafts shown while thinking are not in it."""
    final_only = usage(100, 1120, 20, 300)
    assert response_cost(prices(PRO), final_only) == Decimal("0.138440")


def test_image_tokens_come_from_the_catalogue_per_model_and_size() -> None:
    pro, flash = GeminiModel.objects.get(model_id=PRO), GeminiModel.objects.get(model_id=FLASH)
    assert [image_tokens(pro, s) for s in ("1K", "2K", "4K")] == [1120, 1120, 2000]
    assert [image_tokens(flash, s) for s in ("512", "1K", "2K", "4K")] == [747, 1120, 1680, 2520]


def test_estimate_and_its_bound_for_four_2k_images() -> None:
    pro = GeminiModel.objects.get(model_id=PRO)
    cost = send_estimate(pro, prices=prices(PRO), images=4, size="2K", grounding=True, input_tokens=50)
    # Each: 50 in = 0.0001; image 0.1344; typical 600 text = 0.0072; 2 queries = 0.028 -> 0.1697.
    assert cost.expected_each == Decimal("0.169700")
    assert cost.expected == Decimal("0.678800")
    # Bound: 2000 text = 0.024; 5 queries = 0.07 -> 0.0001 + 0.1344 + 0.024 + 0.07 = 0.2285.
    assert cost.bound == Decimal("0.914000")
    assert cost.as_dict()["image"] == "0.537600"


def test_a_new_price_version_takes_over_and_old_ones_stay() -> None:
    pro = GeminiModel.objects.get(model_id=PRO)
    first = price_version(pro)
    newer = PriceVersion.objects.create(
        model=pro,
        version=2,
        effective_from=timezone.now(),
        input_per_million=Decimal("2"),
        text_output_per_million=Decimal("12"),
        image_output_per_million=Decimal("100"),
        per_thousand_queries=Decimal("14"),
    )
    assert price_version(pro) == newer
    assert price_version(pro, at=first.effective_from) == first
    first.image_output_per_million = Decimal("1")
    with pytest.raises(ValidationError, match="never edited in place"):
        first.save()
