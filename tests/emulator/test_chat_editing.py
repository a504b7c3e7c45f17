"""Multi-turn editing: the SDK's chats, replayed signatures, and the real 400s when they are wrong."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.emulator.calls import MODEL, final_image, image_config, mean_difference, open_image
from tests.live_emulator import LiveEmulator, StartEmulator


def test_ten_turn_streaming_chat_edit(client: genai.Client, emulator: LiveEmulator) -> None:
    chat = client.chats.create(model=MODEL, config=image_config("16:9", "1K"))
    previous: bytes | None = None
    for turn in range(1, 11):
        images = []
        for chunk in chat.send_message_stream(f"edit number {turn}: add a detail"):
            for part in chunk.candidates[0].content.parts or []:
                if part.inline_data and part.inline_data.data and not part.thought:
                    images.append(part.inline_data.data)
        assert len(images) == 1, f"turn {turn} produced its image"
        assert open_image(images[0]).size == (1376, 768)
        if previous is not None:
            assert images[0] != previous
            assert mean_difference(images[0], previous) < 40, "each edit derives from the image before it"
        previous = images[0]
    last_request = emulator.requests()[-1]["body"]
    roles = [c["role"] for c in last_request["contents"]]
    assert roles.count("user") == 10, "the SDK replays the whole history, thought parts included"


def test_ten_turn_non_streaming_chat_edit(client: genai.Client) -> None:
    chat = client.chats.create(model=MODEL, config=image_config(thoughts=False))
    for turn in range(10):
        response = chat.send_message(f"turn {turn}")
        assert final_image(response)
    assert len(chat.get_history()) == 20


# -- tampering with replayed history (raw HTTP, so every byte is ours) -----------------------


def first_turn(emulator: LiveEmulator, modalities: list[str] | None = None) -> list[dict[str, Any]]:
    """A user turn and the model's answer to it, as the non-streaming API returned it."""
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a lighthouse"}]}],
        "generationConfig": {
            "responseModalities": modalities or ["TEXT", "IMAGE"],
            "thinkingConfig": {"includeThoughts": True},
        },
    }
    answer = post(emulator, body).json()
    return [body["contents"][0], answer["candidates"][0]["content"]]


def follow_up(history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"contents": [*history, {"role": "user", "parts": [{"text": "make it night"}]}]}


def post(emulator: LiveEmulator, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{emulator.url}/v1beta/models/{MODEL}:generateContent", json=body, headers={"x-goog-api-key": "k"}, timeout=30
    )


def signed_positions(content: dict[str, Any]) -> list[int]:
    return [i for i, p in enumerate(content["parts"]) if "thoughtSignature" in p]


def test_replayed_history_with_signatures_is_accepted(emulator: LiveEmulator) -> None:
    history = first_turn(emulator)
    assert post(emulator, follow_up(history)).status_code == 200


def test_url_safe_base64_replay_is_accepted(emulator: LiveEmulator) -> None:
    history = first_turn(emulator)
    for part in history[1]["parts"]:
        if "thoughtSignature" in part:
            part["thoughtSignature"] = base64.urlsafe_b64encode(base64.b64decode(part["thoughtSignature"])).decode()
        if "inlineData" in part:
            part["inlineData"]["data"] = (
                base64.urlsafe_b64encode(base64.b64decode(part["inlineData"]["data"])).decode().rstrip("=")
            )
    assert post(emulator, follow_up(history)).status_code == 200


@pytest.mark.parametrize("kind", ["Text", "Image"])
def test_stripping_a_required_signature_gives_the_real_400(emulator: LiveEmulator, kind: str) -> None:
    history = first_turn(emulator)
    model = history[1]
    index = next(i for i in signed_positions(model) if ("inlineData" in model["parts"][i]) == (kind == "Image"))
    del model["parts"][index]["thoughtSignature"]
    response = post(emulator, follow_up(history))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith(
        f"{kind} part is missing a thought_signature in content position 2, part position {index + 1}."
    )
    assert "https://ai.google.dev/gemini-api/docs/thought-signatures" in error["message"]


def test_image_only_answer_needs_its_image_signature(emulator: LiveEmulator) -> None:
    history = first_turn(emulator, ["IMAGE"])
    index = signed_positions(history[1])[0]
    del history[1]["parts"][index]["thoughtSignature"]
    message = post(emulator, follow_up(history)).json()["error"]["message"]
    assert message.startswith(
        f"Image part is missing a thought_signature in content position 2, part position {index + 1}."
    )


def test_every_signed_part_is_checked_in_every_earlier_model_turn(emulator: LiveEmulator) -> None:
    history = first_turn(emulator)
    second = post(emulator, follow_up(history)).json()["candidates"][0]["content"]
    long_history = [*follow_up(history)["contents"], second]
    for index in signed_positions(second):
        tampered = copy.deepcopy(long_history)
        del tampered[3]["parts"][index]["thoughtSignature"]
        response = post(emulator, follow_up(tampered))
        assert response.status_code == 400
        assert f"content position 4, part position {index + 1}." in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("tamper", "word"),
    [
        ("flip-signature-byte", "Invalid"),
        ("forged-signature", "Invalid"),
        ("garbage-signature", "Corrupted"),
        ("truncated-signature", "Corrupted"),
        ("re-encoded-image", "Invalid"),
        ("edited-text", "Invalid"),
    ],
)
def test_altered_or_forged_signatures_are_rejected(emulator: LiveEmulator, tamper: str, word: str) -> None:
    history = first_turn(emulator)
    parts = history[1]["parts"]
    text_index, image_index = signed_positions(history[1])
    if tamper == "flip-signature-byte":
        raw = bytearray(base64.b64decode(parts[image_index]["thoughtSignature"]))
        raw[-1] ^= 0x01
        parts[image_index]["thoughtSignature"] = base64.b64encode(bytes(raw)).decode()
        target = image_index
    elif tamper == "forged-signature":
        parts[image_index]["thoughtSignature"] = base64.b64encode(b"EMU1" + bytes(48)).decode()
        target = image_index
    elif tamper == "garbage-signature":
        parts[text_index]["thoughtSignature"] = base64.b64encode(b"not a signature at all").decode()
        target = text_index
    elif tamper == "truncated-signature":
        parts[text_index]["thoughtSignature"] = parts[text_index]["thoughtSignature"][:24]
        target = text_index
    elif tamper == "re-encoded-image":
        from io import BytesIO

        image = open_image(base64.b64decode(parts[image_index]["inlineData"]["data"]))
        out = BytesIO()
        image.save(out, "JPEG", quality=70)
        parts[image_index]["inlineData"]["data"] = base64.b64encode(out.getvalue()).decode()
        target = image_index
    else:
        parts[text_index]["text"] += " (edited)"
        target = text_index
    response = post(emulator, follow_up(history))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"{word} thought signature in content position 2, part position {target + 1}."
    )


@pytest.mark.parametrize("dummy", ["context_engineering_is_the_way_to_go", "skip_thought_signature_validator"])
def test_documented_dummy_signatures_pass(emulator: LiveEmulator, dummy: str) -> None:
    history = first_turn(emulator)
    for index in signed_positions(history[1]):
        history[1]["parts"][index]["thoughtSignature"] = dummy
    assert post(emulator, follow_up(history)).status_code == 200


def test_dummy_signature_via_the_sdk_as_str(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents="a cat", config=image_config(thoughts=False))
    image = final_image(answer)
    contents = [
        types.Content(role="user", parts=[types.Part(text="a cat")]),
        types.Content(
            role="model",
            parts=[
                types.Part(
                    inline_data=types.Blob(data=image, mime_type="image/jpeg"),
                    thought_signature="skip_thought_signature_validator",
                )
            ],
        ),
        types.Content(role="user", parts=[types.Part(text="make it blue")]),
    ]
    assert final_image(client.models.generate_content(model=MODEL, contents=contents, config=image_config()))


def test_sdk_raises_the_400_for_a_stripped_signature(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents="a cat", config=image_config(thoughts=False))
    model_content = answer.candidates[0].content
    assert model_content is not None and model_content.parts
    for part in model_content.parts:
        part.thought_signature = None
    contents = [types.Content(role="user", parts=[types.Part(text="a cat")]), model_content, "make it blue"]
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents=contents, config=image_config())
    assert caught.value.code == 400
    assert caught.value.message and caught.value.message.startswith(
        "Text part is missing a thought_signature in content position 2, part position 1."
    )


def test_earlier_image_as_a_user_part_needs_no_signature(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents="a cat", config=image_config(thoughts=False))
    picture = types.Part.from_bytes(data=final_image(answer), mime_type="image/jpeg")
    assert final_image(
        client.models.generate_content(model=MODEL, contents=[picture, "make it blue"], config=image_config())
    )


def test_vertex_backend_is_lenient_about_missing_but_not_forged(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(backend="vertex")
    history = first_turn(server)
    text_index, image_index = signed_positions(history[1])
    del history[1]["parts"][text_index]["thoughtSignature"]
    del history[1]["parts"][image_index]["thoughtSignature"]
    assert post(server, follow_up(history)).status_code == 200
    history[1]["parts"][image_index]["thoughtSignature"] = base64.b64encode(b"EMU1" + bytes(48)).decode()
    assert post(server, follow_up(history)).status_code == 400


def test_signing_key_survives_a_restart(start_emulator: StartEmulator) -> None:
    first: LiveEmulator = start_emulator(seed=3)
    history = first_turn(first)
    second: LiveEmulator = start_emulator(seed=3)
    assert post(second, follow_up(history)).status_code == 200
    other: LiveEmulator = start_emulator(seed=4)
    assert post(other, follow_up(history)).status_code == 400


def test_padded_signatures_are_large_and_verified(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(signature_pad_bytes=200_000)
    history = first_turn(server)
    _, image_index = signed_positions(history[1])
    signature = base64.b64decode(history[1]["parts"][image_index]["thoughtSignature"])
    assert len(signature) > 200_000
    assert post(server, follow_up(history)).status_code == 200
    raw = bytearray(signature)
    raw[100_000] ^= 0xFF  # inside the pad
    history[1]["parts"][image_index]["thoughtSignature"] = base64.b64encode(bytes(raw)).decode()
    assert post(server, follow_up(history)).status_code == 400
