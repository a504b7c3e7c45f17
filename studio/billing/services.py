"""Writes to the ledger. Each runs inside its caller's transaction (a submit, a finish, a reap), so
money and work commit or roll back together.

A reservation cannot overshoot under concurrency: it locks the team's counter row for the period
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), checks
the limits against it, writes the entries and moves the counter, all before the lock is let go.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from studio.accounts.models import Membership, Role, SitePolicy, Team, User
from studio.accounts.services import audit

from .models import ZERO, EntryKind, MemberDay, Quota, SpendPeriod, UsageEntry
from .periods import next_period
from .pricing import Estimate, cents
from .selectors import period_for, quota_of

logger = logging.getLogger("studio.billing")

WARN_AT = (80, 100)


class QuotaExceeded(ValueError):
    """A send the team's or member's limits do not allow; the message says what, what is left, and when it resets."""


def quota_for_new_team(team: Team) -> Quota:
    """Every new team starts with the site's default quota (SitePolicy), so an open sign-up cannot
    spend the operator's budget before an admin looks."""
    policy = SitePolicy.current()
    return Quota.objects.create(
        team=team,
        spend_limit_usd=policy.new_team_spend_limit_usd,
        image_limit=policy.new_team_image_limit,
        confirm_above_usd=policy.new_team_confirm_above_usd,
    )


def _ensure_member_day(team: Team, user: User | None, day: dt.date) -> None:
    if user is not None:
        MemberDay.objects.bulk_create([MemberDay(team=team, user=user, day=day)], ignore_conflicts=True)


def _ensure_counters(team: Team, user: User | None, start: dt.date, day: dt.date) -> None:
    SpendPeriod.objects.bulk_create([SpendPeriod(team=team, starts_on=start)], ignore_conflicts=True)
    _ensure_member_day(team, user, day)


def _locked[C: (SpendPeriod, MemberDay)](model: type[C], **key: Any) -> C:
    """The counter row, locked until the transaction ends (made first if this is its first use)."""
    row = model.objects.select_for_update().filter(**key).first()
    if row is None:
        model.objects.bulk_create([model(**key)], ignore_conflicts=True)
        row = model.objects.select_for_update().get(**key)
    return row


def _locked_counters(
    team: Team, user: User | None, start: dt.date, day: dt.date, *, member_limits: bool = True
) -> tuple[SpendPeriod, MemberDay | None]:
    """The counters a check needs, locked: the next reservation of this team waits for this one.
    The member's row is locked only when the team has daily member limits."""
    period = _locked(SpendPeriod, team=team, starts_on=start)
    if user is None or not member_limits:
        _ensure_member_day(team, user, day)
        return period, None
    return period, _locked(MemberDay, team=team, user=user, day=day)


def _usd(value: Decimal) -> str:
    return f"${cents(value)}"


def _refusal(
    *, quota: Quota, period: SpendPeriod, member: MemberDay | None, asked: Decimal, images: int, resets_on: dt.date
) -> str | None:
    ask = f"This send can cost up to {_usd(asked)} for {images} image{'s' if images != 1 else ''}"
    resets = f"The team's budget resets on {resets_on:%-d %B %Y}."
    if quota.spend_limit_usd is not None and period.spent_usd + asked > quota.spend_limit_usd:
        left = max(ZERO, quota.spend_limit_usd - period.spent_usd)
        return (
            f"{ask}; the team has {_usd(left)} left of its {_usd(quota.spend_limit_usd)} for this period. "
            f"{resets} Ask fewer or smaller images, or ask a team admin to raise the limit or grant credit."
        )
    if quota.image_limit is not None and period.images + images > quota.image_limit:
        left_images = max(0, quota.image_limit - period.images)
        return (
            f"{ask}; the team has {left_images} of its {quota.image_limit} images left for this period. "
            f"{resets} Ask for fewer images, or ask a team admin to raise the limit."
        )
    if member is None:
        return None
    tomorrow = "Your own daily allowance resets tomorrow."
    daily_spend, daily_images = quota.member_daily_spend_usd, quota.member_daily_images
    if daily_spend is not None and member.spent_usd + asked > daily_spend:
        left = max(ZERO, daily_spend - member.spent_usd)
        return f"{ask}; you have {_usd(left)} left of your {_usd(daily_spend)} a day. {tomorrow}"
    if daily_images is not None and member.images + images > daily_images:
        left_images = max(0, daily_images - member.images)
        return f"{ask}; you have {left_images} of your {daily_images} images a day left. {tomorrow}"
    return None


def reserve(
    *,
    team: Team,
    user: User | None,
    project: Any,
    model_id: str,
    image_size: str,
    estimate: Estimate,
    response_ids: Sequence[int],
) -> list[UsageEntry]:
    """Reserve each response's upper bound against the team's quota, or raise QuotaExceeded. Call
    inside the transaction that creates the responses."""
    quota = quota_of(team)
    day = timezone.localdate()
    start = period_for(quota, day)
    each, count = estimate.bound_each, len(response_ids)
    period: SpendPeriod | None = None
    if quota is not None and quota.has_limits:
        period, member = _locked_counters(team, user, start, day, member_limits=quota.has_member_limits)
        refusal = _refusal(
            quota=quota,
            period=period,
            member=member,
            asked=each * count,
            images=count,
            resets_on=next_period(start),
        )
        if refusal:
            raise QuotaExceeded(refusal)
    else:
        _ensure_counters(team, user, start, day)  # counted all the same; nothing to check, so no lock
    entries = UsageEntry.objects.bulk_create(
        [
            UsageEntry(
                kind=EntryKind.RESERVE,
                team=team,
                team_name=team.name,
                user=user,
                user_name=user.username if user else "",
                project=project,
                project_name=project.name if project else "",
                response_ref=response_id,
                model_id=model_id,
                image_size=image_size,
                price_version_id=estimate.price_version_id,
                amount_usd=each,
                images=1,
                period_start=start,
                day=day,
            )
            for response_id in response_ids
        ]
    )
    _move(team.pk, user.pk if user else None, start, day, each * count, count)
    if quota is not None and period is not None:  # the locked row's totals, plus this reservation
        spent, images = period.spent_usd + each * count, period.images + count
        _warn_if_crossed(quota, period, spent=spent, images=images, start=start)
    return entries


def _move(team_id: int, user_id: int | None, start: dt.date, day: dt.date, amount: Decimal, images: int) -> None:
    if not amount and not images:
        return
    SpendPeriod.objects.filter(team_id=team_id, starts_on=start).update(
        spent_usd=F("spent_usd") + amount, images=F("images") + images
    )
    if user_id is not None:
        MemberDay.objects.filter(team_id=team_id, user_id=user_id, day=day).update(
            spent_usd=F("spent_usd") + amount, images=F("images") + images
        )


@dataclass(frozen=True)
class Closing:
    """How one response's reservation ends: settled (`billed`) or released. Billed without a `cost`:
    Gemini's final usage never arrived (interrupted or cancelled mid-answer), so the reserved bound
    is charged and marked estimated."""

    response_id: int
    billed: bool
    reason: str
    cost: Decimal | None = None
    images: int = 0
    usage: dict[str, Any] | None = None
    queries: int = 0


def close(
    *,
    response_id: int,
    billed: bool,
    reason: str,
    cost: Decimal | None = None,
    images: int = 0,
    usage: dict[str, Any] | None = None,
    queries: int = 0,
) -> UsageEntry | None:
    """Settle or release the response's open reservation (see `Closing`), exactly once."""
    return close_many([Closing(response_id, billed, reason, cost, images, usage, queries)])[0]


def close_many(closings: Sequence[Closing]) -> list[UsageEntry | None]:
    """Close many responses' open reservations, exactly once each (the database's unique constraint
    backs this up): the reservations are read in one query, the entries written in one, and each
    team's counters moved once by the sum. None where a response has nothing open (no reserve that
    a settle or release has not closed yet)."""
    open_by_response: dict[int | None, UsageEntry] = {}
    reserves = UsageEntry.objects.filter(
        response_ref__in=[closing.response_id for closing in closings], kind=EntryKind.RESERVE, closings__isnull=True
    )
    for reserve in reserves.order_by("pk"):
        open_by_response[reserve.response_ref] = reserve  # oldest first: the newest open one stays
    entries: list[UsageEntry | None] = []
    moves: dict[tuple[int, int | None, dt.date, dt.date], tuple[Decimal, int]] = {}
    above_reserve: set[tuple[int, dt.date]] = set()
    for closing in closings:
        # Popped: a response listed twice in a batch closes once.
        reserved = open_by_response.pop(closing.response_id) if closing.response_id in open_by_response else None
        if reserved is None:
            entries.append(None)
            continue
        entry = _closing_entry(closing, reserved)
        entries.append(entry)
        if reserved.team_id is not None:
            key = (reserved.team_id, reserved.user_id, reserved.period_start, reserved.day)
            amount, images = moves.get(key, (ZERO, 0))
            moves[key] = (amount + entry.amount_usd - reserved.amount_usd, images + entry.images - reserved.images)
            if entry.amount_usd > reserved.amount_usd:
                above_reserve.add((reserved.team_id, reserved.period_start))
    UsageEntry.objects.bulk_create([entry for entry in entries if entry is not None])
    for (team_id, user_id, start, day), (amount, images) in moves.items():
        _move(team_id, user_id, start, day, amount, images)
    for team_id, start in above_reserve:
        _maybe_warn(team_id, start)
    return entries


def _closing_entry(closing: Closing, reserved: UsageEntry) -> UsageEntry:
    if closing.billed:
        kind, estimated = EntryKind.SETTLE, closing.cost is None
        amount, images = (closing.cost if closing.cost is not None else reserved.amount_usd), closing.images
    else:
        kind, amount, estimated, images = EntryKind.RELEASE, ZERO, False, 0
    return UsageEntry(
        kind=kind,
        reservation=reserved,
        team_id=reserved.team_id,
        team_name=reserved.team_name,
        user_id=reserved.user_id,
        user_name=reserved.user_name,
        project_id=reserved.project_id,
        project_name=reserved.project_name,
        response_ref=closing.response_id,
        model_id=reserved.model_id,
        image_size=reserved.image_size,
        price_version_id=reserved.price_version_id,
        amount_usd=amount,
        images=images,
        search_queries=closing.queries,
        usage=closing.usage or {},
        estimated=estimated,
        reason=closing.reason[:200],
        period_start=reserved.period_start,
        day=reserved.day,
    )


@transaction.atomic
def adjust(
    *, team: Team, amount: Decimal, reason: str, by: User, images: int = 0, member: User | None = None
) -> UsageEntry:
    """An admin's correction: a negative amount is a credit (the team may spend that much more this
    period), a positive one a charge. Always with a reason and who made it."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Say why: an adjustment needs a reason.")
    day = timezone.localdate()
    start = period_for(quota_of(team), day)
    _locked_counters(team, member, start, day)
    entry = UsageEntry.objects.create(
        kind=EntryKind.ADJUST,
        team=team,
        team_name=team.name,
        user=member,
        user_name=member.username if member else "",
        amount_usd=amount,
        images=images,
        reason=reason[:200],
        period_start=start,
        day=day,
        created_by=by,
    )
    _move(team.pk, member.pk if member else None, start, day, amount, images)
    audit(team=team, actor=by, action="billing.adjusted", target=reason, amount=str(amount), images=images)
    return entry


def grant_credit(*, team: Team, amount: Decimal, reason: str, by: User) -> UsageEntry:
    if amount <= 0:
        raise ValueError("Grant a positive amount of credit.")
    return adjust(team=team, amount=-amount, reason=f"Credit: {reason.strip()}", by=by)


@transaction.atomic
def quota_change(*, quota: Quota, by: User, changed: dict[str, tuple[Any, Any]]) -> None:
    """Record a limit change in the ledger (an adjust entry of nothing) and the audit log. The
    counters are unchanged; a lower limit only refuses later sends."""
    if not changed:
        return
    words = "; ".join(f"{field} {old} → {new}" for field, (old, new) in changed.items())
    adjust(team=quota.team, amount=ZERO, reason=f"Limits: {words}", by=by)


@transaction.atomic
def confirm_threshold_set(*, quota: Quota, value: Decimal | None, by: User, ip: str | None = None) -> Quota:
    """A team's admins choose above which estimate a send asks first (None: never ask)."""
    if value is not None and value < 0:
        raise ValueError("The threshold cannot be negative.")
    before = quota.confirm_above_usd
    quota.confirm_above_usd = value
    quota.save(update_fields=["confirm_above_usd", "updated_at"])
    audit(
        team=quota.team,
        actor=by,
        action="billing.confirm_threshold",
        target=f"{before} → {value}",
        ip=ip,
    )
    return quota


def _maybe_warn(team_id: int, start: dt.date) -> None:
    """After a settle above its reserve: read the team's quota and counter, then warn if it crossed."""
    quota = Quota.objects.filter(team_id=team_id).select_related("team").first()
    period = SpendPeriod.objects.filter(team_id=team_id, starts_on=start).first()
    if quota is not None and period is not None:
        _warn_if_crossed(quota, period, spent=period.spent_usd, images=period.images, start=start)


def _warn_if_crossed(quota: Quota, period: SpendPeriod, *, spent: Decimal, images: int, start: dt.date) -> None:
    """Tell the team's admins once per period when it passes 80% and 100% of a limit."""
    percent = quota.used_percent(spent, images)
    level = max((mark for mark in WARN_AT if percent >= mark), default=0)
    if level <= period.warned_percent:
        return
    if not SpendPeriod.objects.filter(pk=period.pk, warned_percent__lt=level).update(warned_percent=level):
        return
    team = quota.team
    transaction.on_commit(lambda: _send_warning(team, level, spent, images, quota, next_period(start)), robust=True)


def _send_warning(team: Team, level: int, spent: Decimal, images: int, quota: Quota, resets_on: dt.date) -> None:
    admins = list(
        Membership.objects.filter(team=team, role__in=(Role.OWNER, Role.ADMIN))
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    limits = []
    if quota.spend_limit_usd is not None:
        limits.append(f"{_usd(spent)} of {_usd(quota.spend_limit_usd)}")
    if quota.image_limit is not None:
        limits.append(f"{images} of {quota.image_limit} images")
    what = "has reached its limit" if level >= 100 else f"has used {level}% of its budget"
    logger.info("team %s %s (%s)", team.pk, what, ", ".join(limits))
    if admins:
        send_mail(
            subject=f"Studio: {team.name} {what} for this period",
            message=(
                f"The team {team.name} {what}: {', '.join(limits)} committed this period.\n\n"
                f"The period resets on {resets_on:%-d %B %Y}. "
                + ("Sends beyond the limit are refused until then. " if level >= 100 else "")
                + "Staff can grant credit or raise the limits in the Django admin (Billing)."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )
