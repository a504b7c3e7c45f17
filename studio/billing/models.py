"""Money: versioned prices, the append-only ledger, team quotas and the running counters they are
checked against.

The ledger (`UsageEntry`) is the truth: every figure on a usage page, a dashboard or a statement is
a sum over it. `SpendPeriod` and `MemberDay` are counters kept in the same transactions as the
entries, so a submit checks a quota by locking one row instead of summing the ledger.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from studio.accounts.models import Team
from studio.catalogue.models import GeminiModel

ZERO = Decimal("0")


def money(**kwargs: object) -> models.DecimalField[Decimal, Decimal]:
    return models.DecimalField(max_digits=14, decimal_places=6, **kwargs)  # type: ignore[arg-type]


class PriceVersion(models.Model):
    """A model's prices from `effective_from` on. Never edited: a change is a new version, so every
    ledger entry keeps pointing at the prices it was computed with."""

    model = models.ForeignKey(GeminiModel, on_delete=models.PROTECT, related_name="price_versions")
    version = models.PositiveIntegerField(editable=False)
    effective_from = models.DateTimeField(help_text="Sends from this moment on use these prices.")
    input_per_million = models.DecimalField("input $/1M tokens", max_digits=10, decimal_places=4)
    text_output_per_million = models.DecimalField("text and thinking $/1M", max_digits=10, decimal_places=4)
    image_output_per_million = models.DecimalField("image output $/1M", max_digits=10, decimal_places=4)
    per_thousand_queries = models.DecimalField("grounding $ per 1,000 search queries", max_digits=10, decimal_places=4)
    batch_discount = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("1"))],
        help_text="Share of the price taken off in batch mode (0.5: half price).",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why the prices changed, or their source.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model__model_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="one_price_version_number")]

    def __str__(self) -> str:
        return f"{self.model.model_id} prices v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("Prices are never edited in place; add a new version.")
        super().save(*args, **kwargs)


class Quota(models.Model):
    """A team's limits per period (monthly, from `reset_day`). Empty limits mean no limit."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="quota")
    spend_limit_usd = models.DecimalField(
        "spend limit per period (USD)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    image_limit = models.PositiveIntegerField("images per period", null=True, blank=True)
    member_daily_spend_usd = models.DecimalField(
        "each member's spend per day (USD)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    member_daily_images = models.PositiveIntegerField("each member's images per day", null=True, blank=True)
    reset_day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the month a new period starts (1-28).",
    )
    confirm_above_usd = models.DecimalField(
        "ask to confirm sends above (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Empty: never ask.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "team budget"

    def __str__(self) -> str:
        return f"Budget of {self.team}"

    @property
    def has_member_limits(self) -> bool:
        return self.member_daily_spend_usd is not None or self.member_daily_images is not None

    @property
    def has_limits(self) -> bool:
        return self.spend_limit_usd is not None or self.image_limit is not None or self.has_member_limits

    def used_percent(self, spent: Decimal, images: int) -> int:
        """The larger of spend and images used, in percent of the period's limits (0 with none)."""
        shares = []
        if self.spend_limit_usd:
            shares.append(spent / self.spend_limit_usd)
        if self.image_limit:
            shares.append(Decimal(images) / self.image_limit)
        return int(max(shares, default=ZERO) * 100)


class SpendPeriod(models.Model):
    """What a team has committed in one period: settled and adjusted spend plus open reservations."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="spend_periods")
    starts_on = models.DateField()
    spent_usd = money(default=ZERO)
    images = models.IntegerField(default=0)
    warned_percent = models.PositiveSmallIntegerField(default=0, help_text="The last warning sent: 0, 80 or 100.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "starts_on"], name="one_spend_period")]

    def __str__(self) -> str:
        return f"{self.team} from {self.starts_on}"


class MemberDay(models.Model):
    """What one member has committed in a team on one day (for the per-member daily limits)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    spent_usd = money(default=ZERO)
    images = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user", "day"], name="one_member_day")]


class EntryKind(models.TextChoices):
    RESERVE = "reserve", "Reserve"
    SETTLE = "settle", "Settle"
    RELEASE = "release", "Release"
    ADJUST = "adjust", "Adjust"


CLOSING = (EntryKind.SETTLE, EntryKind.RELEASE)


class UsageEntry(models.Model):
    """One line of the ledger. Append-only: rows are never updated or deleted (links to deleted
    teams, projects and people become empty; their names stay).

    reserve: the upper bound of one response's cost, before the call. settle: what it cost (closes
    the reserve). release: nothing was billed (closes the reserve). adjust: an admin's credit
    (negative) or charge, with a reason. Spend = settles + adjusts (+ open reserves while pending).
    """

    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    reservation = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closings",
        help_text="The reserve closed.",
    )
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="usage_entries")
    team_name = models.CharField(max_length=120)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user_name = models.CharField(max_length=150, blank=True)
    project = models.ForeignKey(
        "chat.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_entries"
    )
    project_name = models.CharField(max_length=120, blank=True)
    response_ref = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The response's id (kept after deletion)."
    )
    model_id = models.CharField(max_length=80, blank=True)
    image_size = models.CharField(max_length=8, blank=True)
    price_version = models.ForeignKey(PriceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount_usd = money(help_text="Reserve: the bound; settle: the cost; adjust: negative is a credit.")
    images = models.IntegerField(default=0, help_text="Final images billed (reserve: the images asked for).")
    search_queries = models.PositiveIntegerField(default=0)
    usage = models.JSONField(default=dict, blank=True, help_text="Gemini's usageMetadata, as settled.")
    estimated = models.BooleanField(
        default=False, help_text="Settled without Gemini's final usage (interrupted or cancelled mid-answer)."
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Outcome (settle/release) or why (adjust).")
    period_start = models.DateField(help_text="The quota period it counts in.")
    day = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "usage entry"
        verbose_name_plural = "usage ledger"
        constraints = [
            # Exactly one settle-or-release per reserve, whatever retries, reaps and crashes do.
            models.UniqueConstraint(
                fields=["reservation"], condition=models.Q(kind__in=CLOSING), name="one_closing_per_reserve"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CLOSING, reservation__isnull=False)
                | models.Q(kind__in=(EntryKind.RESERVE, EntryKind.ADJUST), reservation__isnull=True),
                name="closings_name_their_reserve",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "period_start"], name="usage_by_team_period"),
            models.Index(fields=["response_ref", "kind"], name="usage_by_response"),
            models.Index(fields=["team", "created_at"], name="usage_by_team_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_usd} USD ({self.team_name})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("The ledger is append-only; add an adjust entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("The ledger is append-only.")
