"""Serve the emulator from a background thread of the current process (tests, benchmarks, embedded use)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import EmulatorConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningEmulator:
    url: str
    app: Starlette
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.emulator.close()


def serve_in_thread(config: EmulatorConfig | None = None, **overrides: Any) -> RunningEmulator:
    """Start on `config.port` (0: a free port) and return once the socket accepts connections."""
    config = replace(config or EmulatorConfig(), **overrides)
    if config.port == 0:
        config = replace(config, port=free_port(config.host))
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"gemini-emulator-{config.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the Gemini emulator did not start on {config.host}:{config.port}")
        time.sleep(0.01)
    return RunningEmulator(url=f"http://{config.host}:{config.port}", app=app, server=server, thread=thread)
