"""Pages and team isolation: nobody sees or touches another team's projects, chats or images."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from studio.chat.models import Conversation, Project, Response, ResponseStatus, Turn
from tests.database_faults import REFUSAL, inserts_refused
from tests.live_emulator import LiveEmulator
from tests.studio_world import PASSWORD, make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

COMPOSER = {
    "aspect_ratio": "auto",
    "image_size": "1K",
    "count": "1",
    "output_format": "jpeg",
    "safety": "default",
    "retries": "1",
}


def logged_in(name: str) -> tuple[Client, object]:
    user = make_user(name)
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client, user


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    client = Client()
    for url in ("/", "/p/1/", "/c/1/", "/media/v/1", "/media/v/1/thumb", "/grounding/1"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_a_signed_out_htmx_post_loads_the_login_page_whole() -> None:
    """Signed out in another tab: the composer's next send must not swap the login page into itself.
    htmx is told to load the login page, which returns to the conversation afterwards."""
    client, user = logged_in("fay")
    conversation = make_conversation(user)
    client.logout()
    page = f"http://testserver/c/{conversation.pk}/?leaf=7"
    headers = {"HX-Request": "true", "HX-Current-URL": page}
    sent = client.post(f"/c/{conversation.pk}/turns", {"prompt": "a kite", **COMPOSER}, headers=headers)
    assert sent.status_code == 200 and sent["HX-Redirect"] == f"/login/?next=/c/{conversation.pk}/%3Fleaf%3D7"
    assert sent.content == b"" and not Turn.objects.exists()
    plain = client.post(f"/c/{conversation.pk}/turns", {"prompt": "a kite", **COMPOSER})
    assert plain.status_code == 302 and plain["Location"].startswith("/login/"), "without htmx: a normal redirect"


def test_home_lists_projects_and_creates_one() -> None:
    client, _ = logged_in("gil")
    page = client.get("/")
    assert page.status_code == 200 and b"No projects yet" in page.content
    created = client.post("/", {"name": "Summer campaign", "system_instruction": "", **COMPOSER})
    assert created.status_code == 302
    project = Project.objects.get(name="Summer campaign")
    assert created["Location"] == f"/p/{project.pk}/"
    listing = client.get("/").content
    assert b"Summer campaign" in listing and b"updated just now" in listing


def test_composer_posts_a_turn_and_renders_errors_in_place() -> None:
    client, user = logged_in("hil")
    conversation = make_conversation(user)
    blank = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "Starts a new image" in blank, "nothing to edit yet"
    assert '<span class="composer-choices" hidden>' in blank, "so no choice of image to edit"
    ok = client.post(
        f"/c/{conversation.pk}/turns", {"prompt": "a lighthouse", **COMPOSER, "count": "2"}, HTTP_HX_REQUEST="true"
    )
    assert ok.status_code == 200
    turn = Turn.objects.get(conversation=conversation)
    assert turn.responses.count() == 2
    assert f'id="turn-{turn.pk}"'.encode() in ok.content and b'id="composer"' in ok.content
    assert b"Edits the newest image on this branch" in ok.content and b'class="composer-choices">' in ok.content
    empty = client.post(f"/c/{conversation.pk}/turns", {"prompt": "", **COMPOSER}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422
    assert b"Write a prompt first" in empty.content and b'role="alert"' in empty.content
    bad = client.post(f"/c/{conversation.pk}/turns", {"prompt": "x", **COMPOSER, "count": "9"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and Turn.objects.count() == 1


def test_composer_also_works_as_a_plain_form() -> None:
    """Sent before htmx takes over a freshly swapped composer (or with scripts off), the composer is a
    plain multipart POST: whole pages come back, never a fragment on its own."""
    client, user = logged_in("pil")
    conversation = make_conversation(user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert f'method="post" action="/c/{conversation.pk}/turns" enctype="multipart/form-data"' in page
    assert 'name="csrfmiddlewaretoken"' in page.split('id="composer"', 1)[1].split("</form>", 1)[0]
    empty = client.post(f"/c/{conversation.pk}/turns", {"prompt": "  ", **COMPOSER})
    assert empty.status_code == 422 and Turn.objects.count() == 0
    body = empty.content.decode()
    assert body.lstrip().lower().startswith("<!doctype html>") and "Write a prompt first" in body
    sent = client.post(f"/c/{conversation.pk}/turns", {"prompt": "a lighthouse", **COMPOSER})
    turn = Turn.objects.get(conversation=conversation)
    assert sent.status_code == 302 and sent["Location"] == f"/c/{conversation.pk}/?leaf={turn.pk}"
    assert "a lighthouse" in client.get(sent["Location"]).content.decode()


def test_turn_posts_need_csrf() -> None:
    user = make_user("ida")
    conversation = make_conversation(user)
    client = Client(enforce_csrf_checks=True)
    client.login(username="ida", password=PASSWORD)
    response = client.post(f"/c/{conversation.pk}/turns", {"prompt": "x", **COMPOSER})
    assert response.status_code == 403 and not Turn.objects.exists()
    assert b"This page expired" in response.content and b"reload the page" in response.content


def test_pages_carry_a_strict_csp_with_nonce() -> None:
    client, user = logged_in("jay")
    conversation = make_conversation(user)
    page = client.get(f"/c/{conversation.pk}/")
    policy = page["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in page.content
    assert page["X-Frame-Options"] == "DENY"


def test_other_teams_get_404_everywhere(gemini: LiveEmulator) -> None:
    owner_client, owner = logged_in("kim")
    conversation = make_conversation(owner)
    turn = submit(conversation, owner, "secret plan", grounding=True)
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.SUCCEEDED
    image = response.final_images[0]
    urls = [
        f"/p/{conversation.project_id}/",
        f"/c/{conversation.pk}/",
        f"/media/v/{image.pk}",
        f"/media/v/{image.pk}/thumb",
        f"/grounding/{response.pk}",
    ]
    for url in urls:
        assert owner_client.get(url).status_code == 200, url
    stranger, _ = logged_in("lou")
    for url in urls:
        assert stranger.get(url).status_code == 404, url
    assert b"belongs to a team you are not in" in stranger.get(urls[1]).content, "a 404 page in words"
    assert stranger.post(f"/c/{conversation.pk}/turns", {"prompt": "mine now", **COMPOSER}).status_code == 404
    assert stranger.post(f"/c/{conversation.pk}/rename", {"title": "pwned"}).status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).title == "secret plan"
    other = make_conversation(make_user("mo"))
    parent_attack = owner_client.post(
        f"/c/{other.pk}/turns", {"prompt": "x", "parent_response": response.pk, **COMPOSER}
    )
    assert parent_attack.status_code == 404, "kim is not in mo's team"


def test_media_serves_original_bytes_with_safe_headers(gemini: LiveEmulator) -> None:
    client, user = logged_in("ned")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a kite", output_format="webp")
    run_all()
    image = turn.responses.get().final_images[0]
    original = client.get(f"/media/v/{image.pk}")
    streamed: Any = original
    body = b"".join(streamed.streaming_content)
    assert original["Content-Type"] == "image/jpeg" and original["X-Content-Type-Options"] == "nosniff"
    assert len(body) == image.byte_size
    download = client.get(f"/media/v/{image.pk}?download=1")
    assert download["Content-Disposition"].startswith("attachment;")
    rendition = client.get(f"/media/v/{image.pk}/rendition")
    assert rendition["Content-Type"] == "image/webp"


def test_search_suggestions_get_their_own_csp_and_sandbox(gemini: LiveEmulator) -> None:
    client, user = logged_in("ola")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "the weather in Rome", grounding=True)
    run_all()
    response = turn.responses.get()
    page = client.get(f"/c/{conversation.pk}/")
    assert b'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.content
    frame = client.get(f"/grounding/{response.pk}")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    policy = frame["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy and "script-src" not in policy
    rendered = response.grounding["search_entry_point"]["rendered_content"]
    assert rendered.encode() in frame.content, "Google's HTML is shown exactly as sent"


def test_rename_and_archive_from_the_conversation_page() -> None:
    client, user = logged_in("pia")
    conversation = make_conversation(user)
    page = client.get(f"/c/{conversation.pk}/")
    assert b'action="/c/%d/rename"' % conversation.pk in page.content
    assert client.post(f"/c/{conversation.pk}/rename", {"title": "Spring launch"}).status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).title == "Spring launch"
    blank = client.post(f"/c/{conversation.pk}/rename", {"title": "  "}, follow=True)
    assert b"A conversation needs a title." in blank.content
    archived = client.post(f"/c/{conversation.pk}/archive")
    assert archived["Location"] == f"/p/{conversation.project_id}/"
    listing = client.get(f"/p/{conversation.project_id}/").content
    active = listing.split(b'class="archived-list"')[0]
    assert f'href="/c/{conversation.pk}/"'.encode() not in active, "archived conversations leave the list"
    assert b"Archived conversations (1)" in listing, "and appear in the Archived list"
    assert "Archived “Spring launch”.".encode() in listing


def test_a_server_error_gets_a_page_in_words_and_writes_nothing() -> None:
    """The database refuses the turn's responses mid-transaction (a real database error): the person
    gets the studio's 500 page, no traceback, and the turn is not half-written."""
    client, user = logged_in("nia")
    client.raise_request_exception = False
    conversation = make_conversation(user)
    with inserts_refused(Response._meta.db_table):
        failed = client.post(f"/c/{conversation.pk}/turns", {"prompt": "a lighthouse", **COMPOSER})
    assert failed.status_code == 500
    body = failed.content.decode()
    assert "Something went wrong on our side" in body and "saved nothing" in body
    assert REFUSAL not in body and "Traceback" not in body
    assert not Turn.objects.exists() and not Response.objects.exists()
