"""Reads for money: the prices in force, a team's budget, and what a send would cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from studio.accounts.models import Team, User
from studio.catalogue.models import GeminiModel

from .models import ZERO, EntryKind, MemberDay, PriceVersion, Quota, SpendPeriod, UsageEntry
from .periods import next_period, period_start
from .pricing import Estimate, PriceList, estimate


class PricesMissing(LookupError):
    pass


def price_version(model: GeminiModel, at: dt.datetime | None = None) -> PriceVersion:
    """The version in force at `at` (now): the newest whose `effective_from` has come."""
    row = (
        PriceVersion.objects.filter(model=model, effective_from__lte=at or timezone.now())
        .order_by("-effective_from", "-version")
        .first()
    )
    if row is None:
        raise PricesMissing(f"{model.model_id} has no prices; an admin must add a price version before it is used.")
    return row


def price_list(row: PriceVersion) -> PriceList:
    return PriceList(
        input_per_million=row.input_per_million,
        text_output_per_million=row.text_output_per_million,
        image_output_per_million=row.image_output_per_million,
        per_thousand_queries=row.per_thousand_queries,
        batch_discount=row.batch_discount,
        version_id=row.pk,
    )


def prices_for_response(response_id: int, model: GeminiModel) -> PriceList:
    """The prices a response was reserved at (so the settle matches the estimate people saw), or the
    model's prices in force when it has no reservation or now runs on another model."""
    prices = prices_for_responses({response_id: model})[response_id]
    if isinstance(prices, PricesMissing):
        raise prices
    return prices


def prices_for_responses(models: Mapping[int, GeminiModel]) -> dict[int, PriceList | PricesMissing]:
    """`prices_for_response` for many responses (by id, with the model each runs on): their
    reservations in one query, the prices in force once per model. A model without prices is that
    response's outcome, not the others'."""
    newest: dict[int | None, UsageEntry] = {}
    reserves = UsageEntry.objects.filter(response_ref__in=list(models), kind=EntryKind.RESERVE)
    for entry in reserves.select_related("price_version").order_by("pk"):
        newest[entry.response_ref] = entry  # oldest first, so the newest reservation stays
    in_force: dict[int, PriceList | PricesMissing] = {}
    prices: dict[int, PriceList | PricesMissing] = {}
    for response_id, model in models.items():
        reserved = newest.get(response_id)
        if reserved is not None and reserved.price_version is not None and reserved.price_version.model_id == model.pk:
            prices[response_id] = price_list(reserved.price_version)
            continue
        if model.pk not in in_force:
            try:
                in_force[model.pk] = price_list(price_version(model))
            except PricesMissing as error:
                in_force[model.pk] = error
        prices[response_id] = in_force[model.pk]
    return prices


def image_tokens(model: GeminiModel, size: str) -> int:
    """Output tokens one final image costs at `size`, as the catalogue says (its largest if unlisted)."""
    tokens = model.image_tokens or {}
    return int(tokens.get(size) or max((int(v) for v in tokens.values()), default=0))


def send_estimate(
    model: GeminiModel, *, prices: PriceList, images: int, size: str, grounding: bool, input_tokens: int
) -> Estimate:
    return estimate(
        prices,
        images=images,
        input_tokens=input_tokens,
        image_tokens=image_tokens(model, size),
        grounding=grounding,
    )


def quota_of(team: Team) -> Quota | None:
    return Quota.objects.filter(team=team).first()


def period_for(quota: Quota | None, day: dt.date) -> dt.date:
    """The start of the quota period `day` falls in (teams without a quota: calendar months)."""
    return period_start(day, quota.reset_day if quota is not None else 1)


@dataclass(frozen=True)
class Budget:
    """Where a team stands in its current period (committed: settled, adjusted and reserved)."""

    quota: Quota | None
    starts_on: dt.date
    resets_on: dt.date
    spent: Decimal
    images: int

    @property
    def spend_limit(self) -> Decimal | None:
        return self.quota.spend_limit_usd if self.quota else None

    @property
    def image_limit(self) -> int | None:
        return self.quota.image_limit if self.quota else None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.spend_limit is None else max(ZERO, self.spend_limit - self.spent)

    @property
    def images_remaining(self) -> int | None:
        return None if self.image_limit is None else max(0, self.image_limit - self.images)

    @property
    def percent(self) -> int:
        """The larger of spend and images used, in percent of their limits (0 with no limits)."""
        return self.quota.used_percent(self.spent, self.images) if self.quota else 0

    @property
    def confirm_above(self) -> Decimal | None:
        return self.quota.confirm_above_usd if self.quota else None

    def cannot_fit(self, cost: Estimate) -> bool:
        """The send's bound is more than the period has left: it would be refused."""
        return self.remaining is not None and cost.bound > self.remaining

    def asks_first(self, cost: Estimate) -> bool:
        """Above the team's confirmation threshold, a send asks first, unless it cannot fit at all
        (then the refusal says why instead)."""
        threshold = self.confirm_above
        return threshold is not None and cost.expected > threshold and not self.cannot_fit(cost)


def team_budget(team: Team, today: dt.date | None = None) -> Budget:
    quota = quota_of(team)
    start = period_for(quota, today or timezone.localdate())
    counter = SpendPeriod.objects.filter(team=team, starts_on=start).first()
    return Budget(
        quota=quota,
        starts_on=start,
        resets_on=next_period(start),
        spent=counter.spent_usd if counter else ZERO,
        images=counter.images if counter else 0,
    )


@dataclass(frozen=True)
class MemberToday:
    spent: Decimal
    images: int


def member_today(team: Team, user: User) -> MemberToday:
    row = MemberDay.objects.filter(team=team, user=user, day=timezone.localdate()).first()
    return MemberToday(spent=row.spent_usd if row else ZERO, images=row.images if row else 0)
