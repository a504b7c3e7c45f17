"""Monthly statements per team and the staff billing dashboard, both sums over the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from studio.accounts.models import Team

from .models import ZERO, EntryKind, UsageEntry
from .periods import next_period
from .reports import CHARGED, failure_label, failures


@dataclass(frozen=True)
class StatementLine:
    description: str
    quantity: int
    amount: Decimal


@dataclass
class Statement:
    team: Team
    start: dt.date
    lines: list[StatementLine] = field(default_factory=list)
    adjustments: list[UsageEntry] = field(default_factory=list)
    ledger_total: Decimal = ZERO

    @property
    def end(self) -> dt.date:
        return next_period(self.start)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def usage_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def adjustments_total(self) -> Decimal:
        return sum((entry.amount_usd for entry in self.adjustments), ZERO)

    @property
    def total(self) -> Decimal:
        return self.usage_total + self.adjustments_total

    @property
    def balanced(self) -> bool:
        return self.total == self.ledger_total

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["team", self.team.name, "period", self.start.isoformat(), self.last_day.isoformat()])
        writer.writerow(["section", "description", "quantity", "amount_usd"])
        for line in self.lines:
            writer.writerow(["usage", line.description, line.quantity, f"{line.amount:.6f}"])
        for entry in self.adjustments:
            who = entry.created_by.username if entry.created_by else ""
            writer.writerow(
                ["adjustment", f"{entry.created_at:%Y-%m-%d} {entry.reason} ({who})", "", f"{entry.amount_usd:.6f}"]
            )
        writer.writerow(["total", "", "", f"{self.total:.6f}"])
        return out.getvalue()


def statement_for(team: Team, start: dt.date) -> Statement:
    """What the team was charged for the period starting `start`: usage by model, size and outcome,
    then each adjustment. Its total equals the sum of the period's settle and adjust entries."""
    rows = UsageEntry.objects.filter(team=team, period_start=start)
    statement = Statement(team=team, start=start)
    grouped = (
        rows.filter(kind=EntryKind.SETTLE)
        .values("model_id", "image_size", "reason")
        .annotate(count=Count("pk"), images=Coalesce(Sum("images"), 0), amount=Coalesce(Sum("amount_usd"), ZERO))
        .order_by("model_id", "image_size", "reason")
    )
    for row in grouped:
        if row["reason"] == "succeeded":
            text = f"{row['model_id']} · {row['image_size']} · images"
            quantity = row["images"]
        else:
            text = f"{row['model_id']} · {row['image_size']} · {failure_label(row['reason']).lower()}"
            quantity = row["count"]
        statement.lines.append(StatementLine(description=text, quantity=quantity, amount=row["amount"]))
    statement.adjustments = list(
        rows.filter(kind=EntryKind.ADJUST).exclude(amount_usd=0).select_related("created_by").order_by("created_at")
    )
    statement.ledger_total = rows.filter(CHARGED).aggregate(total=Coalesce(Sum("amount_usd"), ZERO))["total"]
    return statement


@dataclass
class Dashboard:
    start: dt.date
    end: dt.date
    spend: Decimal = ZERO
    images: int = 0
    teams: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


TEAMS_CHARTED = 6


def dashboard_data(today: dt.date, days: int) -> Dashboard:
    start, end = today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)
    rows = UsageEntry.objects.filter(day__gte=start, day__lt=end)
    totals = rows.aggregate(
        spend=Coalesce(Sum("amount_usd", filter=CHARGED), ZERO),
        images=Coalesce(Sum("images", filter=Q(kind=EntryKind.SETTLE)), 0),
    )
    board = Dashboard(start=start, end=end, spend=totals["spend"], images=totals["images"])
    settled_images = Coalesce(Sum("images", filter=Q(kind=EntryKind.SETTLE)), 0)
    board.teams = [
        dict(row)
        for row in rows.filter(CHARGED)
        .values("team_id", "team_name")
        .annotate(spend=Coalesce(Sum("amount_usd"), ZERO), images=settled_images)
        .order_by("-spend", "team_name")
    ]
    board.sizes = [
        dict(row)
        for row in rows.filter(kind=EntryKind.SETTLE)
        .values("image_size")
        .annotate(images=Coalesce(Sum("images"), 0))
        .order_by("image_size")
    ]
    board.failures = failures(rows)
    labels = [(start + dt.timedelta(days=n)).isoformat() for n in range(days)]
    charted = [team["team_id"] for team in board.teams[:TEAMS_CHARTED]]
    per_day: dict[tuple[int | None, str], Decimal] = {
        (row["team_id"], row["day"].isoformat()): row["spend"]
        for row in rows.filter(CHARGED, team_id__in=charted)
        .values("team_id", "day")
        .annotate(spend=Coalesce(Sum("amount_usd"), ZERO))
    }
    board.charts = {
        "teams": {
            "labels": [label[5:] for label in labels],
            "series": [
                {
                    "label": team["team_name"],
                    "values": [float(per_day.get((team["team_id"], label), ZERO)) for label in labels],
                }
                for team in board.teams[:TEAMS_CHARTED]
            ],
        },
        "sizes": {
            "labels": [row["image_size"] or "?" for row in board.sizes],
            "series": [{"label": "Images", "values": [row["images"] for row in board.sizes]}],
        },
        "failures": {
            "labels": [row["label"] for row in board.failures],
            "series": [{"label": "Failures", "values": [row["count"] for row in board.failures]}],
        },
    }
    return board
