"""The studio's Gemini client keeps one open call per running job, however many the runner allows."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys

from django.conf import settings
from google.genai import types

from studio.generation.gemini import GeminiClient, GeminiSettings, _content
from studio.generation.messages import ImageRequest, InputContent, InputPart
from tests.live_emulator import StartEmulator

MODEL = "gemini-3-pro-image"


def stalled_request(index: int) -> ImageRequest:
    prompt = f"pool {index} [[emulator: stall]]"  # the emulator logs the call, then never answers
    return ImageRequest(model=MODEL, contents=(InputContent(role="user", parts=(InputPart(text=prompt),)),))


async def calls_reaching_gemini(start_emulator: StartEmulator, *, calls: int, max_connections: int, expect: int) -> int:
    """Start `calls` streams at once; wait until `expect` reached the emulator, then a little longer."""
    emulator = start_emulator(log_requests=calls + 10)
    client = GeminiClient(GeminiSettings(api_key="k", base_url=emulator.url, max_connections=max_connections))

    async def call(index: int) -> None:
        async for _event in client.stream(stalled_request(index)):
            pass

    async def arrived() -> int:
        logged = await asyncio.to_thread(emulator.requests)
        return sum(1 for r in logged if "GenerateContent" in r["path"])

    tasks = [asyncio.create_task(call(i)) for i in range(calls)]
    try:
        for _ in range(200):
            if await arrived() >= expect:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # any call held back only by a busy loop would have arrived by now
        return await arrived()
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_pool_sized_to_the_runner_lets_every_call_through(start_emulator: StartEmulator) -> None:
    assert await calls_reaching_gemini(start_emulator, calls=120, max_connections=128, expect=120) == 120


async def test_a_smaller_pool_holds_calls_back(start_emulator: StartEmulator) -> None:
    """Why the pool is sized: the SDK's default of 100 connections would queue the 101st generation."""
    assert await calls_reaching_gemini(start_emulator, calls=120, max_connections=100, expect=100) == 100


WARM_UP_CHECK = """
from google.genai import types
from studio.generation.gemini import GeminiClient, GeminiSettings
used = [types.GenerateContentConfig, types.ImageConfig, types.Tool, types.SafetySetting, types.Content, types.Part,
        types.GenerateContentResponse, types.GroundingMetadata, types._GenerateContentParameters]
assert not any(t.__pydantic_complete__ for t in used), "the check needs a process where they are not built yet"
GeminiClient(GeminiSettings(api_key="x")).warm_up()
print(sorted(t.__name__ for t in used if not t.__pydantic_complete__))
"""


def test_warm_up_builds_the_sdk_types_a_job_uses_so_the_first_burst_does_not() -> None:
    """pydantic builds a model's validator on its first use; the SDK's are all deferred at import."""
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP_CHECK], capture_output=True, text=True, timeout=60, cwd=settings.BASE_DIR
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"still built on first use: {done.stdout}"


def test_contents_go_to_the_sdk_as_typed_dicts_that_validate_to_the_same_content() -> None:
    """Dicts are 4x cheaper for the SDK to validate than models; what it sends must not change."""
    content = InputContent(
        "model",
        (
            InputPart(text="a cat", signature=b"sig-1"),
            InputPart(data=b"\x89PNG", mime_type="image/png", signature=b"sig-2"),
            InputPart(file_uri="https://example.test/files/1", mime_type="image/jpeg"),
        ),
    )
    expected = types.Content(
        role="model",
        parts=[
            types.Part(text="a cat", thought_signature=b"sig-1"),
            types.Part(inline_data=types.Blob(data=b"\x89PNG", mime_type="image/png"), thought_signature=b"sig-2"),
            types.Part.from_uri(file_uri="https://example.test/files/1", mime_type="image/jpeg"),
        ],
    )
    assert types.Content.model_validate(_content(content)) == expected
