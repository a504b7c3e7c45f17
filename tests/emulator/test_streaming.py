"""streamGenerateContent: exact SSE framing on the wire, and what the SDK makes of it."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
from google import genai
from google.genai import types

from tests.emulator.calls import MODEL, image_config, open_image, sniff
from tests.live_emulator import LiveEmulator

REST_BODY = {
    "contents": [
        {
            "parts": [{"text": "Visualize the 5-day weather forecast for San Francisco as a modern chart"}],
            "role": "user",
        }
    ],
    "tools": [{"google_search": {}}],
    "generationConfig": {
        "responseModalities": ["TEXT", "IMAGE"],
        "thinkingConfig": {"include_thoughts": True},
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
    },
}


def raw_stream(emulator: LiveEmulator, body: dict[str, Any], version: str = "v1beta") -> tuple[httpx.Response, str]:
    response = httpx.post(
        f"{emulator.url}/{version}/models/{MODEL}:streamGenerateContent?alt=sse",
        json=body,
        headers={"x-goog-api-key": "k"},
        timeout=30,
    )
    return response, response.text


def events_of(text: str) -> list[dict[str, Any]]:
    chunks = text.split("\r\n\r\n")
    assert chunks[-1] == "", "the stream ends with a complete event"
    events = []
    for chunk in chunks[:-1]:
        assert chunk.startswith("data: "), "every event is one `data: ` line (with the space)"
        assert "\n" not in chunk
        events.append(json.loads(chunk[len("data: ") :]))
    return events


def test_sse_framing_and_event_shape(emulator: LiveEmulator) -> None:
    response, text = raw_stream(emulator, REST_BODY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(text)
    assert len(events) >= 5
    for event in events:
        assert event["modelVersion"] == MODEL and event["responseId"] == events[0]["responseId"]
        parts = event["candidates"][0]["content"]["parts"]
        assert parts and all(part for part in parts), "every event carries non-empty parts"
        assert "usageMetadata" in event and event["usageMetadata"]["promptTokenCount"] > 0
    last = events[-1]["candidates"][0]
    assert last["finishReason"] == "STOP"
    assert "groundingMetadata" in last
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert all("groundingMetadata" not in e["candidates"][0] for e in events[:-1])
    assert "candidatesTokensDetails" in events[-1]["usageMetadata"]


def test_usage_is_a_running_total(emulator: LiveEmulator) -> None:
    _, text = raw_stream(emulator, REST_BODY)
    totals = [e["usageMetadata"]["totalTokenCount"] for e in events_of(text)]
    assert totals == sorted(totals) and totals[-1] > totals[0]


def test_thought_text_is_delta_streamed_before_the_answer(emulator: LiveEmulator) -> None:
    _, text = raw_stream(emulator, REST_BODY)
    parts = [e["candidates"][0]["content"]["parts"][0] for e in events_of(text)]
    kinds = [
        "thought-text" if p.get("thought") and "text" in p else "thought-image" if p.get("thought") else "final"
        for p in parts
    ]
    first_final = kinds.index("final")
    assert kinds[:first_final].count("thought-text") >= 4
    assert "thought-image" in kinds[:first_final]
    assert "thought" not in "".join(kinds[first_final:])
    signed = [i for i, p in enumerate(parts) if "thoughtSignature" in p]
    assert signed == [first_final, first_final + 1], "signed: the answer's text and its image, nothing else"
    assert parts[-1] == {"text": ""}, "the closing event carries an empty text part"


def test_standard_base64_goes_out(emulator: LiveEmulator) -> None:
    _, text = raw_stream(emulator, REST_BODY)
    images = [
        p["inlineData"]["data"]
        for e in events_of(text)
        for p in e["candidates"][0]["content"]["parts"]
        if "inlineData" in p
    ]
    assert images and all(d.startswith("/9j/") for d in images), "a JPEG in standard base64 starts /9j/"


def test_sdk_stream_sync(client: genai.Client) -> None:
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents="a robot", config=image_config(grounding=True))
    )
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].candidates[0].grounding_metadata is not None
    images = [
        p.inline_data.data
        for c in chunks
        for p in c.candidates[0].content.parts or []
        if p.inline_data and p.inline_data.data and not p.thought
    ]
    assert len(images) == 1 and sniff(images[0]) == "image/jpeg"


def test_sdk_stream_async(client: genai.Client) -> None:
    async def collect() -> list[types.GenerateContentResponse]:
        stream = await client.aio.models.generate_content_stream(
            model=MODEL, contents="a robot", config=image_config("9:16", "2K")
        )
        return [chunk async for chunk in stream]

    chunks = asyncio.run(collect())
    final = [
        p.inline_data.data
        for c in chunks
        for p in c.candidates[0].content.parts or []
        if p.inline_data and p.inline_data.data and not p.thought
    ]
    assert open_image(final[0]).size == (1536, 2752)


def test_all_api_versions_are_served(emulator: LiveEmulator) -> None:
    for version in ("v1", "v1beta", "v1alpha"):
        response, text = raw_stream(emulator, REST_BODY, version)
        assert response.status_code == 200 and events_of(text)


def test_thoughts_stream_while_the_image_is_still_being_drawn(emulator: LiveEmulator) -> None:
    """Like Gemini, the emulator sends thought summaries before the image exists: with every drawing
    thread held, the thoughts still arrive; the image follows once drawing is free again."""
    drawing = emulator.app.state.emulator._drawing
    release = threading.Event()
    held = [drawing.submit(release.wait) for _ in range(drawing._max_workers)]
    body = {**REST_BODY, "contents": [{"role": "user", "parts": [{"text": "a harbour, drawn later"}]}]}
    body.pop("tools")
    lines: list[dict[str, Any]] = []
    try:
        with httpx.stream(
            "POST",
            f"{emulator.url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
            json=body,
            headers={"x-goog-api-key": "k"},
            timeout=30,
        ) as response:
            chunks = response.iter_lines()
            while True:
                line = next(chunks)
                if not line:
                    continue
                event = json.loads(line.removeprefix("data: "))
                lines.append(event)
                part = event["candidates"][0]["content"]["parts"][0]
                if not (part.get("thought") and "text" in part):
                    break  # the first event that needs the image: it can only come after the release
                if len(lines) == 4:
                    assert not any(f.done() for f in held), "four thought events arrived while drawing was held"
                    release.set()
    finally:
        release.set()
    assert len(lines) >= 5
    assert "inlineData" in lines[-1]["candidates"][0]["content"]["parts"][0]
