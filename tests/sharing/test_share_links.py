"""Share links: secret and hashed, read-only, only the shared branch, as much as the link allows,
password-gated and throttled, within the team's policy, live, and closed at once when revoked."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from studio.accounts.models import AuditEvent, Role, SharePolicy
from studio.accounts.services import team_add_member
from studio.chat.models import Conversation, ImageVersion
from studio.realtime.routing import websocket_urlpatterns
from studio.sharing.models import ShareLink
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def share(client: Client, conversation: Conversation, **fields: Any) -> str:
    data = {"expiry": "7", "show_prompts": "on", **fields}
    page = client.post(f"/c/{conversation.pk}/share", data, follow=True).content.decode()
    found = re.search(r'id="new-share-link"[^>]*value="http://testserver(/s/[^"]+/)"', page)
    assert found, page[-1500:]
    return found.group(1)


def generated(gemini: LiveEmulator, prompt: str = "a lighthouse") -> tuple[Any, Conversation]:
    owner = make_user("olga")
    conversation = make_conversation(owner)
    submit(conversation, owner, prompt)
    run_all()
    return owner, conversation


def test_a_link_is_secret_hashed_and_shows_the_branch_read_only(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    path = share(client_for(owner), conversation)
    token = path.split("/")[2]
    assert len(token) >= 43  # 32 random bytes: 256 bits
    link = ShareLink.objects.get()
    assert token not in link.token_hash and len(link.token_hash) == 64
    page = Client().get(path)
    html = page.content.decode()
    assert page.status_code == 200 and "a lighthouse" in html and "Shared read-only" in html
    assert 'id="composer"' not in html and "Regenerate" not in html and "Edit this" not in html
    image = ImageVersion.objects.get(is_thought=False)
    thumb = f"{path}m/thumb/{image.pk}"
    assert thumb in html and Client().get(thumb).status_code == 200
    assert Client().get(f"{path}m/image/{image.pk}").status_code == 404  # no downloads on this link
    assert ShareLink.objects.get().views == 1 and ShareLink.objects.get().last_access_at is not None
    assert AuditEvent.objects.filter(action="share_link.created").exists()


def test_what_a_link_shows_follows_its_choices(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    hidden = share(client_for(owner), conversation, show_prompts="")
    html = Client().get(hidden).content.decode()
    assert "Prompt not shared." in html and "a lighthouse" not in html.split('id="turns"')[1]
    assert "Thoughts" not in html
    full = share(client_for(owner), conversation, show_thoughts="on", allow_downloads="on")
    image = ImageVersion.objects.get(is_thought=False)
    opened = Client().get(f"{full}m/image/{image.pk}")
    assert opened.status_code == 200 and opened["Content-Type"] == image.mime_type
    assert "Thoughts" in Client().get(full).content.decode()


def test_only_the_shared_branch_is_visible(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    path = share(client_for(owner), conversation)
    submit(conversation, owner, "a second turn after sharing")
    run_all()
    later = ImageVersion.objects.filter(is_thought=False).order_by("-pk").first()
    assert later is not None
    assert "a second turn after sharing" not in Client().get(path).content.decode()
    assert Client().get(f"{path}m/thumb/{later.pk}").status_code == 404


def test_expired_revoked_and_unknown_links(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    path = share(client_for(owner), conversation)
    ShareLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = Client().get(path)
    assert expired.status_code == 410 and b"This link has expired" in expired.content
    second = share(client_for(owner), conversation, expiry="never")
    link = ShareLink.objects.get(expires_at__isnull=True)
    client_for(owner).post(f"/links/{link.pk}/revoke")
    revoked = Client().get(second)
    assert revoked.status_code == 410 and b"This link was revoked" in revoked.content
    image = ImageVersion.objects.get(is_thought=False)
    assert Client().get(f"{second}m/thumb/{image.pk}").status_code == 404
    assert Client().get("/s/not-a-real-token/").status_code == 404


def test_password_links_and_their_throttle(
    gemini: LiveEmulator, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    import django_ratelimit.core

    from tests.accounts.test_accounts import FakeClock

    monkeypatch.setattr(django_ratelimit.core, "time", FakeClock())
    settings.STUDIO_THROTTLE_SHARE_LINK = "3/15m"
    owner, conversation = generated(gemini)
    path = share(client_for(owner), conversation, password="harbour lights")
    visitor = Client()
    gate = visitor.get(path)
    assert b"has a password" in gate.content and b"a lighthouse" not in gate.content
    image = ImageVersion.objects.get(is_thought=False)
    assert visitor.get(f"{path}m/thumb/{image.pk}").status_code == 404
    assert visitor.post(path, {"password": "wrong one"}).status_code == 401
    assert visitor.post(path, {"password": "harbour lights"}, follow=True).content.count(b"a lighthouse") >= 1
    assert visitor.get(f"{path}m/thumb/{image.pk}").status_code == 200
    guesser = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(3):
        guesser.post(path, {"password": "guess"})
    refused = guesser.post(path, {"password": "harbour lights"})
    assert refused.status_code == 429 and b"Too many attempts" in refused.content


def test_the_teams_policy_and_who_may_revoke(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    team = conversation.project.team
    member = make_user("mel")
    team_add_member(team=team, user=member, role=Role.MEMBER)
    client_for(owner).post(f"/teams/{team.pk}/links/", {"policy": SharePolicy.PASSWORD})
    refused = client_for(member).post(f"/c/{conversation.pk}/share", {"expiry": "7"}, follow=True)
    assert b"only with a password" in refused.content and not ShareLink.objects.exists()
    share(client_for(owner), conversation, password="a long password")
    link = ShareLink.objects.get()
    client_for(member).post(f"/links/{link.pk}/revoke")
    assert ShareLink.objects.get().revoked_at is None, "a member cannot revoke another's link"
    listing = client_for(owner).get(f"/teams/{team.pk}/links/").content.decode()
    assert "olga" in listing and "password" in listing and "Revoke" in listing
    client_for(owner).post(f"/teams/{team.pk}/links/", {"policy": SharePolicy.OFF})
    blocked = client_for(owner).post(
        f"/c/{conversation.pk}/share", {"expiry": "7", "password": "a long password"}, follow=True
    )
    assert b"does not allow share links" in blocked.content
    assert client_for(member).post(f"/teams/{team.pk}/links/", {"policy": "open"}, follow=True).status_code == 200
    assert conversation.project.team.__class__.objects.get(pk=team.pk).share_links == SharePolicy.OFF


def test_the_share_socket_is_live_and_closes_when_revoked(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    path = share(client_for(owner), conversation)
    token = path.split("/")[2]
    link = ShareLink.objects.get()

    async def scenario() -> None:
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/share/{token}/")
        socket.scope["user"] = AnonymousUser()
        socket.scope["session"] = {}
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_from(timeout=10)
        assert 'beforeend:#turns"' in snapshot and "a lighthouse" in snapshot and "Regenerate" not in snapshot
        await sync_to_async(lambda: client_for(owner).post(f"/links/{link.pk}/revoke"))()
        notice = await socket.receive_from(timeout=10)
        assert "This link was revoked" in notice
        assert await socket.receive_output(timeout=10) == {"type": "websocket.close", "code": 4410}

    asyncio.run(scenario())


def test_continue_as_a_copy_keeps_signatures_so_editing_works(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    first = conversation.turns.get()
    submit(conversation, owner, "make it night", parent=first.responses.get())
    run_all()
    path = share(client_for(owner), conversation)
    visitor = make_user("vince")
    own_project = make_conversation(visitor).project
    client = client_for(visitor)
    page = client.get(path).content.decode()
    assert "Continue as a copy in" in page and Client().get(path).content.decode().count("Copy and continue") == 0
    answer = client.post(f"{path}copy", {"project": own_project.pk}, follow=True)
    copy = Conversation.objects.filter(project=own_project).exclude(turns=None).get()
    assert b"Copied into" in answer.content
    copied_turns = list(copy.turns.order_by("created_at"))
    assert [t.prompt for t in copied_turns] == ["a lighthouse", "make it night"]
    assert copied_turns[1].parent_response is not None and copied_turns[1].parent_response.turn == copied_turns[0]
    last = copied_turns[1].responses.get()
    image_ids = [p["image"] for p in last.parts if "image" in p]
    assert image_ids and all(ImageVersion.objects.filter(pk=i, response=last).exists() for i in image_ids)
    assert last.thoughts_text == "" and not last.images.filter(is_thought=True).exists()  # thoughts not shared
    # Editing the copy replays the copied, signed history: the strict emulator accepts it.
    edit = submit(copy, visitor, "add a moon", parent=last)
    run_all()
    assert edit.responses.get().status == "succeeded", edit.responses.get().error_message
    # A stranger's project is not a target.
    stranger_project = make_conversation(make_user("sten")).project
    assert client.post(f"{path}copy", {"project": stranger_project.pk}).status_code == 404


def test_revoke_returns_only_to_pages_of_this_site(gemini: LiveEmulator) -> None:
    owner, conversation = generated(gemini)
    share(client_for(owner), conversation)
    link = ShareLink.objects.get()
    back = f"/c/{conversation.pk}/share"
    assert client_for(owner).post(f"/links/{link.pk}/revoke", {"back": back})["Location"] == back
    for hostile in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        assert client_for(owner).post(f"/links/{link.pk}/revoke", {"back": hostile})["Location"] == "/"
