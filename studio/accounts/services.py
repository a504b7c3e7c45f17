"""Writes for accounts: every user is born with a personal team they own."""

from __future__ import annotations

from django.db import transaction

from .models import Membership, Role, Team, User


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str) -> User:
    user = User.objects.create_user(username=username, email=email, password=password)
    team = Team.objects.create(name=f"{username}'s team", is_personal=True)
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return user


@transaction.atomic
def team_add_member(*, team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership
