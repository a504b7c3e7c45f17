"""What `make run` starts with no key: the studio, and the built-in emulator as its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from studio.emulator.server import free_port
from tests.e2e.live_studio import wait_until_up
from tests.processes import children, gone_within

ROOT = Path(__file__).resolve().parents[2]


def test_studio_serve_without_a_key_runs_the_emulator_beside_it(tmp_path: Path) -> None:
    env = {**os.environ, "STUDIO_VAR_DIR": str(tmp_path), "GEMINI_API_KEY": "", "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "REDIS_URL", "GEMINI_BASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)  # exactly what a newcomer's `make run` has
    port = free_port()
    log = tmp_path / "serve.log"
    studio = subprocess.Popen(
        [sys.executable, "manage.py", "studio_serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    emulators: list[int] = []
    try:
        wait_until_up(f"http://127.0.0.1:{port}", studio, log)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, "ready, emulator included"
        emulator_url = (tmp_path / "emulator_url").read_text().strip()
        assert httpx.get(f"{emulator_url}/_emulator/health").status_code == 200
        emulators = [
            pid for pid in children(studio.pid) if b"studio.emulator" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(emulators) == 1, "the emulator runs as a child process, not inside the studio"
        assert "EMULATOR MODE" in log.read_text() and "Admin login: admin / " in log.read_text()
    finally:
        studio.send_signal(signal.SIGTERM)
        studio.wait(timeout=60)
    assert gone_within(emulators[0], 10), "stopping the studio stops its emulator"
