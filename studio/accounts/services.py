"""Writes for accounts and teams. Every user is born with a personal team they own; a team always
keeps an owner; every change to who is in a team, and with what role, leaves an audit event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditEvent, Invitation, Membership, Role, Team, User, new_token, role_rank, token_digest

INVITATION_DAYS = (1, 7, 30)


class TeamError(ValueError):
    """A team change we refuse, with a message for the person who asked."""


def audit(
    *, team: Team | None, actor: User | None, action: str, target: str = "", ip: str | None = None, **detail: Any
) -> None:
    AuditEvent.objects.create(
        team=team,
        team_name=team.name if team else "",
        actor=actor,
        actor_name=actor.username if actor else "system",
        action=action,
        target=target[:200],
        detail=detail,
        ip=ip,
    )


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str, is_active: bool = True) -> User:
    user = User.objects.create_user(username=username, email=email, password=password, is_active=is_active)
    team = Team.objects.create(name=f"{username}'s team", is_personal=True)
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    _default_quota(team)
    return user


def _default_quota(team: Team) -> None:
    from studio.billing.services import quota_for_new_team  # billing builds on accounts, not the reverse

    quota_for_new_team(team)


def user_update_profile(*, user: User, display_name: str) -> User:
    user.display_name = display_name.strip()[:80]
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def team_add_member(*, team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership


@transaction.atomic
def team_create(*, user: User, name: str, ip: str | None = None) -> Team:
    name = name.strip()
    if not name:
        raise TeamError("Give the team a name.")
    team = Team.objects.create(name=name[:120])
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    _default_quota(team)
    audit(team=team, actor=user, action="team.created", target=team.name, ip=ip)
    return team


def _require_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise TeamError("Only the team's admins and owners can manage its members.")


def _grantable(actor: Membership, role: str) -> None:
    if role not in Role.values:
        raise TeamError("Unknown role.")
    if role_rank(role) > actor.rank or (role == Role.OWNER and not actor.is_owner):
        raise TeamError("You can give at most your own role; only owners make owners.")


@transaction.atomic
def invitation_create(
    *, actor: Membership, role: str, email: str = "", days: int = 7, ip: str | None = None
) -> tuple[Invitation, str]:
    """Returns the invitation and its secret token (shown or sent once, never stored)."""
    _require_manager(actor)
    _grantable(actor, role)
    if days not in INVITATION_DAYS:
        raise TeamError("An invitation lasts 1, 7 or 30 days.")
    email = email.strip().lower()
    if email and Membership.objects.filter(team=actor.team, user__email__iexact=email).exists():
        raise TeamError(f"{email} is already in {actor.team.name}.")
    token, digest = new_token()
    invitation = Invitation.objects.create(
        team=actor.team,
        role=role,
        email=email,
        token_hash=digest,
        created_by=actor.user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit(
        team=actor.team,
        actor=actor.user,
        action="invitation.created",
        target=email or "link",
        ip=ip,
        role=role,
        days=days,
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation, ip: str | None = None) -> Invitation:
    _require_manager(actor)
    if invitation.team_id != actor.team_id:
        raise TeamError("That invitation belongs to another team.")
    if invitation.state != "pending":
        raise TeamError(f"That invitation is already {invitation.state}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(team=actor.team, actor=actor.user, action="invitation.revoked", target=invitation.email or "link", ip=ip)
    return invitation


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link names (looked up by the token's hash), whatever its state."""
    return Invitation.objects.select_related("team", "created_by").filter(token_hash=token_digest(token)).first()


def invitation_problem(invitation: Invitation, user: User | None) -> str:
    """Why `user` cannot accept it ("" when they can)."""
    state = invitation.state
    if state == "accepted":
        return "This invitation has already been used. Ask for a new one."
    if state == "revoked":
        return "This invitation was withdrawn. Ask the team's admins for a new one."
    if state == "expired":
        return "This invitation has expired. Ask the team's admins for a new one."
    if user is not None and invitation.email and invitation.email.lower() != user.email.lower():
        return (
            f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
            "Log out and sign in (or sign up) with that address."
        )
    if user is not None and Membership.objects.filter(team=invitation.team, user=user).exists():
        return f"You are already in {invitation.team.name}."
    return ""


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User, ip: str | None = None) -> Membership:
    locked = Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)
    problem = invitation_problem(locked, user)
    if problem:
        raise TeamError(problem)
    membership = Membership.objects.create(team=locked.team, user=user, role=locked.role)
    locked.accepted_by, locked.accepted_at = user, timezone.now()
    locked.save(update_fields=["accepted_by", "accepted_at"])
    audit(team=locked.team, actor=user, action="invitation.accepted", target=user.username, ip=ip, role=locked.role)
    return membership


def _owners(team: Team) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Membership, target: Membership, role: str, ip: str | None = None) -> Membership:
    _require_manager(actor)
    if target.team_id != actor.team_id:
        raise TeamError("That person is in another team.")
    _grantable(actor, role)
    if target.is_owner and not actor.is_owner:
        raise TeamError("Only owners can change an owner's role.")
    Team.objects.select_for_update().get(pk=actor.team_id)  # one role change at a time per team
    if target.is_owner and role != Role.OWNER and _owners(actor.team) == 1:
        raise TeamError("A team always keeps an owner: make someone else owner first.")
    before = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit(
        team=actor.team,
        actor=actor.user,
        action="member.role_changed",
        target=target.user.username,
        ip=ip,
        before=before,
        after=role,
    )
    return target


@transaction.atomic
def membership_remove(*, actor: Membership, target: Membership, ip: str | None = None) -> None:
    _require_manager(actor)
    if target.team_id != actor.team_id:
        raise TeamError("That person is in another team.")
    if target.pk == actor.pk:
        raise TeamError("To leave the team yourself, use Leave team.")
    if target.is_owner and not actor.is_owner:
        raise TeamError("Only owners can remove an owner.")
    Team.objects.select_for_update().get(pk=actor.team_id)
    if target.is_owner and _owners(actor.team) == 1:
        raise TeamError("A team always keeps an owner.")
    target.delete()
    audit(team=actor.team, actor=actor.user, action="member.removed", target=target.user.username, ip=ip)


@transaction.atomic
def team_leave(*, membership: Membership, ip: str | None = None) -> None:
    team = Team.objects.select_for_update().get(pk=membership.team_id)
    if team.is_personal:
        raise TeamError("This is your personal team; it stays with your account.")
    if membership.is_owner and _owners(team) == 1:
        raise TeamError("You are the last owner: transfer ownership to someone else before you leave.")
    membership.delete()
    audit(team=team, actor=membership.user, action="member.left", target=membership.user.username, ip=ip)


@transaction.atomic
def team_transfer_ownership(*, actor: Membership, target: Membership, ip: str | None = None) -> None:
    """The target becomes an owner and the actor an admin, in one step."""
    if not actor.is_owner:
        raise TeamError("Only an owner can hand over ownership.")
    if target.team_id != actor.team_id or target.pk == actor.pk:
        raise TeamError("Pick another member of this team.")
    Team.objects.select_for_update().get(pk=actor.team_id)
    target.role, actor.role = Role.OWNER, Role.ADMIN
    target.save(update_fields=["role"])
    actor.save(update_fields=["role"])
    audit(team=actor.team, actor=actor.user, action="team.ownership_transferred", target=target.user.username, ip=ip)
