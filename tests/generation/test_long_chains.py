"""A long 4K edit chain with references stays under the request limit, flat, and valid."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from studio.chat.models import ImageVersion, ResponseStatus, Turn
from studio.chat.references import ReferenceInput
from tests.live_emulator import StartEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT_MB = 20


def big_reference() -> bytes:
    """A noisy PNG of a few MB: large enough that it must travel through the Files API."""
    out = io.BytesIO()
    Image.effect_noise((1400, 1400), 64).convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_twenty_turn_4k_chain_with_references_stays_under_the_limit(
    settings: object, start_emulator: StartEmulator
) -> None:
    emulator = start_emulator(max_request_mb=LIMIT_MB, signature_pad_bytes=1_000_000)  # strict (gemini) backend
    settings.GEMINI_BASE_URL = emulator.url  # type: ignore[attr-defined]
    settings.GEMINI_REQUEST_LIMIT_MB = LIMIT_MB  # type: ignore[attr-defined]
    user = make_user("long")
    conversation = make_conversation(user)
    reference = big_reference()
    assert len(reference) > 2 * 1024 * 1024
    turns: list[Turn] = []
    for index in range(20):
        parent = turns[-1].responses.get() if turns else None
        references = (
            [ReferenceInput(role="style", upload=SimpleUploadedFile("style.png", reference))] if index == 0 else []
        )
        turns.append(
            submit(
                conversation,
                user,
                f"edit {index + 1}",
                parent=parent,
                references=references,
                image_size="4K",
                retries=0,
            )
        )
        # Fixed seeds: the emulator's images (and so their sizes, and how many fit inline) repeat.
        turns[-1].responses.update(seed=1000 + index)
        run_all()  # a fresh pipeline each turn, as after a restart
        response = turns[-1].responses.get()
        assert response.status == ResponseStatus.SUCCEEDED, (index, response.error_message)

    log = emulator.requests()
    calls = [r for r in log if ":streamGenerateContent" in r["path"]]
    sizes = [r["size"] for r in calls]
    assert len(sizes) == 20 and all(status == 200 for status in (r["status"] for r in calls))
    budget = LIMIT_MB * 1024 * 1024 * 0.9
    assert max(sizes) <= budget, "every request fits the inline limit, with the estimate's margin"
    # From turn 4 on the request stops growing: up to three model turns stay inline (fewer when three
    # 4K images would not fit), and older images travel as Files API handles of a few hundred bytes.
    inline_model_turns = [
        sum(1 for c in r["body"]["contents"] if c["role"] == "model" and any("inlineData" in p for p in c["parts"]))
        for r in calls
    ]
    assert inline_model_turns[:3] == [0, 1, 2], inline_model_turns
    assert all(n in (2, 3) for n in inline_model_turns[3:]), inline_model_turns
    uploads = [
        r
        for r in log
        if r["path"].startswith("/upload/")
        and "x-goog-upload-command" in r["headers"]
        and r["headers"]["x-goog-upload-command"] == "start"
    ]
    uploaded_images = ImageVersion.objects.exclude(files_api_uri="").count()
    assert 16 <= uploaded_images <= 17, "every earlier image that left the inline window (19 - 3 or 19 - 2)"
    assert len(uploads) == uploaded_images + 1, "each of those, and the one large reference, uploaded once"
    last = calls[-1]["body"]["contents"]
    model_turns = [c for c in last if c["role"] == "model"]
    assert len(model_turns) == inline_model_turns[-1]
    assert all(p.get("thoughtSignature") for c in model_turns for p in c["parts"][:2])
    file_parts = [p for c in last for p in c["parts"] if "fileData" in p]
    assert len(file_parts) == 14, "the model takes 14 input images: the oldest earlier images left first"
    user_texts = [c["parts"][0]["text"] for c in last if c["role"] == "user"]
    assert user_texts == [f"edit {n}" for n in range(1, 21)], "every prompt of the chain is still there"
    assert any("fileData" in p for p in last[0]["parts"]), "the first turn keeps its large reference"


def test_files_api_handles_are_reused_refreshed_when_expiring_and_recovered_when_lost(
    settings: object, start_emulator: StartEmulator
) -> None:
    import datetime as dt

    from django.utils import timezone

    emulator = start_emulator()
    settings.GEMINI_BASE_URL = emulator.url  # type: ignore[attr-defined]
    settings.STUDIO_REPLAY_INLINE_TURNS = 1  # type: ignore[attr-defined]
    user = make_user("filo")
    conversation = make_conversation(user)
    turns: list[Turn] = []

    def step(prompt: str) -> None:
        parent = turns[-1].responses.get() if turns else None
        turns.append(submit(conversation, user, prompt, parent=parent, retries=0))
        run_all()
        assert turns[-1].responses.get().status == ResponseStatus.SUCCEEDED

    def uploads() -> int:
        return sum(1 for r in emulator.requests() if r["path"].startswith("/upload/") and r["query"] == "")

    step("one")
    step("two")
    step("three")  # image one leaves the window: uploaded
    assert uploads() == 1
    step("four")  # image two leaves; image one's handle is reused
    assert uploads() == 2
    first = turns[0].responses.get().final_images[0]
    ImageVersion.objects.filter(pk=first.pk).update(files_api_expires_at=timezone.now() + dt.timedelta(minutes=5))
    step("five")  # image one's handle expires within the hour: uploaded again; image three is new
    assert uploads() == 4
    emulator.advance_clock(49 * 3600)  # the Files API forgets everything; our cache does not know yet
    step("six")
    assert uploads() >= 7, "a 403 for a lost file leads to one fresh upload of every Files API image"
