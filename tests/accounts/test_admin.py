"""The Django admin: call records read-only, the audit log append-only, Groups gone, teams with their
members and invitations inline."""

from __future__ import annotations

import pytest
from django.test import Client

from studio.accounts import services
from tests.studio_world import make_conversation, make_user, submit

pytestmark = pytest.mark.django_db


def staff() -> Client:
    admin = make_user("boss")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


def test_admin_pages_are_tidy() -> None:
    client = staff()
    user = make_user("ann")
    team = services.team_create(user=user, name="Crew")
    turn = submit(make_conversation(user), user, "a lighthouse")
    response = turn.responses.get()
    index = client.get("/admin/").content.decode()
    assert "/admin/auth/group/" not in index and "Audit events" in index and "Site policy" in index
    page = client.get(f"/admin/chat/response/{response.pk}/change/").content.decode()
    for name in ("status", "cost_usd", "seed", "attempts", "parts"):
        assert f'name="{name}"' not in page, f"{name} must be read-only"
    assert f"{response.seed}" in page
    team_page = client.get(f"/admin/accounts/team/{team.pk}/change/").content.decode()
    assert "Memberships" in team_page and "Invitations" in team_page
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    audit = client.get("/admin/accounts/auditevent/").content.decode()
    assert "team.created" in audit
