"""References reach Gemini as user parts, labelled by role; earlier versions need no signature."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.chat.models import ReferenceRole, ResponseStatus
from studio.chat.references import ReferenceInput
from studio.chat.services import ChatError
from tests.chat.test_references import png
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_project, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def last_body(emulator: LiveEmulator) -> dict:  # type: ignore[type-arg]
    calls = [r for r in emulator.requests() if "GenerateContent" in r["path"]]
    body: dict = calls[-1]["body"]  # type: ignore[type-arg]
    return body


def test_uploaded_references_are_labelled_user_parts_and_set_auto_aspect(gemini: LiveEmulator) -> None:
    user = make_user("vera")
    conversation = make_conversation(user)
    wide = png(320, 180)
    turn = submit(
        conversation,
        user,
        "put her on this beach",
        references=[
            ReferenceInput(role=ReferenceRole.PERSON, upload=SimpleUploadedFile("her.png", wide)),
            ReferenceInput(role=ReferenceRole.STYLE, upload=SimpleUploadedFile("style.png", png(50, 50))),
        ],
    )
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.SUCCEEDED
    assert (response.final_images[0].width, response.final_images[0].height) == (1376, 768), "auto follows 16:9"
    body = last_body(gemini)
    assert body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"
    parts = body["contents"][-1]["parts"]
    assert [p.get("text") for p in parts if "text" in p] == [
        "put her on this beach",
        "Reference image 1 (person):",
        "Reference image 2 (style):",
    ]
    images = [p for p in parts if "inlineData" in p]
    assert base64.urlsafe_b64decode(images[0]["inlineData"]["data"] + "==") == wide
    assert all("thoughtSignature" not in p for p in parts)


def test_an_earlier_version_from_another_conversation_of_the_project(gemini: LiveEmulator) -> None:
    user = make_user("wes")
    project = make_project(user)
    first = make_conversation(user, project)
    submit(first, user, "a red teapot")
    run_all()
    version = first.turns.get().responses.get().final_images[0]
    second = make_conversation(user, project)
    turn = submit(second, user, "this teapot, in blue", references=[ReferenceInput(role="object", version=version)])
    run_all()
    assert turn.responses.get().status == ResponseStatus.SUCCEEDED
    reference = turn.references.get()
    assert reference.storage_key == version.storage_key, "versions are shared, never copied"
    image = next(p for p in last_body(gemini)["contents"][-1]["parts"] if "inlineData" in p)
    sent = base64.urlsafe_b64decode(image["inlineData"]["data"] + "==")
    assert hashlib.sha256(sent).hexdigest() == version.sha256


def test_versions_from_another_project_are_refused(gemini: LiveEmulator) -> None:
    user = make_user("xia")
    elsewhere = make_conversation(user, make_project(user, "Other"))
    submit(elsewhere, user, "a secret")
    run_all()
    version = elsewhere.turns.get().responses.get().final_images[0]
    here = make_conversation(user, make_project(user, "Here"))
    with pytest.raises(ChatError, match="only come from conversations of this project"):
        submit(here, user, "use it", references=[ReferenceInput(role="object", version=version)])
