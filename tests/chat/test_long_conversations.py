"""Long conversations stay light: the page renders its newest turns with a fixed number of queries
whatever the length, older turns come a page at a time, and a reconnecting socket sends only what
changed since the page was rendered."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.accounts.models import User
from studio.chat.fragments import NEWEST_SHOWN, BranchView
from studio.chat.models import Conversation, Response, Turn
from studio.chat.versions import PAGE
from tests.live_emulator import LiveEmulator
from tests.studio_world import PASSWORD, grow, make_conversation, make_project, make_user, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _short_and_long(name: str, *, turns: tuple[int, int], images: int) -> tuple[User, Conversation, Conversation]:
    """One person's project with a short and a long conversation, every image generated."""
    user = make_user(name)
    project = make_project(user, f"{name}'s project")
    short, long = make_conversation(user, project), make_conversation(user, project)
    grow(short, user, turns[0], images)
    grow(long, user, turns[1], images)
    return user, short, long


def _page(client: Client, conversation: Conversation) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/c/{conversation.pk}/")
    assert page.status_code == 200
    return page.content.decode(), len(queries)


def test_a_100_turn_page_costs_what_a_10_turn_page_costs(gemini: LiveEmulator) -> None:
    user = make_user("lou")
    project = make_project(user, "Long")
    short, long = make_conversation(user, project), make_conversation(user, project)
    grow(short, user, 10, 4)
    made = grow(long, user, 100, 4)
    client = Client()
    client.login(username="lou", password=PASSWORD)

    short_html, short_queries = _page(client, short)
    long_html, long_queries = _page(client, long)
    assert long_queries == short_queries, "the same queries whatever the length"
    assert len(long_html.encode()) < 300_000, f"{len(long_html.encode())} bytes"
    shown = re.findall(r'<section id="turn-(\d+)"', long_html)
    assert [int(pk) for pk in shown] == [t.pk for t in made[-NEWEST_SHOWN:]], "the newest turns, oldest first"
    assert "Show 90 earlier turns" in long_html and "earlier turn" not in short_html
    picker = long_html.split('class="picker-panel')[1].split("</details>")[0]
    assert picker.count("data-src=") == 24 and " src=" not in picker, "its thumbnails load when it is opened"

    # Scrolling up: the ten before, then the ten before those, until the first has no button.
    before, pages = made[-NEWEST_SHOWN].pk, 0
    while True:
        with CaptureQueriesContext(connection) as queries:
            older = client.get(f"/c/{long.pk}/older", {"leaf": made[-1].pk, "before": before})
        assert older.status_code == 200 and len(queries) <= short_queries
        ids = [int(pk) for pk in re.findall(r'<section id="turn-(\d+)"', older.content.decode())]
        index = [t.pk for t in made].index(before)
        assert ids == [t.pk for t in made[max(0, index - NEWEST_SHOWN) : index]]
        pages += 1
        if "earlier turn" not in older.content.decode():
            break
        before = ids[0]
    assert pages == 9 and ids[0] == made[0].pk

    # The versions page: a page of cards at a time, the rest on request.
    with CaptureQueriesContext(connection) as queries:
        versions = client.get(f"/c/{long.pk}/versions").content.decode()
    assert versions.count('class="card version-card"') == PAGE and "Show 352 more versions" in versions
    assert len(versions.encode()) < 100_000 and len(queries) < 20
    more = client.get(f"/c/{long.pk}/versions", {"from": PAGE}).content.decode()
    assert "<html" not in more and more.count('class="card version-card"') == PAGE
    assert "(continued)" in more and f"?from={2 * PAGE}" in more and "Show 304 more versions" in more


def test_an_idle_pages_reconnect_costs_the_same_at_any_length(gemini: LiveEmulator) -> None:
    user, short, long = _short_and_long("rey", turns=(3, 30), images=2)
    later = timezone.now() + dt.timedelta(seconds=10)  # the page was rendered after everything finished
    sizes = [
        len(BranchView(conversation=c, leaf_id=None, can_write=True, since=later).snapshot()) for c in (short, long)
    ]
    assert sizes[0] == sizes[1] - (len(long.title) - len(short.title)) * 2 and sizes[1] < 1_000, sizes

    # Without `since` (a page that knows nothing), the newest turns come whole, never the full history.
    full = BranchView(conversation=long, leaf_id=None, can_write=True).snapshot()
    assert full.count('<section id="turn-') == NEWEST_SHOWN

    # A turn added after the page was rendered is in the reconnect's snapshot, with nothing else.
    minute_ago = timezone.now() - dt.timedelta(minutes=1)  # the history is older than the snapshot's margin
    Turn.objects.filter(conversation=long).update(created_at=minute_ago)
    Response.objects.filter(turn__conversation=long).update(started_at=minute_ago, finished_at=minute_ago)
    rendered = timezone.now()
    added = submit(long, user, "one more, after the page was rendered")
    since = BranchView(conversation=long, leaf_id=None, can_write=True, since=rendered).snapshot()
    assert re.findall(r'<section id="turn-(\d+)"', since) == [str(added.pk)]


def test_a_new_turns_socket_event_costs_the_same_at_any_length(gemini: LiveEmulator) -> None:
    user, short, long = _short_and_long("eve", turns=(2, 25), images=1)
    costs = []
    for conversation in (short, long):
        view = BranchView(conversation=conversation, leaf_id=None, can_write=True)
        turn = submit(conversation, user, "one more")
        with CaptureQueriesContext(connection) as queries:
            html = view.event({"kind": "turn", "turn_id": turn.pk})
        assert f'id="turn-{turn.pk}"' in html
        costs.append((len(queries), sum(len(q["sql"]) for q in queries.captured_queries)))
    (short_queries, short_sql), (long_queries, long_sql) = costs
    assert short_queries == long_queries, costs
    # The same rows too: only the new turn is loaded whole, not every turn of the branch.
    assert abs(long_sql - short_sql) < 60, costs
