"""The emulator as a real HTTP server on a free loopback port, with conveniences for tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from google import genai
from google.genai import types

from studio.emulator import EmulatorConfig
from studio.emulator.server import RunningEmulator, serve_in_thread

# No artificial latency in tests unless a test asks for it.
FAST = EmulatorConfig(seed=7, latency_first_ms=0, latency_event_ms=0, port=0)


@dataclass
class LiveEmulator(RunningEmulator):
    @property
    def state(self) -> Any:
        return self.app.state.emulator.state

    def client(self, **http: Any) -> genai.Client:
        options = types.HttpOptions(base_url=self.url, **http)
        return genai.Client(api_key="test-key", http_options=options)

    def requests(self) -> list[dict[str, Any]]:
        body: dict[str, Any] = httpx.get(f"{self.url}/_emulator/requests").json()
        requests: list[dict[str, Any]] = body["requests"]
        return requests

    def reset(self) -> None:
        httpx.post(f"{self.url}/_emulator/reset").raise_for_status()

    def advance_clock(self, seconds: float) -> None:
        httpx.post(f"{self.url}/_emulator/clock", json={"advance_s": seconds}).raise_for_status()


def start(**overrides: Any) -> LiveEmulator:
    running = serve_in_thread(FAST, **overrides)
    return LiveEmulator(url=running.url, app=running.app, server=running.server, thread=running.thread)


StartEmulator = Callable[..., LiveEmulator]
