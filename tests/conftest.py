from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google import genai

from tests import live_emulator
from tests.live_emulator import LiveEmulator, StartEmulator


@pytest.fixture(scope="session")
def _shared_emulator() -> Iterator[LiveEmulator]:
    server = live_emulator.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(_shared_emulator: LiveEmulator) -> LiveEmulator:
    """The shared emulator, reset (files, batches, log, clock) before each test."""
    _shared_emulator.reset()
    return _shared_emulator


@pytest.fixture
def client(emulator: LiveEmulator) -> genai.Client:
    """A real google-genai client talking HTTP to the emulator."""
    return emulator.client()


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Start a private emulator with other settings (strictness, limits, latency...)."""
    started: list[LiveEmulator] = []

    def factory(**overrides: Any) -> LiveEmulator:
        server = live_emulator.start(**overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
