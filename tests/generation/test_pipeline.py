"""The generation pipeline end to end: real services, real SDK, the emulator as Gemini."""

from __future__ import annotations

import base64
import hashlib
import io
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from studio.chat.fragments import branch, default_parent
from studio.chat.models import ImageVersion, Response, ResponseStatus
from studio.chat.references import ReferenceInput
from studio.emulator.server import free_port
from tests.chat.test_references import png
from tests.database_faults import REFUSAL, inserts_refused
from tests.live_emulator import LiveEmulator, StartEmulator
from tests.studio_world import make_conversation, make_user, response_files, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def generate_calls(emulator: LiveEmulator) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in emulator.requests() if "GenerateContent" in r["path"]]


def test_success_streams_thoughts_drafts_and_final_images(gemini: LiveEmulator) -> None:
    user = make_user("ada")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a lighthouse at dusk", count=2, aspect_ratio="16:9", image_size="2K")
    assert run_all()
    responses = list(turn.responses.order_by("index"))
    assert [r.status for r in responses] == [ResponseStatus.SUCCEEDED] * 2
    first, second = responses
    assert first.seed != second.seed
    assert first.thoughts_text.startswith("**")
    assert first.text.startswith("Here is the image")
    assert first.finish_reason == "STOP" and first.error_code == ""
    final = first.final_images
    assert len(final) == 1 and len(first.draft_images) == 1
    image = final[0]
    assert (image.width, image.height) == (2752, 1536) and image.mime_type == "image/jpeg"
    stored = default_storage.open(image.storage_key).read()
    assert hashlib.sha256(stored).hexdigest() == image.sha256 and len(stored) == image.byte_size
    assert image.thumbnail_key == "", "the worker leaves the thumbnail to the first viewer (chat.thumbnails)"
    assert final[0].sha256 != second.final_images[0].sha256, "siblings are different images"
    assert first.usage["candidates_tokens_details"][0] == {"modality": "IMAGE", "token_count": 1120}
    assert first.cost_usd > Decimal("0.134")
    thoughts = [p for p in first.parts if p["thought"]]
    answer = [p for p in first.parts if not p["thought"]]
    assert first.parts[: len(thoughts)] == thoughts, "thoughts come first, in stream order"
    assert [("image" in p, bool(p["signature"])) for p in answer] == [(False, True), (True, True), (False, False)]
    assert answer[-1]["text"] == "", "the closing empty text part is kept exactly as received"


def test_original_bytes_are_kept_and_png_rendition_made(gemini: LiveEmulator) -> None:
    user = make_user("bob")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a kite", output_format="png")
    run_all()
    image = turn.responses.get().final_images[0]
    assert image.mime_type == "image/jpeg", "the model's JPEG is stored as sent, never re-encoded"
    assert image.rendition_mime_type == "image/png"
    with Image.open(default_storage.open(image.rendition_key)) as png:
        assert png.format == "PNG" and png.size == (image.width, image.height)


def test_mislabelled_png_is_sniffed_as_jpeg(gemini: LiveEmulator) -> None:
    user = make_user("cy")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a kite [[emulator: mime=mislabelled]]")
    run_all()
    image = turn.responses.get().final_images[0]
    assert image.label_mime_type == "image/png" and image.mime_type == "image/jpeg"


def test_second_turn_replays_history_with_signatures(gemini: LiveEmulator) -> None:
    user = make_user("dee")
    conversation = make_conversation(user)
    submit(conversation, user, "a red barn")
    run_all()
    parent = default_parent(branch(conversation=conversation, leaf_id=None))
    assert parent is not None
    second = submit(conversation, user, "make it night", parent=parent)
    run_all()
    assert second.responses.get().status == ResponseStatus.SUCCEEDED
    body = generate_calls(gemini)[-1]["body"]
    roles = [c["role"] for c in body["contents"]]
    assert roles == ["user", "model", "user"]
    model_parts = body["contents"][1]["parts"]
    assert all(not p.get("thought") for p in model_parts), "thought parts are left out"
    assert [bool(p.get("thoughtSignature")) for p in model_parts] == [True, True, False]
    assert model_parts[-1] == {"text": ""}, "the empty closing part goes back as received"
    image_part = next(p for p in model_parts if "inlineData" in p)
    replayed = base64.urlsafe_b64decode(image_part["inlineData"]["data"] + "==")
    assert hashlib.sha256(replayed).hexdigest() == parent.final_images[0].sha256, "the original bytes go back"


def edit_with_tampered_signature(username: str, tamper: Callable[[dict[str, Any]], None]) -> Response:
    """Make an image, change its stored image part with `tamper`, then edit it: the replay sends the
    part exactly as stored, so the model (the emulator) sees what was done to it."""
    user = make_user(username)
    conversation = make_conversation(user)
    submit(conversation, user, "a tree")
    run_all()
    parent = default_parent(branch(conversation=conversation, leaf_id=None))
    assert parent is not None
    parts = parent.parts
    tamper(next(p for p in parts if "image" in p and not p["thought"]))
    Response.objects.filter(pk=parent.pk).update(parts=parts)
    turn = submit(conversation, user, "add snow", parent=parent)
    run_all()
    return turn.responses.get()


def test_an_altered_stored_signature_is_caught(gemini: LiveEmulator) -> None:
    def flip_last_bit(image_part: dict[str, Any]) -> None:
        raw = bytearray(base64.b64decode(image_part["signature"]))
        raw[-1] ^= 1
        image_part["signature"] = base64.b64encode(bytes(raw)).decode()

    failed = edit_with_tampered_signature("eve", flip_last_bit)
    assert failed.status == ResponseStatus.FAILED and failed.error_code == "bad_request"
    assert "Invalid thought signature" in failed.error_message


def test_grounding_is_stored(gemini: LiveEmulator) -> None:
    user = make_user("fay")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "the weather in Paris", grounding=True)
    run_all()
    response = turn.responses.get()
    assert response.grounding and response.grounding["web_search_queries"] == ["weather paris"]
    assert len(response.grounding["grounding_chunks"]) == 3
    assert response.grounding["search_entry_point"]["rendered_content"].startswith("<style>")


@pytest.mark.parametrize(
    ("marker", "status", "code", "phrase"),
    [
        ("prompt_block=SAFETY", ResponseStatus.BLOCKED, "prompt_blocked", "Google blocked this prompt (SAFETY)"),
        ("image_safety", ResponseStatus.BLOCKED, "image_safety", "safety filter removed the image"),
        ("no_image", ResponseStatus.FAILED, "no_image", "finished without drawing an image (finish reason NO_IMAGE)"),
        ("refusal", ResponseStatus.BLOCKED, "refusal", "declined to make this image"),
        ("error=bad_key", ResponseStatus.FAILED, "bad_key", "rejected the API key"),
    ],
)
def test_outcomes_end_in_distinct_readable_states(
    gemini: LiveEmulator, marker: str, status: str, code: str, phrase: str
) -> None:
    user = make_user("gus")
    conversation = make_conversation(user)
    turn = submit(conversation, user, f"a cat [[emulator: {marker}]]", retries=0)
    run_all()
    response = turn.responses.get()
    assert response.status == status
    assert response.error_code == code
    assert phrase in response.error_message
    if code != "refusal":
        assert response.final_images == []
    else:
        assert response.text and response.final_images == []


@pytest.mark.parametrize(("code", "kind"), [(429, "rate_limited"), (503, "overloaded"), (500, "server")])
def test_retryable_errors_retry_then_fail_clearly(gemini: LiveEmulator, code: int, kind: str) -> None:
    user = make_user("hal")
    conversation = make_conversation(user)
    turn = submit(conversation, user, f"a cat [[emulator: error={code}, retry_delay=0]]", retries=2)
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.FAILED and response.error_code == kind
    assert "still after 2 retries" in response.error_message
    assert len(generate_calls(gemini)) == 3, "first try plus two retries"


def test_retries_recover(gemini: LiveEmulator) -> None:
    user = make_user("ivy")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat [[emulator: error=503, fail_times=2]]", retries=3)
    run_all()
    assert turn.responses.get().status == ResponseStatus.SUCCEEDED
    assert [r["status"] for r in generate_calls(gemini)] == [503, 503, 200]


def test_no_retry_when_retry_count_is_zero(gemini: LiveEmulator) -> None:
    user = make_user("jo")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat [[emulator: error=429]]", retries=0)
    run_all()
    response = turn.responses.get()
    assert response.error_code == "rate_limited" and "no retries" in response.error_message
    assert len(generate_calls(gemini)) == 1


def test_broken_stream_leaves_nothing_half_written(gemini: LiveEmulator) -> None:
    user = make_user("kay")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat [[emulator: midstream_error=503@9]]", retries=3)
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.FAILED and response.error_code == "stream_broken"
    assert response.parts == [] and response.text == ""
    assert not ImageVersion.objects.filter(response=response).exists()
    assert len(generate_calls(gemini)) == 1, "a stream that already produced output is not retried"
    assert response_files(conversation.pk, response.pk) == [], "drafts stored before the break go with their rows"


def test_a_database_failure_ends_the_response_at_once_and_keeps_no_files(gemini: LiveEmulator) -> None:
    """The database refuses every image row: the first draft's files are already stored by then. The
    response fails at once in words (no raw database text), instead of waiting for its lease to expire,
    and the files that never got a row are deleted."""
    user = make_user("uma")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a harbour at dawn")
    with inserts_refused(ImageVersion._meta.db_table):
        run_all()
    response = turn.responses.get()
    assert (response.status, response.error_code, response.lease_owner) == (ResponseStatus.FAILED, "internal", "")
    assert "went wrong in the studio" in response.error_message and REFUSAL not in response.error_message
    assert response.parts == [] and not ImageVersion.objects.filter(response=response).exists()
    assert response_files(conversation.pk, response.pk) == []


def test_a_job_that_cannot_be_prepared_fails_in_words(gemini: LiveEmulator) -> None:
    """Its reference file vanished from storage before the worker read it: the response fails at once,
    naming the error's type, and Gemini is never called."""
    user = make_user("vic")
    conversation = make_conversation(user)
    upload = SimpleUploadedFile("ref.png", png(), content_type="image/png")
    turn = submit(conversation, user, "in this style", references=[ReferenceInput(role="style", upload=upload)])
    default_storage.delete(turn.references.get().storage_key)
    run_all()
    response = turn.responses.get()
    assert (response.status, response.error_code, response.lease_owner) == (ResponseStatus.FAILED, "internal", "")
    assert "(FileNotFoundError)" in response.error_message
    assert generate_calls(gemini) == []


def test_network_down(settings: object, emulator: LiveEmulator) -> None:
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{free_port()}"  # type: ignore[attr-defined]
    settings.STUDIO_RETRY_BASE_S = 0.01  # type: ignore[attr-defined]
    user = make_user("lee")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat", retries=1)
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.FAILED and response.error_code == "network"
    assert "could not reach Gemini" in response.error_message


def test_one_failure_leaves_its_siblings_alone(settings: object, start_emulator: StartEmulator) -> None:
    # A fault rate of one half, with a seed whose first two draws straddle it: exactly one of two fails.
    seed = next(s for s in range(1000) if sorted(v < 0.5 for v in _draws(s)) == [False, True])
    flaky = start_emulator(seed=seed, fault_503=0.5)
    settings.GEMINI_BASE_URL = flaky.url  # type: ignore[attr-defined]
    user = make_user("max")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "two cats", count=2, retries=0)
    run_all()
    statuses = sorted(r.status for r in turn.responses.all())
    assert statuses == [ResponseStatus.FAILED, ResponseStatus.SUCCEEDED]
    succeeded = turn.responses.get(status=ResponseStatus.SUCCEEDED)
    assert len(succeeded.final_images) == 1


def _draws(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.random(), rng.random()]


def test_image_bytes_decode(gemini: LiveEmulator) -> None:
    user = make_user("ned")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat", image_size="1K", aspect_ratio="1:1")
    run_all()
    image = turn.responses.get().final_images[0]
    with Image.open(io.BytesIO(default_storage.open(image.storage_key).read())) as decoded:
        assert decoded.size == (1024, 1024)


def test_a_removed_stored_signature_is_caught(gemini: LiveEmulator) -> None:
    failed = edit_with_tampered_signature("oda", lambda image_part: image_part.update(signature=None))
    assert failed.status == ResponseStatus.FAILED
    assert "Image part is missing a thought_signature in content position 2" in failed.error_message
