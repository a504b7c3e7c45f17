"""The emulator `make run` starts: its own process, drawing there, and stopping with the studio."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from google import genai
from google.genai import types

from studio.emulator import EmulatorConfig
from studio.emulator.server import serve_in_process
from tests.emulator.calls import MODEL, final_parts
from tests.processes import alive, gone_within

ROOT = Path(__file__).resolve().parents[2]


def test_serve_in_process_draws_through_the_sdk_in_another_process(tmp_path: Path) -> None:
    config = EmulatorConfig(port=0, latency_first_ms=0, latency_event_ms=0, signing_key="not on the command line")
    emulator = serve_in_process(config, tmp_path / "log")
    try:
        assert emulator.process.pid != os.getpid()
        client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emulator.url))
        response = client.models.generate_content(
            model=MODEL,
            contents="a kite over a dune",
            config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
        )
        images = [p.inline_data.data for p in final_parts(response) if p.inline_data and p.inline_data.data]
        assert images and images[0][:2] == b"\xff\xd8"  # a JPEG, drawn over there
        environ = Path(f"/proc/{emulator.process.pid}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_MMAP_THRESHOLD_=1048576" in environ
        assert b"GEMINI_EMULATOR_SIGNING_KEY=not on the command line" in environ
        command = Path(f"/proc/{emulator.process.pid}/cmdline").read_bytes()
        assert b"not on the command line" not in command, "ps shows the command line to everyone"
    finally:
        emulator.stop()
    assert emulator.process.poll() is not None


def test_the_emulator_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib, time
                from studio.emulator import EmulatorConfig
                from studio.emulator.server import serve_in_process
                emulator = serve_in_process(EmulatorConfig(port=0), pathlib.Path({str(tmp_path / "log")!r}))
                print(emulator.process.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel must tell the child
    parent.wait()
    assert gone_within(child, 10), "the emulator outlived the studio that started it"
