"""Reads for accounts: who may see what."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Membership, Team, User


def teams_for_user(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("-is_personal", "name")


def membership_for(*, user: User, team_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team_id=team_id).select_related("team").first()
