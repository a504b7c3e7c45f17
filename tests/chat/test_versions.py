"""Version history: the gallery with lineage, compare, and lineage ZIPs with JSON sidecars."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.test import Client

from studio.chat.models import Conversation, Turn
from studio.chat.versions import conversation_versions, lineage
from tests.live_emulator import LiveEmulator
from tests.studio_world import PASSWORD, make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def three_edits(name: str) -> tuple[Client, Conversation, list[Turn]]:
    user = make_user(name)
    conversation = make_conversation(user)
    turns: list[Turn] = []
    for prompt in ("a red barn", "make it night", "add snow"):
        parent = turns[-1].responses.get() if turns else None
        turns.append(submit(conversation, user, prompt, parent=parent, grounding=prompt == "add snow"))
        run_all()
    client = Client()
    client.login(username=name, password=PASSWORD)
    return client, conversation, turns


def test_gallery_lists_every_version_with_its_parent(gemini: LiveEmulator) -> None:
    client, conversation, turns = three_edits("yan")
    versions = conversation_versions(conversation=conversation)
    assert [v.image.response.turn_id for v in versions] == [t.pk for t in turns]
    assert versions[0].parent is None and versions[2].parent == versions[1].image
    page = client.get(f"/c/{conversation.pk}/versions")
    assert page.status_code == 200
    assert [(v.number, v.parent_number) for v in versions] == [(1, None), (2, 1), (3, 2)]
    html = page.content.decode()
    assert html.count('name="v"') == 3
    assert f'Edited from <a href="#version-{versions[1].image.pk}">version 2</a>' in html
    assert f'href="/c/{conversation.pk}/?leaf={turns[2].pk}">Open in chat</a>' in html, "opens its own branch"


def test_lineage_zip_has_originals_and_sidecars(gemini: LiveEmulator) -> None:
    client, _, turns = three_edits("zed")
    last = turns[-1].responses.get().final_images[0]
    chain = lineage(last)
    assert len(chain) == 3 and chain[-1] == last
    download = client.get(f"/media/v/{last.pk}/lineage.zip")
    assert download["Content-Type"] == "application/zip" and "attachment" in download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = archive.namelist()
    assert len(names) == 6 and names[0].startswith("01-") and names[-1].startswith("03-")
    for version, image_name in zip(chain, [n for n in names if not n.endswith(".json")], strict=True):
        assert hashlib.sha256(archive.read(image_name)).hexdigest() == version.sha256
    sidecar = json.loads(archive.read(names[-1]))
    assert sidecar["prompt"] == "add snow" and sidecar["file_sha256"] == last.sha256
    assert sidecar["parent_sha256"] == chain[1].sha256 and sidecar["model_id"] == "gemini-3-pro-image"
    assert len(sidecar["grounding_sources"]) == 3 and sidecar["settings"]["grounding"] is True
    first = json.loads(archive.read(names[1]))
    assert first["parent_image_id"] is None


def test_compare_needs_two_and_checks_access(gemini: LiveEmulator) -> None:
    client, conversation, turns = three_edits("amo")
    a = turns[0].responses.get().final_images[0]
    b = turns[2].responses.get().final_images[0]
    page = client.get(f"/c/{conversation.pk}/compare?v={a.pk}&v={b.pk}")
    assert page.status_code == 200
    assert f"/media/v/{a.pk}".encode() in page.content and b"data-swipe-range" in page.content
    one = client.get(f"/c/{conversation.pk}/compare?v={a.pk}", follow=True)
    assert b"Pick exactly two versions to compare." in one.content
    stranger = Client()
    make_user("bee")
    stranger.login(username="bee", password=PASSWORD)
    assert stranger.get(f"/c/{conversation.pk}/versions").status_code == 404
    assert stranger.get(f"/media/v/{a.pk}/lineage.zip").status_code == 404


def test_project_and_home_pages_show_the_newest_image(gemini: LiveEmulator) -> None:
    client, conversation, turns = three_edits("abe")
    empty = make_conversation(turns[0].author, conversation.project)
    page = client.get(f"/p/{conversation.project_id}/").content.decode()
    newest = turns[-1].responses.get().final_images[0]
    assert f'<img class="cover" src="/media/v/{newest.pk}/thumb"' in page, "its newest final image"
    assert "3 images · updated" in page and "0 images · updated" in page
    assert page.count('class="cover cover-empty"') == 1, "a conversation without images gets a blank tile"
    assert page.index(f'href="/c/{empty.pk}/"') < page.index(f'href="/c/{conversation.pk}/"'), "newest first"
    home = client.get("/").content.decode()
    assert f'<img class="cover" src="/media/v/{newest.pk}/thumb"' in home, "the project shows it too"
    client.post(f"/c/{conversation.pk}/archive")
    home = client.get("/").content.decode()
    assert "/thumb" not in home and 'class="cover cover-empty"' in home, "archived conversations are not shown"
