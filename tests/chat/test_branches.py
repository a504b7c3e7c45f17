"""The conversation tree: editing an older version branches; the page follows one branch."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client

from studio.accounts.models import User
from studio.chat.branches import ConversationTree
from studio.chat.fragments import branch
from studio.chat.imagefiles import images_discard
from studio.chat.models import Conversation, ImageVersion, Reference, ResponseStatus, Turn
from studio.chat.references import ReferenceInput
from studio.chat.selectors import tree_turns
from studio.chat.services import response_cancel
from studio.generation.assembly import build_pipeline
from studio.generation.records import response_claim
from tests.live_emulator import LiveEmulator
from tests.studio_world import (
    PASSWORD,
    make_conversation,
    make_user,
    personal_membership,
    response_files,
    run_all,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True)


def chain(length: int, name: str = "ivan") -> tuple[User, Conversation, list[Turn]]:
    user = make_user(name)
    conversation = make_conversation(user)
    turns: list[Turn] = []
    for index in range(length):
        parent = turns[-1].responses.get() if turns else None
        turns.append(submit(conversation, user, f"step {index + 1}", parent=parent))
        run_all()
    return user, conversation, turns


def generate_bodies(emulator: LiveEmulator) -> list[dict]:  # type: ignore[type-arg]
    return [r["body"] for r in emulator.requests() if "GenerateContent" in r["path"]]


def test_editing_three_turns_back_replays_only_that_branch(gemini: LiveEmulator) -> None:
    user, conversation, turns = chain(4)
    old = turns[0].responses.get()
    branch_turn = submit(conversation, user, "branch from step 1", parent=old)
    run_all()
    assert branch_turn.responses.get().status == ResponseStatus.SUCCEEDED
    assert branch_turn.parent_turn_id == turns[0].pk
    body = generate_bodies(gemini)[-1]
    texts = [c["parts"][0].get("text") for c in body["contents"] if c["role"] == "user"]
    assert texts == ["step 1", "branch from step 1"], "steps 2 to 4 are not on this branch"
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]


def test_the_tree_and_its_switchers(gemini: LiveEmulator) -> None:
    user, conversation, turns = chain(3, "jana")
    first = turns[0].responses.get()
    side = submit(conversation, user, "side branch", parent=first)
    tree = ConversationTree(tree_turns(conversation=conversation))
    newest = tree.path(None)
    assert [s.turn.pk for s in newest] == [turns[0].pk, side.pk], "the newest turn's branch is shown by default"
    assert (newest[1].position, newest[1].siblings, newest[1].previous_leaf, newest[1].next_leaf) == (
        2,
        2,
        turns[2].pk,
        None,
    )
    main = tree.path(turns[2].pk)
    assert [s.turn.pk for s in main] == [t.pk for t in turns]
    assert (main[1].position, main[1].next_leaf) == (1, side.pk)
    assert main[0].siblings == 1 and main[2].siblings == 1


def test_a_turn_after_a_failure_continues_the_thread(gemini: LiveEmulator) -> None:
    user = make_user("kai")
    conversation = make_conversation(user)
    failed = submit(conversation, user, "a cat [[emulator: no_image]]", retries=0)
    run_all()
    fresh = submit(conversation, user, "a dog")
    assert fresh.parent_turn_id == failed.pk and fresh.parent_response_id is None
    assert [s.turn.pk for s in branch(conversation=conversation, leaf_id=None)] == [failed.pk, fresh.pk]


def test_page_shows_the_requested_branch_and_redirects_after_branching(gemini: LiveEmulator) -> None:
    _user, conversation, turns = chain(2, "lia")
    client = Client()
    client.login(username="lia", password=PASSWORD)
    page = client.get(f"/c/{conversation.pk}/")
    assert b"step 2" in page.content and re.search(
        rb'ws-connect="/ws/conversations/%d/\?since=\d{13}&amp;leaf=%d"' % (conversation.pk, turns[1].pk), page.content
    )
    options = {
        "aspect_ratio": "auto",
        "image_size": "1K",
        "count": "1",
        "output_format": "jpeg",
        "safety": "default",
        "retries": "0",
    }
    first = turns[0].responses.get()
    answer = client.post(
        f"/c/{conversation.pk}/turns",
        {"prompt": "another take on step 1", "parent_response": first.pk, "leaf": turns[1].pk, **options},
        HTTP_HX_REQUEST="true",
    )
    new = Turn.objects.get(prompt="another take on step 1")
    assert answer.status_code == 204 and answer["HX-Redirect"] == f"/c/{conversation.pk}/?leaf={new.pk}"
    branch_page = client.get(f"/c/{conversation.pk}/?leaf={new.pk}")
    assert f'id="turn-{new.pk}"'.encode() in branch_page.content
    assert f'id="turn-{turns[1].pk}"'.encode() not in branch_page.content, "step 2 is on the other branch"
    assert b'aria-label="Previous branch"' in branch_page.content and b"2/2" in branch_page.content
    # The arrow says where it leads: the other branch's prompt, its length and its newest image.
    peek = branch_page.content.decode().split(f'id="peek-previous-{new.pk}"')[1].split("</a>")[0]
    step2_image = turns[1].responses.get().final_image
    assert "“step 2”" in peek and "1 turn on that branch" in peek
    assert step2_image is not None and f"/media/v/{step2_image.pk}/thumb" in peek
    main_page = client.get(f"/c/{conversation.pk}/?leaf={turns[1].pk}")
    assert f'id="turn-{turns[1].pk}"'.encode() in main_page.content and b"1/2" in main_page.content


def test_regenerate_retry_cancel(gemini: LiveEmulator) -> None:
    user = make_user("mae")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat [[emulator: error=503, fail_times=1]]", retries=0)
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.FAILED
    client = Client()
    client.login(username="mae", password=PASSWORD)
    assert client.post(f"/r/{response.pk}/cancel").status_code == 422, "a finished response cannot be cancelled"
    retried = client.post(f"/r/{response.pk}/retry")
    assert retried.status_code == 200 and b"response-queued" in retried.content
    run_all()
    response.refresh_from_db()
    assert response.status == ResponseStatus.SUCCEEDED and response.error_code == ""
    again = client.post(f"/r/{response.pk}/regenerate")
    assert again.status_code == 200 and turn.responses.count() == 2
    sibling = turn.responses.get(index=1)
    assert sibling.status == ResponseStatus.QUEUED and sibling.seed != response.seed
    cancelled = client.post(f"/r/{sibling.pk}/cancel")
    assert cancelled.status_code == 200
    sibling.refresh_from_db()
    assert sibling.status == ResponseStatus.CANCELLED
    assert run_all() == [], "a cancelled response is never claimed"
    stranger = Client()
    make_user("nik")
    stranger.login(username="nik", password=PASSWORD)
    assert stranger.post(f"/r/{response.pk}/regenerate").status_code == 404


def test_cancelling_a_running_response_stops_its_worker(gemini: LiveEmulator) -> None:
    user = make_user("ola")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "slow [[emulator: latency=600]]")
    (response_id,) = response_claim(worker_id="w", limit=1, lease_seconds=30)
    response, membership = turn.responses.get(), personal_membership(user)

    async def scenario() -> None:
        job = asyncio.create_task(build_pipeline("w").run(response_id))
        await asyncio.sleep(0.2)
        await sync_to_async(response_cancel)(response=response, membership=membership)
        await asyncio.wait_for(job, 10)

    asyncio.run(scenario())
    response = turn.responses.get()
    assert response.status == ResponseStatus.CANCELLED and response.parts == [] and not response.images.exists()


def test_cancelling_mid_stream_leaves_no_image_files(gemini: LiveEmulator) -> None:
    """Cancelled after its drafts were stored: the cancel deletes the files of the rows it saw, and the
    worker, losing its lease, deletes what it stored after that."""
    user = make_user("oli")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "slow drafts [[emulator: interim_images=2, event_delay=150]]")
    (response_id,) = response_claim(worker_id="w", limit=1, lease_seconds=30)
    response, membership = turn.responses.get(), personal_membership(user)

    def files() -> list[str]:
        return response_files(conversation.pk, response_id)

    async def scenario() -> list[str]:
        job = asyncio.create_task(build_pipeline("w").run(response_id))
        while not await sync_to_async(ImageVersion.objects.filter(response_id=response_id).exists)():
            await asyncio.sleep(0.02)
        seen = await asyncio.to_thread(files)
        await sync_to_async(response_cancel)(response=response, membership=membership)
        await asyncio.wait_for(job, 10)
        return seen

    seen = asyncio.run(scenario())
    assert seen, "a draft was stored before the cancel"
    assert turn.responses.get().status == ResponseStatus.CANCELLED
    assert files() == [], "no file of the cancelled response is left"


def test_discarding_a_version_keeps_files_a_reference_shares(gemini: LiveEmulator) -> None:
    user = make_user("ria")
    conversation = make_conversation(user)
    first = submit(conversation, user, "a red boat")
    run_all()
    version = first.responses.get().final_images[0]
    submit(conversation, user, "like this one", references=[ReferenceInput(role="style", version=version)])
    reference = Reference.objects.get(source_version=version)
    assert reference.storage_key == version.storage_key, "a reference made from a version shares its file"
    with transaction.atomic():
        images_discard(ImageVersion.objects.filter(pk=version.pk))
    assert default_storage.exists(reference.storage_key) and default_storage.exists(reference.thumbnail_key)
    drafts = ImageVersion.objects.filter(response=first.responses.get())
    draft_keys = {key for image in drafts for key in (image.storage_key, image.thumbnail_key) if key}
    with transaction.atomic():
        images_discard(drafts)
    shared = {reference.storage_key, reference.thumbnail_key}
    assert all(not default_storage.exists(key) for key in draft_keys - shared), "files only they used are gone"


def test_context_view_shows_what_the_next_call_sends(gemini: LiveEmulator, settings: object) -> None:
    settings.STUDIO_REPLAY_INLINE_TURNS = 2  # type: ignore[attr-defined]
    _user, conversation, turns = chain(4, "pia")
    client = Client()
    client.login(username="pia", password=PASSWORD)
    page = client.get(f"/c/{conversation.pk}/context?parent_response=latest")
    assert page.status_code == 200
    html = page.content.decode()
    assert "4 earlier turns, 4 images" in html
    assert html.count("full turn, signed") == 2 and html.count("image via Files API") == 2
    assert "about " in html and "input tokens" in html
    fresh = client.get(f"/c/{conversation.pk}/context?parent_response=none").content.decode()
    assert "nothing earlier is sent" in fresh
    first = turns[0].responses.get()
    one = client.get(f"/c/{conversation.pk}/context?parent_response={first.pk}").content.decode()
    assert "1 earlier turn, 1 image" in one
    stranger = Client()
    make_user("qin")
    stranger.login(username="qin", password=PASSWORD)
    assert stranger.get(f"/c/{conversation.pk}/context").status_code == 404
