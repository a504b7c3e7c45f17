"""The conversation socket: auth and membership first, then a snapshot, then live fragments."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from studio.asgi import application
from studio.realtime.routing import websocket_urlpatterns
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_queued, submit

pytestmark = pytest.mark.django_db(transaction=True)

# Channels waits 1 s by default; a snapshot renders from the database, so give a loaded machine time.
SOCKET_WAIT = 10


def communicator(conversation_id: int, user: Any) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/conversations/{conversation_id}/")
    socket.scope["user"] = user
    return socket


async def receive_until(socket: WebsocketCommunicator, needle: str, timeout: float = 10) -> list[str]:
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            message = await socket.receive_from(timeout=timeout)
            seen.append(message)
            if needle in message:
                return seen


def test_anonymous_is_closed_with_4401() -> None:
    async def scenario() -> None:
        socket = communicator(1, AnonymousUser())
        connected, _ = await socket.connect()
        assert connected
        assert await socket.receive_output(timeout=SOCKET_WAIT) == {"type": "websocket.close", "code": 4401}

    asyncio.run(scenario())


def test_other_team_is_closed_with_4403() -> None:
    owner, stranger = make_user("owner"), make_user("stranger")
    conversation = make_conversation(owner)

    async def scenario() -> None:
        socket = communicator(conversation.pk, stranger)
        await socket.connect()
        assert await socket.receive_output(timeout=SOCKET_WAIT) == {"type": "websocket.close", "code": 4403}
        missing = communicator(999999, stranger)
        await missing.connect()
        assert await missing.receive_output(timeout=SOCKET_WAIT) == {"type": "websocket.close", "code": 4403}

    asyncio.run(scenario())


def test_snapshot_then_live_events(gemini: LiveEmulator) -> None:
    user = make_user("sam")
    conversation = make_conversation(user)
    first = submit(conversation, user, "an old turn")

    async def scenario() -> None:
        socket = communicator(conversation.pk, user)
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_from(timeout=SOCKET_WAIT)
        # Each turn replaces its copy on the page, or is appended: turns loaded by scrolling up stay.
        assert snapshot.startswith('<div hx-swap-oob="beforeend:#turns">\n<section id="turn-')
        assert f'id="turn-{first.pk}"' in snapshot and "an old turn" in snapshot

        turn = await database_sync_to_async(submit)(conversation, user, "a <b>bold</b> new turn", count=2)
        appended = await receive_until(socket, f'id="turn-{turn.pk}"')
        assert 'hx-swap-oob="beforeend:#turns"' in appended[-1]
        assert "a &lt;b&gt;bold&lt;/b&gt; new turn" in appended[-1], "prompts are escaped"

        await run_queued()
        messages = await receive_until(socket, 'class="response response-succeeded"')
        messages += await receive_until(socket, 'class="response response-succeeded"')
        joined = "".join(messages)
        assert "thoughts-" in joined and "status-running" in joined
        assert 'class="response response-succeeded"' in joined
        await database_sync_to_async(_rename)(conversation, user)
        renamed = await receive_until(socket, "Renamed &amp; escaped")
        assert 'id="chat-title"' in renamed[-1]
        crumb = 'id="crumb-title" aria-current="page" class="crumb-current" hx-swap-oob="true">Renamed &amp; escaped<'
        assert crumb in renamed[-1], "the breadcrumb follows the heading"
        await socket.disconnect()

    asyncio.run(scenario())


def _rename(conversation: Any, user: Any) -> None:
    from studio.chat.services import conversation_rename
    from tests.studio_world import personal_membership

    conversation_rename(conversation=conversation, membership=personal_membership(user), title="Renamed & escaped")


def test_a_new_branch_elsewhere_updates_the_shown_switcher(gemini: LiveEmulator) -> None:
    """Someone branches from an image this page shows: the page stays on its branch, and the switcher
    of the turn the new branch forks beside counts it at once."""
    user = make_user("uma")
    conversation = make_conversation(user)
    first = submit(conversation, user, "a barn")
    asyncio.run(run_queued())
    barn = first.responses.get()
    second = submit(conversation, user, "at night", parent=barn)
    asyncio.run(run_queued())

    async def scenario() -> None:
        socket = communicator(conversation.pk, user)
        await socket.connect()
        snapshot = await socket.receive_from(timeout=SOCKET_WAIT)
        assert f'id="turn-{second.pk}"' in snapshot and "branch-switch" not in snapshot
        fork = await database_sync_to_async(submit)(conversation, user, "in snow", parent=barn)
        messages = await receive_until(socket, "branch-switch")
        update = messages[-1]
        assert update.lstrip().startswith(f'<section id="turn-{second.pk}"'), "the shown turn, replaced in place"
        assert "1/2" in update and f'href="?leaf={fork.pk}" class="branch-arrow" aria-label="Next branch"' in update
        assert 'class="branch-peek-prompt">“in snow”' in update, "the arrow says what the new branch holds"
        assert f'id="turn-{fork.pk}"' not in "".join(messages), "the other branch's turn is not appended here"
        await socket.disconnect()

    asyncio.run(scenario())


def test_reconnect_snapshot_shows_the_current_state(gemini: LiveEmulator) -> None:
    user = make_user("tia")
    conversation = make_conversation(user)
    submit(conversation, user, "finish me")
    asyncio.run(run_queued())

    async def scenario() -> None:
        socket = communicator(conversation.pk, user)
        await socket.connect()
        snapshot = await socket.receive_from(timeout=SOCKET_WAIT)
        assert "response-succeeded" in snapshot and "/media/v/" in snapshot
        await socket.disconnect()

    asyncio.run(scenario())


def test_viewer_gets_the_stream_without_controls(gemini: LiveEmulator) -> None:
    from studio.accounts.models import Role
    from tests.studio_world import join, personal_membership

    owner, viewer = make_user("olga"), make_user("vic")
    conversation = make_conversation(owner)
    join(personal_membership(owner).team, viewer, Role.VIEWER)

    async def scenario() -> None:
        socket = communicator(conversation.pk, viewer)
        connected, _ = await socket.connect()
        assert connected
        assert 'id="chat-title"' in await socket.receive_from(timeout=SOCKET_WAIT)  # no turns yet
        await socket.disconnect()

    asyncio.run(scenario())


def test_foreign_origin_is_refused() -> None:
    user = make_user("uma")
    conversation = make_conversation(user)

    async def scenario() -> None:
        socket = WebsocketCommunicator(
            application, f"/ws/conversations/{conversation.pk}/", headers=[(b"origin", b"https://evil.example")]
        )
        connected, _ = await socket.connect()
        assert not connected

    asyncio.run(scenario())


def test_a_lost_turn_event_heals_on_its_first_response_event(gemini: LiveEmulator) -> None:
    """A page whose socket missed a turn's own event (a Redis blip; a turn made by a process whose
    in-memory layer this one cannot hear) draws the turn when the first event of its response comes."""
    from studio.chat.fragments import BranchView

    user = make_user("lena")
    conversation = make_conversation(user)
    first = submit(conversation, user, "a mill")
    asyncio.run(run_queued())
    view = BranchView(conversation=conversation, leaf_id=None, can_write=True)
    unheard = submit(conversation, user, "a mill in the rain", parent=first.responses.get())  # view not told
    html = view.event({"kind": "response", "response_id": unheard.responses.get().pk})
    assert f'id="turn-{unheard.pk}"' in html and "a mill in the rain" in html
    assert unheard.pk in view.shown, "later events of that turn update it in place"

    fork = submit(conversation, user, "a mill in snow", parent=first.responses.get())  # another branch
    response = fork.responses.get().pk
    view.event({"kind": "response", "response_id": response})
    assert fork.pk not in view.shown, "a turn on another branch is not appended"
    assert view.event({"kind": "thoughts", "response_id": response}) == "", "nor looked up again"
