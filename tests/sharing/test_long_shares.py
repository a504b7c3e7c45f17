"""A long shared conversation stays as light as the team's page: its newest turns with a fixed number
of queries, older ones a page at a time (only of the shared branch, only past the link's gate), and a
reconnecting socket sends only what changed since the page was rendered."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.chat.fragments import NEWEST_SHOWN
from studio.realtime.routing import websocket_urlpatterns
from studio.sharing.models import ShareLink
from tests.live_emulator import LiveEmulator
from tests.sharing.test_share_links import client_for, share
from tests.studio_world import grow, make_conversation, make_project, make_user, run_queued, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _turn_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<section id="turn-(\d+)"', html)]


def _shown(path: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        page = Client().get(path)
    assert page.status_code == 200
    return page.content.decode(), len(queries)


def test_a_long_shared_branch_renders_its_newest_turns_and_the_rest_on_scrolling_up(gemini: LiveEmulator) -> None:
    owner = make_user("sasha")
    project = make_project(owner, "Shared posters")
    short, long = make_conversation(owner, project), make_conversation(owner, project)
    grow(short, owner, 3)
    made = grow(long, owner, 25)
    short_path, long_path = share(client_for(owner), short), share(client_for(owner), long)

    short_html, short_queries = _shown(short_path)
    long_html, long_queries = _shown(long_path)
    assert long_queries == short_queries, "the same queries whatever the length"
    assert _turn_ids(long_html) == [turn.pk for turn in made[-NEWEST_SHOWN:]], "the newest turns, oldest first"
    assert "Show 15 earlier turns" in long_html and "earlier turn" not in short_html
    assert f"{long_path}older?before={made[-NEWEST_SHOWN].pk}" in long_html

    # Scrolling up: ten, then the last five, with no button left.
    first = Client().get(f"{long_path}older", {"before": made[-NEWEST_SHOWN].pk}).content.decode()
    assert _turn_ids(first) == [turn.pk for turn in made[5:15]] and "Show 5 earlier turns" in first
    last = Client().get(f"{long_path}older", {"before": made[5].pk}).content.decode()
    assert _turn_ids(last) == [turn.pk for turn in made[:5]] and "earlier turn" not in last
    assert f"{long_path}m/thumb/" in last and "/media/" not in last, "images through the link's own URLs"


def test_older_turns_come_only_from_the_shared_branch_and_past_its_gate(gemini: LiveEmulator) -> None:
    owner = make_user("tomas")
    conversation = make_conversation(owner)
    made = grow(conversation, owner, 8)
    side = submit(conversation, owner, "a side branch", parent=made[2].responses.get())
    asyncio.run(run_queued())
    path = share(client_for(owner), conversation)
    ShareLink.objects.update(leaf_turn=made[7])  # the main branch is the one shared
    older = Client().get(f"{path}older", {"before": side.pk, "leaf": side.pk}).content.decode()
    assert _turn_ids(older) == [turn.pk for turn in made], "the link's branch, whatever leaf the visitor names"
    assert _turn_ids(Client().get(f"{path}older", {"before": made[3].pk}).content.decode()) == [
        turn.pk for turn in made[:3]
    ]
    assert Client().get(f"{path}older").status_code == 400

    locked = share(client_for(owner), conversation, password="harbour lights")
    assert Client().get(f"{locked}older", {"before": made[5].pk}).status_code == 404
    ShareLink.objects.update(revoked_at=timezone.now())
    assert Client().get(f"{path}older", {"before": made[5].pk}).status_code == 404


def test_a_reconnecting_share_socket_sends_only_what_changed(gemini: LiveEmulator) -> None:
    owner = make_user("ines")
    conversation = make_conversation(owner)
    grow(conversation, owner, 12)
    token = share(client_for(owner), conversation).split("/")[2]

    async def snapshot(query: str) -> str:
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/share/{token}/{query}")
        socket.scope["user"] = AnonymousUser()
        socket.scope["session"] = {}
        connected, _ = await socket.connect()
        assert connected
        received = await socket.receive_from(timeout=10)
        await socket.disconnect()
        return str(received)

    first = asyncio.run(snapshot(""))
    assert len(_turn_ids(first)) == NEWEST_SHOWN, "a page that knows nothing gets the newest turns"
    idle = asyncio.run(snapshot(f"?since={int(time.time() * 1000) + 10_000}"))
    assert _turn_ids(idle) == [] and len(idle.encode()) < 1_000, f"{len(idle.encode())} bytes"
