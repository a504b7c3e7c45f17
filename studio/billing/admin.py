"""Billing in the Django admin (staff): team budgets with their period's spend, credit and limit
changes written to the ledger, the ledger itself read-only with a streaming CSV export, price
versions (add-only), a dashboard with charts and monthly statements per team."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from studio.accounts.models import Team, User
from studio.ops.streaming import download

from . import reports, services
from .models import PriceVersion, Quota, UsageEntry
from .periods import day_or_today, next_period
from .selectors import Budget, period_for, quota_of, team_budget
from .statements import dashboard_data, statement_for


@admin.register(PriceVersion)
class PriceVersionAdmin(admin.ModelAdmin[PriceVersion]):
    """Prices are added as new versions, never edited: "New version from this" copies a row into the
    add form."""

    list_display = [
        "model",
        "version",
        "effective_from",
        "input_per_million",
        "text_output_per_million",
        "image_output_per_million",
        "per_thousand_queries",
        "batch_discount",
        "created_by",
        "copy_link",
    ]
    list_filter = ["model"]
    fields = [
        "model",
        "effective_from",
        ("input_per_million", "text_output_per_million", "image_output_per_million"),
        ("per_thousand_queries", "batch_discount"),
        "note",
    ]

    def has_change_permission(self, request: HttpRequest, obj: PriceVersion | None = None) -> bool:
        return False  # the change page is a read-only view of the version

    def has_delete_permission(self, request: HttpRequest, obj: PriceVersion | None = None) -> bool:
        return False  # ledger entries point at it

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"effective_from": timezone.now(), **super().get_changeform_initial_data(request)}

    @admin.display(description="")
    def copy_link(self, row: PriceVersion) -> str:
        fields = [
            "input_per_million",
            "text_output_per_million",
            "image_output_per_million",
            "per_thousand_queries",
            "batch_discount",
        ]
        query = "&".join(f"{name}={getattr(row, name)}" for name in fields)
        url = f"{reverse('admin:billing_priceversion_add')}?model={row.model_id}&{query}"
        return format_html('<a href="{}">New version from this</a>', url)

    def save_model(self, request: HttpRequest, obj: PriceVersion, form: Any, change: bool) -> None:
        latest = PriceVersion.objects.filter(model=obj.model).order_by("-version").first()
        obj.version = (latest.version if latest else 0) + 1
        obj.created_by = request.user if isinstance(request.user, User) else None
        super().save_model(request, obj, form, change)


class CreditForm(forms.Form):
    amount = forms.DecimalField(label="Credit (USD)", min_value=Decimal("0.01"), max_digits=10, decimal_places=2)
    reason = forms.CharField(max_length=180, help_text="Shown in the ledger and the team's statement.")


LIMIT_FIELDS = ["spend_limit_usd", "image_limit", "member_daily_spend_usd", "member_daily_images", "reset_day"]


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin[Quota]):
    """One row per team: its limits, what it has committed this period and what remains."""

    list_display = ["team", "limit", "period_spend", "remaining", "image_limit", "period_images", "links"]
    list_select_related = ["team"]
    search_fields = ["team__name"]
    list_filter = ["team__is_personal"]
    fields = ["team", *LIMIT_FIELDS, "confirm_above_usd"]
    readonly_fields = ["team"]
    actions = ["grant_credit"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every team has one, made with the team

    def has_delete_permission(self, request: HttpRequest, obj: Quota | None = None) -> bool:
        return False

    @admin.display(description="Limit", ordering="spend_limit_usd")
    def limit(self, row: Quota) -> str:
        return "none" if row.spend_limit_usd is None else f"${row.spend_limit_usd}"

    @staticmethod
    def _budget(row: Quota) -> Budget:
        """The row's budget, read once for its four columns (kept on the row, which lives one request)."""
        cached: Budget | None = getattr(row, "_budget_cache", None)
        if cached is None:
            cached = team_budget(row.team)
            row._budget_cache = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description="Spent")
    def period_spend(self, row: Quota) -> str:
        return f"${self._budget(row).spent:.2f}"

    @admin.display(description="Left")
    def remaining(self, row: Quota) -> str:
        left = self._budget(row).remaining
        return "no limit" if left is None else f"${left:.2f}"

    @admin.display(description="Images")
    def period_images(self, row: Quota) -> int:
        return self._budget(row).images

    @admin.display(description="Statement")
    def links(self, row: Quota) -> str:
        start = self._budget(row).starts_on
        url = reverse("admin:billing_statement", args=[row.team_id, start.isoformat()])
        return format_html('<a href="{}">This period</a>', url)

    def save_model(self, request: HttpRequest, obj: Quota, form: Any, change: bool) -> None:
        before = Quota.objects.get(pk=obj.pk) if obj.pk else None
        super().save_model(request, obj, form, change)
        if before is None or not isinstance(request.user, User):
            return
        changed = {
            name: (getattr(before, name), getattr(obj, name))
            for name in [*LIMIT_FIELDS, "confirm_above_usd"]
            if getattr(before, name) != getattr(obj, name)
        }
        services.quota_change(quota=obj, by=request.user, changed=changed)

    @admin.action(description="Grant credit to the selected teams…")
    def grant_credit(self, request: HttpRequest, queryset: QuerySet[Quota]) -> TemplateResponse | None:
        form = CreditForm(request.POST if "amount" in request.POST else None)
        if form.is_bound and form.is_valid() and isinstance(request.user, User):
            for quota in queryset.select_related("team"):
                services.grant_credit(
                    team=quota.team,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            self.message_user(
                request, f"Granted ${form.cleaned_data['amount']} of credit to {queryset.count()} team(s)."
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant credit",
            "form": form,
            "quotas": queryset.select_related("team"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/grant_credit.html", context)

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path("dashboard/", site.admin_view(self.dashboard), name="billing_dashboard"),
            path("statement/<int:team_id>/<str:start>/", site.admin_view(self.statement), name="billing_statement"),
            path(
                "statement/<int:team_id>/<str:start>/csv",
                site.admin_view(self.statement_csv),
                name="billing_statement_csv",
            ),
            *super().get_urls(),
        ]

    def dashboard(self, request: HttpRequest) -> TemplateResponse:
        days = 30 if request.GET.get("days") != "90" else 90
        data = dashboard_data(timezone.localdate(), days)
        context = {
            **self.admin_site.each_context(request),
            "title": "Billing dashboard",
            "data": data,
            "days": days,
        }
        return TemplateResponse(request, "admin/billing/dashboard.html", context)

    def _statement_args(self, team_id: int, start: str) -> tuple[Team, Quota | None, dt.date]:
        team = get_object_or_404(Team, pk=team_id)
        quota = quota_of(team)
        return team, quota, period_for(quota, day_or_today(start, timezone.localdate()))

    def statement(self, request: HttpRequest, team_id: int, start: str) -> TemplateResponse:
        team, quota, first = self._statement_args(team_id, start)
        statement = statement_for(team, first)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Statement: {team.name}, {first:%-d %b} – {statement.last_day:%-d %b %Y}",
            "statement": statement,
            "team": team,
            "previous": period_for(quota, first - dt.timedelta(days=1)),
            "next": next_period(first),
        }
        return TemplateResponse(request, "admin/billing/statement.html", context)

    def statement_csv(self, request: HttpRequest, team_id: int, start: str) -> HttpResponse:
        team, _quota, first = self._statement_args(team_id, start)
        statement = statement_for(team, first)
        response = HttpResponse(statement.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statement-{team.pk}-{first.isoformat()}.csv"'
        return response


@admin.register(UsageEntry)
class UsageEntryAdmin(admin.ModelAdmin[UsageEntry]):
    """The ledger, read-only. Corrections are adjust entries (Team budgets → Grant credit, or a limit change)."""

    list_display = [
        "created_at",
        "kind",
        "team_name",
        "user_name",
        "project_name",
        "model_id",
        "image_size",
        "amount_usd",
        "images",
        "estimated",
        "reason",
    ]
    list_filter = ["kind", "model_id", "image_size", "estimated", "period_start"]
    search_fields = ["team_name", "user_name", "project_name", "reason", "=response_ref"]
    date_hierarchy = "created_at"
    list_select_related = ["price_version"]
    show_full_result_count = False  # the ledger grows without end: no COUNT(*) per page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UsageEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UsageEntry | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = self.admin_site.admin_view(self.export_csv)
        return [path("export.csv", export, name="billing_usageentry_export"), *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> StreamingHttpResponse | HttpResponseRedirect:
        """The rows the change list shows with its filters and search, streamed a chunk at a time."""
        if not self.has_view_permission(request):
            messages.error(request, "You may not see the ledger.")
            return HttpResponseRedirect(reverse("admin:index"))
        changelist = self.get_changelist_instance(request)
        rows = changelist.get_queryset(request)
        name = f"ledger-{timezone.now():%Y%m%d-%H%M}.csv"
        return download(request, reports.csv_lines(rows), content_type="text/csv; charset=utf-8", filename=name)
