"""Vertex AI mode end to end: the studio's pipeline through the real SDK's Vertex paths (project with
an access token, and express mode with an API key) to the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.chat.models import ResponseStatus
from studio.chat.references import ReferenceInput
from tests.generation.test_long_chains import big_reference
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "gemini-3-pro-image"


def vertex(settings: Any, emulator: LiveEmulator, **mode: Any) -> None:
    settings.GEMINI_BASE_URL = emulator.url
    settings.GEMINI_API_KEY = mode.pop("api_key", "")
    for name, value in mode.items():
        setattr(settings, name, value)


def run_a_chain_with_a_large_reference() -> None:
    user = make_user("vera")
    conversation = make_conversation(user)
    reference = ReferenceInput(role="style", upload=SimpleUploadedFile("style.png", big_reference()))
    first = submit(conversation, user, "a harbour at dawn", references=[reference], retries=0)
    run_all()
    parent = first.responses.get()
    assert parent.status == ResponseStatus.SUCCEEDED, parent.error_message
    second = submit(conversation, user, "add a red boat", parent=parent, retries=0)  # replays the signed turn
    run_all()
    response = second.responses.get()
    assert response.status == ResponseStatus.SUCCEEDED, response.error_message
    assert response.final_image is not None


@pytest.mark.parametrize(
    ("mode", "path"),
    [
        (
            {"GEMINI_VERTEX_PROJECT": "studio-proj", "GEMINI_VERTEX_ACCESS_TOKEN": "ya29.test"},
            f"/v1beta1/projects/studio-proj/locations/global/publishers/google/models/{MODEL}:streamGenerateContent",
        ),
        (
            {"GEMINI_VERTEX_EXPRESS": True, "api_key": "vertex-key"},
            f"/v1beta1/publishers/google/models/{MODEL}:streamGenerateContent",
        ),
    ],
    ids=["project", "express"],
)
def test_a_full_generation_and_edit_in_vertex_mode(
    settings: Any, emulator: LiveEmulator, mode: dict[str, Any], path: str
) -> None:
    vertex(settings, emulator, **mode)
    run_a_chain_with_a_large_reference()
    calls = [r for r in emulator.requests() if "GenerateContent" in r["path"]]
    assert [c["path"] for c in calls] == [path, path]
    # Vertex AI has no Files API: the large reference went inline, nothing was uploaded.
    assert not [r for r in emulator.requests() if "upload" in r["path"]]
    first_user_parts = calls[0]["body"]["contents"][0]["parts"]
    assert any("inlineData" in part or "inline_data" in part for part in first_user_parts)
