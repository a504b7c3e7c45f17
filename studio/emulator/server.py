"""Serve the emulator from a background thread of the current process (tests, benchmarks, embedded use)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import ENV_PREFIX, EmulatorConfig
from .libc import die_with_parent


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


# glibc keeps freed memory of threads' arenas, and after the first large free it raises its mmap
# threshold so later 4K canvases come from those arenas too: an emulator that drew 60 4K images kept
# about a gigabyte. Fixing the threshold keeps canvases in mmap, so freeing one gives it back.
ALLOCATOR_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": str(1024 * 1024)}


@dataclass
class EmulatorProcess:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _environ(config: EmulatorConfig) -> dict[str, str]:
    """`config` as GEMINI_EMULATOR_* variables: unlike flags, a signing key or accepted API keys do
    not show in the process list."""
    values = {}
    for item in fields(config):
        if item.name == "help":
            continue
        value = getattr(config, item.name)
        values[ENV_PREFIX + item.name.upper()] = ("on" if value else "off") if isinstance(value, bool) else str(value)
    return values


def serve_in_process(config: EmulatorConfig, log: Path) -> EmulatorProcess:
    """Start `python -m studio.emulator` with `config` as its own process, so its drawing memory is
    never the caller's; it stops with the caller. Returns once it answers its health check."""
    if config.port == 0:
        config = replace(config, port=free_port(config.host))
    url = f"http://{config.host}:{config.port}"
    env = {**os.environ, **_environ(config), **ALLOCATOR_ENV}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "studio.emulator"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=die_with_parent,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_emulator/health", timeout=1):
                return EmulatorProcess(url=url, process=process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the Gemini emulator did not start on {config.host}:{config.port}; see {log}")
