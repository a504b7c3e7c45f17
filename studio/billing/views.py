"""Usage pages: a team's (its admins and owners) and each person's own, with CSV downloads."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from studio.accounts.models import Membership, User
from studio.accounts.selectors import team_for_member, teams_for_user

from . import reports
from .periods import next_period, period_start
from .selectors import member_today, quota_of, team_budget


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _manager(request: HttpRequest, team_id: int) -> Membership:
    membership = team_for_member(user=_user(request), team_id=team_id)  # other teams: 404
    if not membership.can_manage:
        raise PermissionDenied("Only the team's admins and owners see its usage; your own is under Usage.")
    return membership


def _period(request: HttpRequest, reset_day: int) -> dt.date:
    """The period a page shows: ?period=YYYY-MM-DD (any day in it), else the current one."""
    try:
        day = dt.date.fromisoformat(request.GET.get("period", ""))
    except ValueError:
        day = timezone.localdate()
    return period_start(day, reset_day)


def _previous(start: dt.date, reset_day: int) -> dt.date:
    return period_start(start - dt.timedelta(days=1), reset_day)


@login_required
@require_GET
def team_usage(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = _manager(request, team_id)
    team = membership.team
    quota = quota_of(team)
    reset_day = quota.reset_day if quota else 1
    start = _period(request, reset_day)
    end = next_period(start)
    current = start == period_start(timezone.localdate(), reset_day)
    data = reports.usage(start, end, team=team)
    context = {
        "team": team,
        "membership": membership,
        "usage": data,
        "chart": data.chart(),
        "budget": team_budget(team) if current else None,
        "current": current,
        "previous": _previous(start, reset_day),
        "next": end if not current else None,
        "scope": "team",
    }
    return render(request, "billing/usage.html", context)


@login_required
@require_GET
def team_usage_csv(request: HttpRequest, team_id: int) -> StreamingHttpResponse:
    membership = _manager(request, team_id)
    quota = quota_of(membership.team)
    start = _period(request, quota.reset_day if quota else 1)
    rows = reports.entries_in(start, next_period(start), team=membership.team)
    return _csv(rows, f"usage-team-{team_id}-{start.isoformat()}.csv")


def _month(request: HttpRequest) -> dt.date:
    return _period(request, 1)


@login_required
@require_GET
def my_usage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    start = _month(request)
    end = next_period(start)
    current = start == period_start(timezone.localdate(), 1)
    data = reports.usage(start, end, user=user)
    today = [(team, member_today(team, user)) for team in teams_for_user(user=user)] if current else []
    context = {
        "usage": data,
        "chart": data.chart(),
        "current": current,
        "previous": _previous(start, 1),
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
    return _csv(rows, f"usage-mine-{start.isoformat()}.csv")


def _csv(rows: object, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(reports.csv_lines(rows), content_type="text/csv; charset=utf-8")  # type: ignore[arg-type]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
