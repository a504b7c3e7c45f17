"""Reads for accounts: who may see what."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .models import AuditEvent, Invitation, Membership, Role, Team, User, role_rank


def teams_for_user(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("-is_personal", "name")


def writable_teams(*, user: User) -> QuerySet[Team]:
    """Teams where the person may create projects (not viewer)."""
    return teams_for_user(user=user).exclude(memberships__user=user, memberships__role=Role.VIEWER)


def membership_for(*, user: User, team_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team_id=team_id).select_related("team").first()


def team_for_member(*, user: User, team_id: int) -> Membership:
    """The person's membership of a team; 404 (never 403) for teams they are not in."""
    membership = membership_for(user=user, team_id=team_id)
    if membership is None:
        raise Http404("No such team")
    return membership


def team_members(*, team: Team) -> list[Membership]:
    rows = list(Membership.objects.filter(team=team).select_related("user"))
    return sorted(rows, key=lambda m: (-role_rank(m.role), m.user.username.lower()))


def team_invitations(*, team: Team) -> QuerySet[Invitation]:
    return Invitation.objects.filter(team=team).select_related("created_by", "accepted_by")[:50]


def team_audit(*, team: Team, limit: int = 100) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(team=team)[:limit]


def membership_in_team(*, team: Team, membership_id: int) -> Membership:
    target = Membership.objects.filter(team=team, pk=membership_id).select_related("user", "team").first()
    if target is None:
        raise Http404("No such member")
    return target


def invitation_in_team(*, team: Team, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(team=team, pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation
