"""Usage pages: a team's (its admins and owners) and each person's own, with CSV downloads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from studio.accounts.models import Membership, User
from studio.accounts.selectors import team_for_member, teams_for_user
from studio.accounts.views import client_ip
from studio.ops.streaming import download

from . import reports, services
from .models import Quota
from .periods import day_or_today, next_period
from .selectors import member_today, period_for, quota_of, team_budget


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _manager(request: HttpRequest, team_id: int) -> Membership:
    membership = team_for_member(user=_user(request), team_id=team_id)  # other teams: 404
    if not membership.can_manage:
        raise PermissionDenied("Only the team's admins and owners see its usage; your own is under Usage.")
    return membership


def _period(request: HttpRequest, quota: Quota | None) -> dt.date:
    """The period a page shows: ?period=YYYY-MM-DD (any day in it), else the current one."""
    return period_for(quota, day_or_today(request.GET.get("period", ""), timezone.localdate()))


def _previous(start: dt.date, quota: Quota | None) -> dt.date:
    return period_for(quota, start - dt.timedelta(days=1))


@login_required
@require_GET
def team_usage(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = _manager(request, team_id)
    team = membership.team
    quota = quota_of(team)
    start = _period(request, quota)
    end = next_period(start)
    current = start == period_for(quota, timezone.localdate())
    data = reports.usage(start, end, team=team)
    context = {
        "team": team,
        "membership": membership,
        "usage": data,
        "chart": data.chart(),
        "budget": team_budget(team) if current else None,
        "current": current,
        "previous": _previous(start, quota),
        "next": end if not current else None,
        "scope": "team",
        "quota": quota,
    }
    return render(request, "billing/usage.html", context)


@login_required
@require_POST
def team_confirm_threshold(request: HttpRequest, team_id: int) -> HttpResponse:
    """Admins and owners set above which estimate their team's sends ask first (empty: never)."""
    membership = _manager(request, team_id)
    quota = quota_of(membership.team) or Quota.objects.create(team=membership.team)
    text = request.POST.get("confirm_above_usd", "").strip()
    try:
        value = Decimal(text).quantize(Decimal("0.01")) if text else None
        services.confirm_threshold_set(quota=quota, value=value, by=_user(request), ip=client_ip(request))
    except (InvalidOperation, ValueError):
        messages.error(request, "The threshold must be an amount in dollars, such as 0.50, or empty for never.")
    else:
        messages.success(
            request, f"Sends above ${value} now ask first." if value is not None else "Sends never ask first now."
        )
    return redirect("billing:team_usage", team_id=team_id)


@login_required
@require_GET
def team_usage_csv(request: HttpRequest, team_id: int) -> StreamingHttpResponse:
    membership = _manager(request, team_id)
    start = _period(request, quota_of(membership.team))
    rows = reports.entries_in(start, next_period(start), team=membership.team)
    return _csv(request, rows, f"usage-team-{team_id}-{start.isoformat()}.csv")


def _month(request: HttpRequest) -> dt.date:
    return _period(request, None)  # a person's own usage: calendar months


@login_required
@require_GET
def my_usage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    start = _month(request)
    end = next_period(start)
    current = start == period_for(None, timezone.localdate())
    data = reports.usage(start, end, user=user)
    today = [(team, member_today(team, user)) for team in teams_for_user(user=user)] if current else []
    context = {
        "usage": data,
        "chart": data.chart(),
        "current": current,
        "previous": _previous(start, None),
        "next": end if not current else None,
        "scope": "me",
        "today": today,
        "managed": Membership.objects.filter(user=user, role__in=("owner", "admin")).select_related("team"),
    }
    return render(request, "billing/usage.html", context)


@login_required
@require_GET
def my_usage_csv(request: HttpRequest) -> StreamingHttpResponse:
    start = _month(request)
    rows = reports.entries_in(start, next_period(start), user=_user(request))
    return _csv(request, rows, f"usage-mine-{start.isoformat()}.csv")


def _csv(request: HttpRequest, rows: object, filename: str) -> StreamingHttpResponse:
    return download(request, reports.csv_lines(rows), content_type="text/csv; charset=utf-8", filename=filename)  # type: ignore[arg-type]
