"""Teams: invitations (by link and email; expiry, revoke, reuse, wrong account), roles, removal,
leaving, ownership transfer, a team that always keeps an owner, and the audit log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from studio.accounts import services
from studio.accounts.models import AuditEvent, Invitation, Membership, Role, Team, User
from tests.accounts.test_accounts import SECRET, link_in
from tests.studio_world import make_user

pytestmark = pytest.mark.django_db


def team_with_owner(name: str = "Design") -> tuple[Team, Membership]:
    owner = make_user(f"{name.lower()}owner")
    team = services.team_create(user=owner, name=name)
    return team, Membership.objects.get(team=team, user=owner)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite_link(client: Client, team: Team, **fields: str) -> str:
    answer = client.post(f"/teams/{team.pk}/invite", {"role": "member", "days": "7", **fields}, follow=True)
    found = re.search(r'id="new-link"[^>]*value="http://testserver([^"]+)"', answer.content.decode())
    assert found, answer.content.decode()[-2000:]
    return found.group(1)


def test_invite_by_link_and_accept_with_one_click() -> None:
    team, owner = team_with_owner()
    link = invite_link(logged_in(owner.user), team, role="viewer")
    guest = make_user("gus")
    page = logged_in(guest).get(link)
    assert b"Join Design" in page.content and b"viewer" in page.content
    joined = logged_in(guest).post(link, follow=True)
    assert b"You joined Design as viewer." in joined.content
    assert Membership.objects.get(team=team, user=guest).role == Role.VIEWER
    reused = make_user("ray")
    again = logged_in(reused).post(link)
    assert b"already been used" in again.content
    assert not Membership.objects.filter(team=team, user=reused).exists()


def test_a_new_person_joins_through_sign_up(mailoutbox: list[mail.EmailMessage]) -> None:
    team, owner = team_with_owner()
    link = invite_link(logged_in(owner.user), team)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    visitor = Client()
    landing = visitor.get(link)
    assert f"/signup/?invite={token}" in landing.content.decode()
    visitor.post(f"/signup/?invite={token}", {"username": "newbie", "email": "newbie@example.com", "password": SECRET})
    confirm = next(m for m in mailoutbox if m.to == ["newbie@example.com"])
    arrived = visitor.get(link_in(confirm), follow=True)
    assert b"Join Design" in arrived.content  # the confirmation leads back to the invitation
    visitor.post(link)
    assert Membership.objects.get(team=team, user__username="newbie").role == Role.MEMBER


def test_email_invitations_are_mailed_and_only_for_that_address(mailoutbox: list[mail.EmailMessage]) -> None:
    team, owner = team_with_owner()
    invite_link(logged_in(owner.user), team, email="Pat@Example.com")
    (message,) = mailoutbox
    assert message.to == ["pat@example.com"] and "invited you to Design" in message.subject
    link = link_in(message)
    wrong = make_user("quinn")
    refused = logged_in(wrong).post(link)
    assert b"This invitation is for pat@example.com" in refused.content
    assert not Membership.objects.filter(team=team, user=wrong).exists()
    pat = User.objects.create_user(username="pat", email="pat@example.com", password=SECRET)
    logged_in(pat).post(link)
    assert Membership.objects.filter(team=team, user=pat).exists()


def test_expired_and_revoked_invitations_do_not_work() -> None:
    team, owner = team_with_owner()
    client = logged_in(owner.user)
    expired_link = invite_link(client, team)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert b"has expired" in Client().get(expired_link).content
    revoked_link = invite_link(client, team)
    pending = Invitation.objects.get(revoked_at__isnull=True, expires_at__gt=timezone.now())
    client.post(f"/teams/{team.pk}/invitations/{pending.pk}/revoke")
    guest = make_user("vera")
    assert b"was withdrawn" in logged_in(guest).post(revoked_link).content
    assert not Membership.objects.filter(team=team, user=guest).exists()
    assert Client().get("/invite/not-a-real-token/").status_code == 404


def test_role_rules_and_a_team_always_keeps_an_owner() -> None:
    team, owner = team_with_owner()
    admin = services.team_add_member(team=team, user=make_user("adam"), role=Role.ADMIN)
    member = services.team_add_member(team=team, user=make_user("mia"), role=Role.MEMBER)
    with pytest.raises(services.TeamError, match="only owners make owners"):
        services.membership_change_role(actor=admin, target=member, role=Role.OWNER)
    with pytest.raises(services.TeamError, match="Only owners can change an owner"):
        services.membership_change_role(actor=admin, target=owner, role=Role.MEMBER)
    with pytest.raises(services.TeamError, match="Only the team's admins"):
        services.membership_remove(actor=member, target=admin)
    with pytest.raises(services.TeamError, match="always keeps an owner"):
        services.membership_change_role(actor=owner, target=owner, role=Role.ADMIN)
    with pytest.raises(services.TeamError, match="last owner"):
        services.team_leave(membership=owner)
    services.membership_change_role(actor=admin, target=member, role=Role.VIEWER)
    assert Membership.objects.get(pk=member.pk).role == Role.VIEWER
    services.membership_remove(actor=admin, target=member)
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_ownership_transfer_then_the_old_owner_can_leave() -> None:
    team, owner = team_with_owner()
    heir = services.team_add_member(team=team, user=make_user("hal"), role=Role.MEMBER)
    answer = logged_in(owner.user).post(f"/teams/{team.pk}/members/{heir.pk}/owner", follow=True)
    assert b"is now an owner; you are an admin" in answer.content
    assert Membership.objects.get(pk=heir.pk).role == Role.OWNER
    assert Membership.objects.get(pk=owner.pk).role == Role.ADMIN
    logged_in(owner.user).post(f"/teams/{team.pk}/leave")
    assert not Membership.objects.filter(pk=owner.pk).exists()
    personal = Membership.objects.get(user=heir.user, team__is_personal=True)
    with pytest.raises(services.TeamError, match="personal team"):
        services.team_leave(membership=personal)


def test_every_change_is_in_the_audit_log_for_admins_only() -> None:
    team, owner = team_with_owner()
    client = logged_in(owner.user)
    invite_link(client, team, email="x@example.com", role="viewer")
    member = services.team_add_member(team=team, user=make_user("mo"), role=Role.MEMBER)
    client.post(f"/teams/{team.pk}/members/{member.pk}/role", {"role": "admin"}, REMOTE_ADDR="192.0.2.7")
    actions = list(AuditEvent.objects.filter(team=team).values_list("action", "actor_name", "target"))
    assert ("team.created", "designowner", "Design") in actions
    assert ("invitation.created", "designowner", "x@example.com") in actions
    assert ("member.role_changed", "designowner", "mo") in actions
    changed = AuditEvent.objects.get(action="member.role_changed")
    assert changed.detail == {"before": "member", "after": "admin"} and changed.ip == "192.0.2.7"
    page = client.get(f"/teams/{team.pk}/").content.decode()
    assert "Audit log" in page and "member.role_changed · mo (member → admin)" in page
    viewer = services.team_add_member(team=team, user=make_user("vi"), role=Role.VIEWER)
    assert "Audit log" not in logged_in(viewer.user).get(f"/teams/{team.pk}/").content.decode()


def test_other_teams_are_404_and_viewers_cannot_manage() -> None:
    team, _ = team_with_owner()
    outsider = make_user("otto")
    for url in (f"/teams/{team.pk}/", f"/?team={team.pk}"):
        assert logged_in(outsider).get(url).status_code == 404, url
    assert logged_in(outsider).post(f"/teams/{team.pk}/invite", {"role": "member", "days": "7"}).status_code == 404
    viewer = services.team_add_member(team=team, user=make_user("val"), role=Role.VIEWER)
    refused = logged_in(viewer.user).post(f"/teams/{team.pk}/invite", {"role": "member", "days": "7"}, follow=True)
    assert b"Only the team&#x27;s admins and owners" in refused.content
    assert not Invitation.objects.exists()


def test_create_a_team_and_switch_to_it_in_the_header() -> None:
    user = make_user("sue")
    client = logged_in(user)
    made = client.post("/teams/", {"name": "Launch crew"}, follow=True)
    team = Team.objects.get(name="Launch crew")
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    assert f'href="/?team={team.pk}"' in made.content.decode()  # the header's switcher
    home = client.get(f"/?team={team.pk}").content.decode()
    assert "in Launch crew" in home


def test_the_project_form_offers_only_teams_the_person_can_write_to() -> None:
    team, _ = team_with_owner("Readers")
    viewer = make_user("wyn")
    services.team_add_member(team=team, user=viewer, role=Role.VIEWER)
    other, _ = team_with_owner("Makers")
    services.team_add_member(team=other, user=viewer, role=Role.MEMBER)
    home = logged_in(viewer).get("/").content.decode()
    options = re.findall(
        r'<option value="(\d+)"[^>]*>([^<]+)</option>', home.split('id="id_team"')[1].split("</select>")[0]
    )
    assert sorted(name for _, name in options) == ["Makers", "wyn&#x27;s team"]


def test_viewers_see_project_settings_as_text_not_disabled_inputs() -> None:
    from studio.chat import services as chat

    team, owner = team_with_owner("Gallery")
    project = chat.project_create(
        team=team, membership=owner, user=owner.user, name="Walls", system_instruction="Muted tones"
    )
    viewer = services.team_add_member(team=team, user=make_user("yaz"), role=Role.VIEWER)
    page = logged_in(viewer.user).get(f"/p/{project.pk}/").content.decode()
    settings_part = page.split('id="settings-heading"')[1]
    assert "Muted tones" in settings_part and "Gemini 3 Pro Image (studio default)" in settings_part
    assert "<select" not in settings_part and "<textarea" not in settings_part
    assert "Save settings" not in settings_part


def test_only_owners_delete_a_team_with_everything_in_it() -> None:
    from studio.chat import services as chat
    from studio.chat.models import Project

    team, owner = team_with_owner("Doomed")
    admin = services.team_add_member(team=team, user=make_user("ada"), role=Role.ADMIN)
    chat.project_create(team=team, membership=owner, user=owner.user, name="Posters")
    refused = logged_in(admin.user).post(f"/teams/{team.pk}/delete", {"confirm": "Doomed"}, follow=True)
    assert b"Only the team&#x27;s owners can delete it." in refused.content
    typo = logged_in(owner.user).post(f"/teams/{team.pk}/delete", {"confirm": "doomed"}, follow=True)
    assert b"type the team&#x27;s name exactly" in typo.content and Team.objects.filter(pk=team.pk).exists()
    logged_in(owner.user).post(f"/teams/{team.pk}/delete", {"confirm": "Doomed"})
    assert not Team.objects.filter(pk=team.pk).exists() and not Project.objects.filter(name="Posters").exists()
    assert AuditEvent.objects.filter(action="team.deleted", team_name="Doomed").exists()
    personal = Membership.objects.get(user=owner.user, team__is_personal=True)
    with pytest.raises(chat.ChatError, match="personal team"):
        chat.team_delete(membership=personal, typed=personal.team.name)
