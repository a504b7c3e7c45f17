"""Batch API through the SDK: inline and file input, state progression, results, cancel, delete."""

from __future__ import annotations

import io
import json

import pytest
from google import genai
from google.genai import types

from tests.emulator.calls import MODEL, open_image
from tests.live_emulator import LiveEmulator, StartEmulator

REQUESTS: list[types.InlinedRequestOrDict] = [
    {
        "contents": [{"parts": [{"text": "a cat"}], "role": "user"}],
        "config": {
            "response_modalities": ["TEXT", "IMAGE"],
            "image_config": {"aspect_ratio": "16:9", "image_size": "1K"},
        },
    },
    {"contents": [{"parts": [{"text": "a dog"}], "role": "user"}], "metadata": {"key": "k2"}},
    {"contents": [{"parts": [{"text": "blocked [[emulator: error=429]]"}], "role": "user"}]},
]


def test_inline_batch_progresses_and_returns_responses(client: genai.Client, emulator: LiveEmulator) -> None:
    job = client.batches.create(model=MODEL, src=REQUESTS, config={"display_name": "job1"})
    assert job.name and job.name.startswith("batches/")
    assert job.state == types.JobState.JOB_STATE_PENDING and job.display_name == "job1"
    emulator.advance_clock(1.0)
    assert client.batches.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING
    emulator.advance_clock(1.0)
    done = client.batches.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.end_time
    assert done.dest and done.dest.inlined_responses
    first, second, third = done.dest.inlined_responses
    assert first.response and first.response.candidates
    images = [p.inline_data.data for p in first.response.candidates[0].content.parts or [] if p.inline_data]
    assert open_image(images[-1]).size == (1376, 768)
    assert second.metadata == {"key": "k2"}
    assert third.error and third.error.code == 8 and third.response is None


def test_file_batch_writes_a_responses_file(client: genai.Client, emulator: LiveEmulator) -> None:
    lines = [
        {"key": "a", "request": {"contents": [{"parts": [{"text": "a cat"}]}]}},
        {
            "key": "b",
            "request": {
                "contents": [{"parts": [{"text": "a dog"}]}],
                "generation_config": {"image_config": {"image_size": "2K"}},
            },
        },
    ]
    jsonl = "\n".join(json.dumps(line) for line in lines).encode()
    source = client.files.upload(file=io.BytesIO(jsonl), config=types.UploadFileConfig(mime_type="application/jsonl"))
    job = client.batches.create(model=MODEL, src=source.name)
    emulator.advance_clock(5)
    done = client.batches.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest and done.dest.file_name
    content = client.files.download(file=done.dest.file_name)
    rows = [json.loads(line) for line in content.decode().splitlines()]
    assert [r["key"] for r in rows] == ["a", "b"]
    assert all("response" in r for r in rows)


def test_cancel_list_delete(client: genai.Client, emulator: LiveEmulator) -> None:
    kept = client.batches.create(model=MODEL, src=REQUESTS[:1])
    cancelled = client.batches.create(model=MODEL, src=REQUESTS[:1])
    client.batches.cancel(name=cancelled.name)
    assert client.batches.get(name=cancelled.name).state == types.JobState.JOB_STATE_CANCELLED
    emulator.advance_clock(5)
    assert client.batches.get(name=cancelled.name).state == types.JobState.JOB_STATE_CANCELLED
    names = [job.name for job in client.batches.list()]
    assert set(names) == {kept.name, cancelled.name}
    client.batches.delete(name=kept.name)
    assert [job.name for job in client.batches.list()] == [cancelled.name]


def test_batch_pace_setting(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(batch_step_s=3600)
    server_client = server.client()
    job = server_client.batches.create(model=MODEL, src=REQUESTS[:1])
    server.advance_clock(10)
    assert server_client.batches.get(name=job.name).state == types.JobState.JOB_STATE_PENDING
    server.advance_clock(3600)
    assert server_client.batches.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING


def test_invalid_batch_name_is_refused_by_the_sdk(client: genai.Client) -> None:
    with pytest.raises(ValueError, match="Invalid batch job name"):
        client.batches.get(name="jobs/x")
