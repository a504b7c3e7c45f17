"""Requests Google rejects get Google's status codes and messages."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.emulator.calls import MODEL, image_config, solid_png
from tests.live_emulator import LiveEmulator, StartEmulator


def post(emulator: LiveEmulator, body: dict[str, Any], *, model: str = MODEL, key: str | None = "k") -> httpx.Response:
    headers = {"x-goog-api-key": key} if key else {}
    return httpx.post(f"{emulator.url}/v1beta/models/{model}:generateContent", json=body, headers=headers, timeout=30)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == response.status_code
    return error


def prompt(**generation_config: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "a cat"}]}], "generationConfig": generation_config}


def test_lowercase_image_size_is_rejected(emulator: LiveEmulator) -> None:
    response = post(emulator, prompt(imageConfig={"imageSize": "1k"}))
    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "INVALID_ARGUMENT"
    assert "image_size must be one of '1K', '2K' or '4K'" in error["message"]


def test_bad_aspect_ratio_names_every_allowed_value(emulator: LiveEmulator) -> None:
    error = error_of(post(emulator, prompt(imageConfig={"aspectRatio": "7:5"})))
    assert error["message"] == (
        "* GenerateContentRequest.generation_config.image_config.aspect_ratio: aspect_ratio must be one of"
        " '1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9' or '21:9'.\n"
    )


def test_thinking_level_is_rejected_through_the_sdk(client: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW))
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="a cat", config=config)
    assert caught.value.code == 400 and caught.value.message == "Thinking level is not supported for this model."


def test_more_than_one_candidate_is_rejected(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL, contents="a cat", config=types.GenerateContentConfig(candidate_count=2)
        )
    assert caught.value.message == "Multiple candidates is not enabled for this model"


def test_unknown_field_is_a_bad_request_with_field_violations(emulator: LiveEmulator) -> None:
    error = error_of(post(emulator, prompt(imageConfig={"aspectRatio": "1:1", "outputMimeType": "image/png"})))
    message = (
        'Invalid JSON payload received. Unknown name "outputMimeType" at '
        "'generation_config.image_config': Cannot find field."
    )
    assert error["message"] == message
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "generation_config.image_config", "description": message}],
        }
    ]


def test_unknown_top_level_and_part_fields(emulator: LiveEmulator) -> None:
    body = prompt()
    body["surprise"] = 1
    assert 'Unknown name "surprise"' in error_of(post(emulator, body))["message"]
    body = {"contents": [{"role": "user", "parts": [{"text": "a", "colour": "red"}]}]}
    assert "at 'contents[0].parts[0]'" in error_of(post(emulator, body))["message"]


def test_snake_case_fields_are_accepted(emulator: LiveEmulator) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a cat"}]}],
        "generation_config": {
            "response_modalities": ["text", "Image"],
            "image_config": {"aspect_ratio": "3:2", "image_size": "1K"},
        },
        "safety_settings": [{"category": "harm_category_harassment", "threshold": "block_none"}],
    }
    assert post(emulator, body).status_code == 200


def test_fifteen_images_are_too_many(emulator: LiveEmulator) -> None:
    picture = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(solid_png(8, 8)).decode()}}
    ok = {"contents": [{"role": "user", "parts": [picture] * 14 + [{"text": "combine"}]}]}
    assert post(emulator, ok).status_code == 200
    too_many = {"contents": [{"role": "user", "parts": [picture] * 15 + [{"text": "combine"}]}]}
    error = error_of(post(emulator, too_many))
    assert (
        error["status"] == "INVALID_ARGUMENT"
        and "15 input images" in error["message"]
        and "at most 14" in error["message"]
    )


def test_request_over_the_size_limit(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(max_request_mb=0.5)
    big = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(bytes(600_000)).decode()}}
    response = post(server, {"contents": [{"role": "user", "parts": [big, {"text": "x"}]}]})
    assert response.status_code == 400
    assert error_of(response)["message"] == "Request payload size exceeds the limit: 524288 bytes."


@pytest.mark.parametrize("mime", ["image/gif", "application/pdf", "text/plain"])
def test_unsupported_mime_types(client: genai.Client, mime: str) -> None:
    part = types.Part.from_bytes(data=b"GIF89a....", mime_type=mime)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents=[part, "x"])
    assert caught.value.message == "MIME type must be image/png, image/jpeg, image/webp, image/heic, or image/heif."


def test_unreadable_image_bytes(client: genai.Client) -> None:
    part = types.Part.from_bytes(data=solid_png(40, 40)[:60], mime_type="image/png")
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents=[part, "x"])
    assert caught.value.message and caught.value.message.startswith("Unable to process input image.")


def test_invalid_base64(emulator: LiveEmulator) -> None:
    body = {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "***"}}]}]}
    assert "Base64 decoding failed" in error_of(post(emulator, body))["message"]


def test_missing_api_key(emulator: LiveEmulator) -> None:
    response = post(emulator, prompt(), key=None)
    assert response.status_code == 403
    assert error_of(response)["status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in error_of(response)["message"]


def test_key_as_query_parameter(emulator: LiveEmulator) -> None:
    response = httpx.post(f"{emulator.url}/v1beta/models/{MODEL}:generateContent?key=abc", json=prompt(), timeout=30)
    assert response.status_code == 200


def test_bad_key_on_demand(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="a cat", config=image_config(scenario="error=bad_key"))
    assert caught.value.code == 400
    assert caught.value.message == "API key not valid. Please pass a valid API key."
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_unknown_model_gets_the_real_404(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-9-ultra-image", contents="a cat")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert caught.value.message == (
        "models/gemini-9-ultra-image is not found for API version v1, or is not supported for generateContent."
        " Call ListModels to see the list of available models and their supported methods."
    )


def test_ga_model_id_is_served(client: genai.Client) -> None:
    response = client.models.generate_content(model="gemini-3-pro-image", contents="a cat")
    assert response.model_version == "gemini-3-pro-image"


def test_empty_contents(emulator: LiveEmulator) -> None:
    assert "contents is not specified" in error_of(post(emulator, {"contents": []}))["message"]


def test_bad_safety_enum(emulator: LiveEmulator) -> None:
    body = prompt()
    body["safetySettings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_SOME"}]
    error = error_of(post(emulator, body))
    assert error["message"].startswith("Invalid value at 'safety_settings[0].threshold'")


def test_malformed_directive_is_reported_not_ignored(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="a cat", config=image_config(scenario="error=418"))
    assert caught.value.message and "emulator directive" in caught.value.message
