"""Version history: the gallery with lineage, compare, and lineage ZIPs with JSON sidecars."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import AsyncClient, Client
from PIL import Image

from studio.accounts.models import User
from studio.chat.models import Conversation, Turn
from studio.chat.references import ReferenceInput
from studio.chat.versions import branch_groups, conversation_versions, lineage
from tests.live_emulator import LiveEmulator
from tests.studio_world import PASSWORD, make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 80, 40)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


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
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))  # type: ignore[attr-defined]
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


def _streamed_zip(user: User, image_id: int, into: Path) -> tuple[int, int]:
    """Download a lineage through the ASGI handler (as Daphne serves it) into a file; returns the
    bytes received and the peak Python memory allocated while they streamed."""

    async def fetch() -> tuple[int, int]:
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get(f"/media/v/{image_id}/lineage.zip")
        streamed = cast(StreamingHttpResponse, response)
        assert streamed.status_code == 200 and streamed.is_async, "an async stream, not a list Django collects"
        total = 0
        tracemalloc.start()
        try:
            with into.open("wb") as out:
                async for piece in streamed.streaming_content:
                    total += len(piece)
                    out.write(piece)
            return total, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return asyncio.run(fetch())


def test_a_20_image_4k_lineage_streams_in_flat_memory_with_its_references(gemini: LiveEmulator, tmp_path: Path) -> None:
    user = make_user("ivo")
    conversation = make_conversation(user)
    turns: list[Turn] = []
    for step in range(20):
        parent = turns[-1].responses.get() if turns else None
        references = [ReferenceInput(role="style", upload=_upload(f"style{step}.png"))] if step in (0, 12) else []
        turns.append(submit(conversation, user, f"step {step}", parent=parent, references=references, image_size="4K"))
        run_all()
    short = turns[1].responses.get().final_images[0]
    last = turns[-1].responses.get().final_images[0]
    assert last.width >= 3000, "4K images"

    small_bytes, small_peak = _streamed_zip(user, short.pk, tmp_path / "short.zip")
    big_bytes, big_peak = _streamed_zip(user, last.pk, tmp_path / "long.zip")
    assert big_bytes > 8 * small_bytes
    assert big_peak < small_peak + 2 * 1024 * 1024, f"memory grew with the lineage: {small_peak} -> {big_peak}"
    assert big_peak < big_bytes / 5, f"{big_peak} bytes held for a {big_bytes}-byte archive"

    with zipfile.ZipFile(tmp_path / "long.zip") as archive:
        names = archive.namelist()
        chain = lineage(last)
        images = [n for n in names if not n.endswith(".json") and "-reference" not in n]
        assert len(chain) == 20 and len(images) == 20
        for version, name in zip(chain, images, strict=True):
            assert hashlib.sha256(archive.read(name)).hexdigest() == version.sha256
        stored_references = [n for n in names if "-reference" in n]
        assert stored_references == [
            f"01-turn{turns[0].pk}-image1-reference1-style.png",
            f"13-turn{turns[12].pk}-image1-reference1-style.png",
        ]
        for name, turn in zip(stored_references, (turns[0], turns[12]), strict=True):
            assert hashlib.sha256(archive.read(name)).hexdigest() == turn.references.get().sha256
        assert archive.testzip() is None


def test_compare_needs_two_and_checks_access(gemini: LiveEmulator) -> None:
    client, conversation, turns = three_edits("amo")
    a = turns[0].responses.get().final_images[0]
    b = turns[2].responses.get().final_images[0]
    page = client.get(f"/c/{conversation.pk}/compare?v={a.pk}&v={b.pk}")
    assert page.status_code == 200
    assert f"/media/v/{a.pk}".encode() in page.content and b"data-swipe-divider" in page.content
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


def test_versions_are_grouped_by_branch(gemini: LiveEmulator) -> None:
    client, conversation, turns = three_edits("gus")
    user = turns[0].author
    assert user is not None
    side = submit(conversation, user, "a blue barn instead", parent=turns[0].responses.get())
    run_all()
    groups = branch_groups(conversation=conversation, versions=conversation_versions(conversation=conversation))
    assert [[v.number for v in g.versions] for g in groups] == [[1, 2, 3], [4]]
    assert groups[0].forks_from is None and groups[0].leaf_id == turns[2].pk
    assert groups[1].forks_from is not None and groups[1].forks_from.number == 1 and groups[1].leaf_id == side.pk
    html = client.get(f"/c/{conversation.pk}/versions").content.decode()
    assert "Branch 2" in html and "branches from" in html
    assert html.index('id="version-') < html.index("Branch 2") < html.rindex('id="version-')
    assert f'href="/c/{conversation.pk}/?leaf={side.pk}">Open this branch</a>' in html
