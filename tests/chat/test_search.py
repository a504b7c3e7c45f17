"""Search: a prompt from another conversation is found and opens that conversation at its turn,
titles and project names match word by word, and nothing from another team is ever shown."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from studio.chat import search, services
from studio.chat.models import Turn
from studio.chat.templatetags.studio_tags import mark_words
from tests.markers import postgres_only
from tests.studio_world import (
    PASSWORD,
    make_conversation,
    make_project,
    make_user,
    personal_membership,
    run_all,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_a_prompt_from_another_conversation_opens_at_its_turn(gemini: object) -> None:
    ada = make_user("ada")
    project = make_project(ada, "Harbour posters")
    first = make_conversation(ada, project)
    submit(first, ada, "a lighthouse at dusk, watercolour")
    second = make_conversation(ada, project)
    submit(second, ada, "a red bicycle against a brick wall")
    run_all()

    page = _signed_in("ada").get(reverse("chat:search"), {"q": "lighthouse"})
    assert page.status_code == 200
    turn = Turn.objects.get(conversation=first)
    link = f"{reverse('chat:conversation', args=[first.pk])}?turn={turn.pk}#turn-{turn.pk}"
    assert link in page.content.decode()
    assert "bicycle" not in page.content.decode()
    assert "<mark>lighthouse</mark>" in page.content.decode()

    opened = _signed_in("ada").get(link.split("#")[0])
    assert f'id="turn-{turn.pk}"' in opened.content.decode()


def test_the_turn_link_opens_the_newest_branch_through_that_turn(gemini: object) -> None:
    ada = make_user("ada")
    conversation = make_conversation(ada)
    root = submit(conversation, ada, "a paper boat")
    run_all()
    parent = root.responses.get()
    left = submit(conversation, ada, "make it blue", parent=parent)
    right = submit(conversation, ada, "make it green", parent=parent)  # the newest branch overall
    run_all()
    assert right.pk > left.pk
    page = _signed_in("ada").get(reverse("chat:conversation", args=[conversation.pk]), {"turn": left.pk})
    html = page.content.decode()
    assert f'id="turn-{left.pk}"' in html and f'id="turn-{right.pk}"' not in html


def test_titles_and_project_names_match_every_word() -> None:
    ada = make_user("ada")
    project = make_project(ada, "Autumn catalogue")
    conversation = make_conversation(ada, project)
    membership = personal_membership(ada)
    services.conversation_rename(conversation=conversation, membership=membership, title="Cover shoot for autumn")
    found = search.search(user=ada, query="AUTUMN cover")
    assert [c.pk for c in found.conversations] == [conversation.pk]
    assert found.projects == []  # "cover" is not in the project's name
    assert [p.pk for p in search.search(user=ada, query="catalogue autumn").projects] == [project.pk]


def test_another_teams_prompts_titles_and_projects_are_never_found(gemini: object) -> None:
    ada, bob = make_user("ada"), make_user("bob")
    theirs = make_conversation(bob, make_project(bob, "Secret lighthouse"))
    services.conversation_rename(conversation=theirs, membership=personal_membership(bob), title="Lighthouse plans")
    submit(theirs, bob, "a lighthouse made of glass")
    found = search.search(user=ada, query="lighthouse")
    assert found.empty
    page = _signed_in("ada").get(reverse("chat:search"), {"q": "lighthouse"})
    assert "glass" not in page.content.decode() and "Nothing matches" in page.content.decode()
    assert not search.search(user=bob, query="lighthouse").empty


def test_an_empty_query_searches_nothing_and_the_page_explains() -> None:
    make_user("ada")
    page = _signed_in("ada").get(reverse("chat:search"), {"q": "   "})
    assert page.status_code == 200 and "Type a few words" in page.content.decode()


def test_search_needs_a_login() -> None:
    page = Client().get(reverse("chat:search"), {"q": "x"})
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_marks_are_escaped() -> None:
    marked = mark_words("<b>lighthouse</b> & Lighthouse", "lighthouse")
    assert marked == "&lt;b&gt;<mark>lighthouse</mark>&lt;/b&gt; &amp; <mark>Lighthouse</mark>"


@postgres_only
def test_postgres_searches_prompts_by_meaning_of_words_through_the_index(gemini: object) -> None:
    ada = make_user("ada")
    conversation = make_conversation(ada)
    submit(conversation, ada, "two lighthouses on rocky cliffs")
    found = search.search(user=ada, query="lighthouse cliff")  # stemmed: plural and singular match
    assert [t.prompt for t in found.turns] == ["two lighthouses on rocky cliffs"]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = search.matching_turns(Turn.objects.all(), "lighthouse", ["lighthouse"]).explain()
        cursor.execute("SET enable_seqscan = on")
    assert "chat_turn_prompt_fts" in plan
