"""The emulator's request log: bounded in memory, and timing what each stream event carried."""

from __future__ import annotations

import base64
import os

import httpx
from google import genai

from tests.emulator.calls import MODEL, image_config
from tests.live_emulator import LiveEmulator, StartEmulator


def test_stream_events_are_logged_with_when_they_went_out(client: genai.Client, emulator: LiveEmulator) -> None:
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="a red kite", config=image_config()))
    (entry,) = [r for r in emulator.requests() if "streamGenerateContent" in r["path"]][-1:]
    emitted = entry["emitted"]
    assert len(emitted) == len(chunks)
    times = [event["at"] for event in emitted]
    assert times == sorted(times)
    kinds = [kind for event in emitted for kind in event["kinds"]]
    assert ("thought-text" in kinds and kinds[-1] == "image") or "image" in kinds
    thoughts = "".join(event["thought"] for event in emitted)
    streamed = "".join(p.text or "" for c in chunks for p in c.candidates[0].content.parts or [] if p.thought)
    assert thoughts and thoughts == streamed


def test_older_logged_bodies_lose_their_images_past_the_budget(start_emulator: StartEmulator) -> None:
    emulator = start_emulator(log_bodies_mb=1)
    picture = base64.b64encode(os.urandom(400_000)).decode()  # about 530 KB on the wire each
    for index in range(3):
        body = {
            "contents": [{"parts": [{"text": f"n{index}"}, {"inlineData": {"mimeType": "image/png", "data": picture}}]}]
        }
        httpx.post(f"{emulator.url}/v1beta/models/{MODEL}:countTokens", json=body, headers={"x-goog-api-key": "k"})
    logged = [r for r in emulator.requests() if r["path"].endswith(":countTokens")]
    assert len(logged) == 3
    newest, older = logged[-1], logged[:-1]
    assert newest["body"]["contents"][0]["parts"][1]["inlineData"]["data"] == picture, "the newest stays whole"
    elided = [r for r in older if r["body"]["contents"][0]["parts"][1]["inlineData"]["data"].endswith("elided>")]
    assert elided, "past 1 MB the oldest bodies must drop their images"
    assert all(r["body"]["contents"][0]["parts"][0]["text"].startswith("n") for r in logged), "short fields stay"
