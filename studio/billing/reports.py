"""Sums over the ledger for usage pages, the billing dashboard and statements.

Spend is what was settled plus adjustments (credits are negative); reservations still open are
reported apart as "in progress". Every figure here is a sum of `UsageEntry` rows, so a statement
adds up to the ledger to the cent by construction (and a test checks it does).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from studio.accounts.models import Team, User

from .models import ZERO, EntryKind, UsageEntry

CHARGED = Q(kind__in=(EntryKind.SETTLE, EntryKind.ADJUST))
MONEY_ZERO = Coalesce(Sum("amount_usd"), ZERO)


def _money(rows: QuerySet[UsageEntry], *group: str) -> list[dict[str, Any]]:
    return list(
        rows.filter(CHARGED)
        .values(*group)
        .annotate(spend=MONEY_ZERO, images=Coalesce(Sum("images", filter=Q(kind=EntryKind.SETTLE)), 0))
        .order_by(*group)
    )


@dataclass
class Usage:
    """One team's (or one person's) usage over [start, end)."""

    start: dt.date
    end: dt.date
    spend: Decimal = ZERO
    images: int = 0
    in_progress: Decimal = ZERO
    credits: Decimal = ZERO
    by_day: list[dict[str, Any]] = field(default_factory=list)
    by_member: list[dict[str, Any]] = field(default_factory=list)
    by_project: list[dict[str, Any]] = field(default_factory=list)
    by_model: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def chart(self) -> dict[str, list[Any]]:
        """Every day of the range, zeros included, for the chart."""
        spent = {row["day"]: row for row in self.by_day}
        days, amounts, images = [], [], []
        day = self.start
        while day < self.end:
            row = spent.get(day, {})
            days.append(day.isoformat())
            amounts.append(float(row.get("spend", 0)))  # chart coordinates only; figures stay Decimal
            images.append(int(row.get("images", 0)))
            day += dt.timedelta(days=1)
        return {"days": days, "spend": amounts, "images": images}


def entries_in(
    start: dt.date, end: dt.date, *, team: Team | None = None, user: User | None = None
) -> QuerySet[UsageEntry]:
    rows = UsageEntry.objects.filter(day__gte=start, day__lt=end)
    if team is not None:
        rows = rows.filter(team=team)
    if user is not None:
        rows = rows.filter(user=user)
    return rows


def usage(start: dt.date, end: dt.date, *, team: Team | None = None, user: User | None = None) -> Usage:
    rows = entries_in(start, end, team=team, user=user)
    totals = rows.aggregate(
        spend=Coalesce(Sum("amount_usd", filter=CHARGED), ZERO),
        images=Coalesce(Sum("images", filter=Q(kind=EntryKind.SETTLE)), 0),
        credits=Coalesce(Sum("amount_usd", filter=Q(kind=EntryKind.ADJUST, amount_usd__lt=0)), ZERO),
        in_progress=Coalesce(Sum("amount_usd", filter=Q(kind=EntryKind.RESERVE, closings__isnull=True)), ZERO),
    )
    return Usage(
        start=start,
        end=end,
        spend=totals["spend"],
        images=totals["images"],
        credits=-totals["credits"],
        in_progress=totals["in_progress"],
        by_day=_money(rows, "day"),
        by_member=_money(rows.exclude(user_name=""), "user_name"),
        by_project=_money(rows.exclude(project_name=""), "project_name"),
        by_model=_money(rows.exclude(model_id=""), "model_id", "image_size"),
        failures=failures(rows),
    )


def failures(rows: QuerySet[UsageEntry]) -> list[dict[str, Any]]:
    """Settles and releases that were not a finished image, by reason: how often, what they cost."""
    return [
        {**row, "label": failure_label(row["reason"])}
        for row in rows.filter(kind__in=(EntryKind.SETTLE, EntryKind.RELEASE))
        .exclude(reason="succeeded")
        .values("reason")
        .annotate(count=Count("pk"), spend=MONEY_ZERO)
        .order_by("-count", "reason")
    ]


FAILURE_LABELS = {
    "prompt_blocked": "Prompt blocked",
    "image_safety": "Image removed by the safety filter",
    "no_image": "Finished without an image",
    "refusal": "Model declined",
    "rate_limited": "Rate-limited (429)",
    "overloaded": "Gemini overloaded (503)",
    "server": "Gemini internal error",
    "timeout": "Timed out",
    "bad_key": "API key rejected",
    "network": "Network",
    "stream_broken": "Stream broken mid-answer",
    "bad_request": "Request refused",
    "interrupted": "Worker stopped mid-answer",
    "cancelled": "Cancelled",
    "deleted": "Deleted before it finished",
    "internal": "Studio error",
    "model_unavailable": "Model unavailable",
}


def failure_label(reason: str) -> str:
    return FAILURE_LABELS.get(reason, reason.replace("_", " ").capitalize())


CSV_COLUMNS = [
    "id",
    "created_at",
    "kind",
    "reservation_id",
    "team",
    "member",
    "project",
    "response",
    "model",
    "size",
    "price_version",
    "amount_usd",
    "images",
    "search_queries",
    "estimated",
    "reason",
    "period_start",
    "by",
]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: QuerySet[UsageEntry]) -> Iterator[str]:
    """The ledger rows as CSV, a line at a time (for a StreamingHttpResponse: never built whole)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    chosen = rows.order_by("pk").select_related("created_by")
    for entry in chosen.iterator(chunk_size=2000):
        yield writer.writerow(_csv_row(entry))


def _csv_row(entry: UsageEntry) -> Iterable[object]:
    return [
        entry.pk,
        entry.created_at.isoformat(),
        entry.kind,
        entry.reservation_id or "",
        _safe_cell(entry.team_name),
        _safe_cell(entry.user_name),
        _safe_cell(entry.project_name),
        entry.response_ref or "",
        entry.model_id,
        entry.image_size,
        entry.price_version_id or "",
        f"{entry.amount_usd:.6f}",
        entry.images,
        entry.search_queries,
        "yes" if entry.estimated else "",
        _safe_cell(entry.reason),
        entry.period_start.isoformat(),
        entry.created_by.username if entry.created_by else "",
    ]


def _safe_cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: an admin's reason must not."""
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text
