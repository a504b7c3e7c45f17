"""Several image models, each with its own sizes, ratios, thinking levels and token limits; the
Vertex AI paths; retry hints in headers."""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from studio.emulator.model_specs import MODELS
from tests.emulator.calls import final_image, image_config, open_image
from tests.live_emulator import LiveEmulator

FLASH = "gemini-3.1-flash-image"
PRO = "gemini-3-pro-image"


def test_flash_serves_512_px_and_the_extreme_ratios_at_their_sizes(client: genai.Client) -> None:
    for aspect, size, expected in (
        ("1:8", "512", (176, 1408)),
        ("8:1", "1K", (2816, 352)),
        ("1:4", "2K", (1024, 4096)),
    ):
        response = client.models.generate_content(
            model=FLASH, contents="a tall tower", config=image_config(aspect, size)
        )
        assert open_image(final_image(response)).size == expected
        assert MODELS[FLASH].pixels(aspect, size) == expected
    usage = response.usage_metadata
    assert usage is not None and usage.candidates_tokens_details is not None
    image_tokens = [d.token_count for d in usage.candidates_tokens_details if d.modality == types.MediaModality.IMAGE]
    assert image_tokens == [1680]  # Flash's 2K image, not Pro's 1120


@pytest.mark.parametrize(("aspect", "size", "words"), [("1:8", "1K", "aspect_ratio"), ("1:1", "512", "image_size")])
def test_pro_refuses_what_only_flash_has(client: genai.Client, aspect: str, size: str, words: str) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=PRO, contents="x", config=image_config(aspect, size))
    assert caught.value.code == 400
    assert words in (caught.value.message or "")


def test_thinking_level_is_per_model(client: genai.Client) -> None:
    def level(value: types.ThinkingLevel) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level=value))

    response = client.models.generate_content(model=FLASH, contents="a cat", config=level(types.ThinkingLevel.HIGH))
    assert final_image(response)
    with pytest.raises(errors.ClientError, match="Thinking level is not supported for this model"):
        client.models.generate_content(model=PRO, contents="a cat", config=level(types.ThinkingLevel.HIGH))
    with pytest.raises(errors.ClientError, match="use MINIMAL or HIGH"):
        client.models.generate_content(model=FLASH, contents="a cat", config=level(types.ThinkingLevel.LOW))


def test_input_token_limit_is_the_models_own(client: genai.Client) -> None:
    long_prompt = "word " * 60_000  # 300,000 characters: about 75,000 tokens
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=PRO, contents=long_prompt, config=image_config())
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.message == (
        "The input token count (75000) exceeds the maximum number of tokens allowed (65536)."
    )
    # Flash's window is larger; and counting tokens is never refused.
    assert final_image(client.models.generate_content(model=FLASH, contents=long_prompt, config=image_config()))
    assert client.models.count_tokens(model=PRO, contents=long_prompt).total_tokens == 75000


def test_retry_after_header_on_request(emulator: LiveEmulator) -> None:
    response = httpx.post(
        f"{emulator.url}/v1beta/models/{PRO}:generateContent",
        json={"contents": [{"parts": [{"text": "x"}]}]},
        headers={"x-goog-api-key": "k", "x-emulator-scenario": "error=503, retry_after=7"},
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    plain = httpx.post(
        f"{emulator.url}/v1beta/models/{PRO}:generateContent",
        json={"contents": [{"parts": [{"text": "x"}]}]},
        headers={"x-goog-api-key": "k", "x-emulator-scenario": "error=503"},
    )
    assert "retry-after" not in plain.headers


def test_vertex_paths_project_and_express_mode(emulator: LiveEmulator) -> None:
    options = types.HttpOptions(base_url=emulator.url)
    token = Credentials(token="t")  # type: ignore[no-untyped-call]
    project = genai.Client(vertexai=True, project="p1", location="global", credentials=token, http_options=options)
    express = genai.Client(vertexai=True, api_key="k", http_options=options)
    for client, path in (
        (project, f"/v1beta1/projects/p1/locations/global/publishers/google/models/{PRO}:streamGenerateContent"),
        (express, f"/v1beta1/publishers/google/models/{PRO}:streamGenerateContent"),
    ):
        chunks = list(client.models.generate_content_stream(model=PRO, contents="a fox", config=image_config("16:9")))
        images = [
            p.inline_data.data
            for c in chunks
            for p in (c.candidates[0].content.parts if c.candidates and c.candidates[0].content else None) or []
            if p.inline_data and not p.thought
        ]
        assert open_image(images[-1]).size == (1376, 768)
        assert emulator.requests()[-1]["path"] == path
