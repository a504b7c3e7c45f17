"""Outcomes and faults on demand: blocks, safety, refusals, HTTP errors, broken and slow streams."""

from __future__ import annotations

import time

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.emulator.calls import MODEL, final_parts, image_config, thought_parts
from tests.live_emulator import LiveEmulator, StartEmulator


@pytest.mark.parametrize("reason", ["SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"])
def test_prompt_block_has_feedback_and_no_candidates(client: genai.Client, reason: str) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="x", config=image_config(scenario=f"prompt_block={reason}")
    )
    assert response.candidates is None
    assert response.prompt_feedback and response.prompt_feedback.block_reason == types.BlockedReason(reason)
    assert response.usage_metadata and response.usage_metadata.prompt_token_count


def test_image_safety(client: genai.Client, emulator: LiveEmulator) -> None:
    response = client.models.generate_content(model=MODEL, contents="x", config=image_config(scenario="image_safety"))
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.IMAGE_SAFETY
    assert final_parts(response) == []
    # SDK 3.3.0 drops candidate.finishMessage while parsing, so read it off the wire.
    raw = httpx.post(
        f"{emulator.url}/v1beta/models/{MODEL}:generateContent",
        json={"contents": [{"parts": [{"text": "x"}]}]},
        headers={"x-goog-api-key": "k", "x-emulator-scenario": "image_safety"},
    ).json()["candidates"][0]
    assert "content" not in raw, "a filtered image leaves a candidate with no parts"
    assert raw["finishMessage"].startswith("Unable to show the generated image.")
    assert "You will not be charged for blocked images." in raw["finishMessage"]
    usage = response.usage_metadata
    assert usage and usage.candidates_token_count == 0 and usage.thoughts_token_count


def test_no_image(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="x", config=image_config(scenario="no_image"))
    assert response.candidates[0].finish_reason == types.FinishReason.NO_IMAGE
    assert final_parts(response) == []


def test_text_only_refusal_is_signed_and_stops(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="x", config=image_config(scenario="refusal"))
    finals = final_parts(response)
    assert len(finals) == 1 and finals[0].text and finals[0].thought_signature and not finals[0].inline_data
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def test_prompt_marker_works_like_the_header(client: genai.Client, start_emulator: StartEmulator) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="a cat [[emulator: image_safety]]", config=image_config()
    )
    assert response.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY
    off: LiveEmulator = start_emulator(prompt_markers=False)
    off_client = off.client()
    response = off_client.models.generate_content(
        model=MODEL, contents="a cat [[emulator: image_safety]]", config=image_config()
    )
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def test_429_with_retry_info(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL, contents="x", config=image_config(scenario="error=429, retry_delay=5")
        )
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.message and caught.value.message.startswith("You exceeded your current quota")
    details = caught.value.details["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"} in details
    assert any(d["@type"].endswith("google.rpc.Help") for d in details)


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        (500, "INTERNAL", "An internal error has occurred."),
        (504, "DEADLINE_EXCEEDED", "The request timed out."),
    ],
)
def test_server_errors(client: genai.Client, code: int, status: str, message: str) -> None:
    with pytest.raises(errors.ServerError) as caught:
        client.models.generate_content(model=MODEL, contents="x", config=image_config(scenario=f"error={code}"))
    assert caught.value.code == code and caught.value.status == status
    assert caught.value.message and caught.value.message.startswith(message)


def test_408(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="x", config=image_config(scenario="error=408"))
    assert caught.value.code == 408


def test_sdk_retries_recover_after_fail_times(emulator: LiveEmulator) -> None:
    retrying = emulator.client(retry_options=types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05))
    config = image_config(scenario="error=503, fail_times=2")
    response = retrying.models.generate_content(model=MODEL, contents="retry me", config=config)
    assert final_parts(response)
    statuses = [r["status"] for r in emulator.requests() if ":generateContent" in r["path"]]
    assert statuses == [503, 503, 200]


def test_sdk_gives_up_when_attempts_run_out(emulator: LiveEmulator) -> None:
    retrying = emulator.client(retry_options=types.HttpRetryOptions(attempts=2, initial_delay=0.01, max_delay=0.05))
    with pytest.raises(errors.ClientError):
        retrying.models.generate_content(
            model=MODEL, contents="x", config=image_config(scenario="error=429, fail_times=5")
        )
    assert [r["status"] for r in emulator.requests()] == [429, 429]


def test_no_sdk_retry_without_retry_options(client: genai.Client, emulator: LiveEmulator) -> None:
    with pytest.raises(errors.ServerError):
        client.models.generate_content(
            model=MODEL, contents="x", config=image_config(scenario="error=503, fail_times=1")
        )
    assert len(emulator.requests()) == 1


def test_midstream_error_after_n_events(client: genai.Client) -> None:
    stream = client.models.generate_content_stream(
        model=MODEL, contents="x", config=image_config(scenario="midstream_error=503@3")
    )
    received = [next(stream) for _ in range(3)]
    assert all(chunk.candidates for chunk in received)
    with pytest.raises(errors.ServerError) as caught:
        next(stream)
    assert caught.value.code == 503 and caught.value.message == "The model is overloaded. Please try again later."


def test_server_wide_fault_rates(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(fault_429=1.0)
    failing = server.client()
    with pytest.raises(errors.ClientError) as caught:
        failing.models.generate_content(model=MODEL, contents="x")
    assert caught.value.code == 429
    broken: LiveEmulator = start_emulator(fault_midstream=1.0)
    broken_client = broken.client()
    with pytest.raises(errors.ServerError):
        list(broken_client.models.generate_content_stream(model=MODEL, contents="x", config=image_config()))


def test_first_byte_latency_directive(client: genai.Client) -> None:
    started = time.monotonic()
    client.models.generate_content(
        model=MODEL, contents="x", config=image_config(thoughts=False, scenario="latency=400")
    )
    assert time.monotonic() - started >= 0.4


def test_stall_sends_headers_then_nothing(emulator: LiveEmulator) -> None:
    url = f"{emulator.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    body = {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}
    headers = {"x-goog-api-key": "k", "x-emulator-scenario": "stall"}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=httpx.Timeout(5, read=0.5)) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            next(response.iter_bytes())


def test_stalled_call_times_out_in_the_sdk(emulator: LiveEmulator) -> None:
    impatient = emulator.client(timeout=500)  # milliseconds
    with pytest.raises((httpx.TimeoutException, Exception)) as caught:
        impatient.models.generate_content(model=MODEL, contents="x", config=image_config(scenario="stall"))
    assert "timeout" in type(caught.value).__name__.lower() or "timed out" in str(caught.value).lower()


def test_thoughts_directive(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="x", config=image_config(thoughts=None, scenario="thoughts=on, interim_images=0")
    )
    thoughts = thought_parts(response)
    assert thoughts and all(p.text for p in thoughts)


def test_control_endpoints(emulator: LiveEmulator) -> None:
    health = httpx.get(f"{emulator.url}/_emulator/health").json()
    assert health["status"] == "ok" and health["backend"] == "gemini"
    before = httpx.get(f"{emulator.url}/_emulator/clock").json()["epoch"]
    emulator.advance_clock(3600)
    after = httpx.get(f"{emulator.url}/_emulator/clock").json()["epoch"]
    assert after - before >= 3600
