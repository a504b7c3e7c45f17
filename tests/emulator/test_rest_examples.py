"""Raw HTTP with the JSON of Google's own REST examples (snake_case, v1beta, ?alt=sse)."""

from __future__ import annotations

import base64

import httpx

from tests.emulator.calls import MODEL, open_image, solid_png
from tests.live_emulator import LiveEmulator


def test_docs_text_to_image_example(emulator: LiveEmulator) -> None:
    # https://ai.google.dev/gemini-api/docs/image-generation, REST tab.
    body = {
        "contents": [
            {"parts": [{"text": "Create a picture of a nano banana dish in a fancy restaurant with a Gemini theme"}]}
        ],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "5:4", "imageSize": "2K"},
        },
    }
    response = httpx.post(
        f"{emulator.url}/v1beta/models/{MODEL}:generateContent",
        headers={"x-goog-api-key": "KEY", "Content-Type": "application/json"},
        json=body,
        timeout=30,
    )
    assert response.status_code == 200
    parts = response.json()["candidates"][0]["content"]["parts"]
    image = next(p for p in parts if "inlineData" in p)
    assert image["inlineData"]["mimeType"] == "image/jpeg"
    assert open_image(base64.b64decode(image["inlineData"]["data"])).size == (2304, 1856)


def test_docs_edit_example_with_inline_data_in_snake_case(emulator: LiveEmulator) -> None:
    body = {
        "contents": [
            {
                "parts": [
                    {"text": "Add a small wizard hat to this cat."},
                    {"inline_data": {"mime_type": "image/png", "data": base64.b64encode(solid_png(512, 512)).decode()}},
                ]
            }
        ]
    }
    response = httpx.post(
        f"{emulator.url}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": "K"}, json=body, timeout=30
    )
    assert response.status_code == 200
    assert response.json()["usageMetadata"]["promptTokensDetails"][1] == {"modality": "IMAGE", "tokenCount": 560}


def test_docs_grounded_stream_example(emulator: LiveEmulator) -> None:
    body = {
        "contents": [
            {"parts": [{"text": "Visualize the current weather forecast for the next 5 days in San Francisco"}]}
        ],
        "tools": [{"google_search": {}}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "16:9"}},
    }
    response = httpx.post(
        f"{emulator.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": "K"},
        json=body,
        timeout=30,
    )
    assert response.status_code == 200 and response.text.endswith("\r\n\r\n")
    assert '"groundingMetadata"' in response.text.split("\r\n\r\n")[-2]


def test_pretty_printed_error_bodies(emulator: LiveEmulator) -> None:
    response = httpx.post(
        f"{emulator.url}/v1beta/models/nope:generateContent", headers={"x-goog-api-key": "K"}, json={}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text.startswith('{\n  "error": {\n    "code": 404,')


def test_models_endpoints(emulator: LiveEmulator) -> None:
    listing = httpx.get(f"{emulator.url}/v1beta/models", headers={"x-goog-api-key": "K"}).json()
    assert [m["name"] for m in listing["models"]] == [
        "models/gemini-3-pro-image",
        "models/gemini-3-pro-image-preview",
        "models/gemini-3.1-flash-image",
    ]
    limits = {m["name"]: m["inputTokenLimit"] for m in listing["models"]}
    assert limits["models/gemini-3-pro-image"] == 65536
    assert limits["models/gemini-3.1-flash-image"] == 131072
    missing = httpx.get(f"{emulator.url}/v1beta/models/gemini-1.0-pro", headers={"x-goog-api-key": "K"})
    assert missing.status_code == 404
