"""States that say the right thing: cancelled in neutral words, normal endings without Gemini's raw
finish reason, titles without the emulator's markers, malformed composer values named on screen."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from studio.accounts.services import team_add_member
from studio.chat import services
from studio.chat.templatetags.studio_tags import finish_words
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, personal_membership, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def page_of(user: object, conversation_id: int) -> str:
    client = Client()
    client.force_login(user)
    return html.unescape(client.get(f"/c/{conversation_id}/").content.decode())


def test_a_cancelled_image_says_cancelled_not_failed() -> None:
    user = make_user("ana")
    conversation = make_conversation(user)
    response = submit(conversation, user, "a cat").responses.get()
    services.response_cancel(response=response, membership=personal_membership(user))
    page = page_of(user, conversation.pk)
    assert 'class="alert alert-note" role="status"><strong>Cancelled.</strong> Retry to generate it again.' in page
    assert "Failed." not in page and "alert-error" not in page


def test_normal_endings_hide_stop_and_other_reasons_are_in_words(gemini: LiveEmulator) -> None:
    user = make_user("bob")
    conversation = make_conversation(user)
    submit(conversation, user, "a cat")
    run_all()
    page = page_of(user, conversation.pk)
    assert "STOP" not in page and 'title="Why Gemini stopped"' not in page
    assert finish_words("MAX_TOKENS") == "Stopped at the output limit"
    assert finish_words("SOMETHING_NEW") == "Something new"


def test_titles_leave_out_emulator_markers() -> None:
    user = make_user("cid")
    conversation = make_conversation(user)
    submit(conversation, user, "[[emulator: latency=300]] a  red kite [[emulator: thoughts=off]] over hills")
    conversation.refresh_from_db()
    assert conversation.title == "a red kite over hills"
    assert services.title_from("[[emulator: error=500]]") == "New conversation"
    assert services.title_from("x" * 100) == "x" * 80 + "…"


def test_turn_details_say_what_was_sent_and_what_came_back(gemini: LiveEmulator) -> None:
    user = make_user("dot")
    conversation = make_conversation(user)
    submit(conversation, user, "a kite", aspect_ratio="auto", safety="BLOCK_ONLY_HIGH", output_format="png")
    run_all()
    page = page_of(user, conversation.pk)
    assert re.search(r"auto ratio \(\d+:\d+\) · 1K · PNG · safety: block only high", page), "the ratio drawn"
    assert "original JPEG from Gemini · PNG copy" in page


def test_new_conversation_reuses_the_persons_own_empty_one() -> None:
    user, other = make_user("eli"), make_user("fox")
    conversation = make_conversation(user)
    project = conversation.project
    client = Client()
    client.force_login(user)
    first = client.post(f"/p/{project.pk}/", {"action": "new-conversation"})
    second = client.post(f"/p/{project.pk}/", {"action": "new-conversation"})
    assert first["Location"] == second["Location"] == f"/c/{conversation.pk}/", "no empty one left behind"
    submit(conversation, user, "a cat")
    third = client.post(f"/p/{project.pk}/", {"action": "new-conversation"})
    assert third["Location"] != f"/c/{conversation.pk}/" and project.conversations.count() == 2
    team_add_member(team=project.team, user=other, role="member")
    client.force_login(other)
    theirs = client.post(f"/p/{project.pk}/", {"action": "new-conversation"})
    assert theirs["Location"] not in {third["Location"], f"/c/{conversation.pk}/"}, "never someone else's"
