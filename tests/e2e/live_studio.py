"""Run the studio as real processes for browser tests: embedded by default; with DATABASE_URL and
REDIS_URL set, a web process plus a separate worker process on a fresh database."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from studio.emulator.server import free_port
from tests.processes import stop_all

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveStudio:
    url: str
    mode: str  # "embedded" or "scaled"
    var_dir: Path  # its var/: database, media, and mail/ (every message it sends, one file each)

    def latest_link(self, to: str, path_part: str) -> str:
        """The newest link containing `path_part` in a message sent to `to` (the studio writes mail to files)."""
        files = sorted((self.var_dir / "mail").glob("*.log"), key=lambda f: f.stat().st_mtime, reverse=True)
        for file in files:
            for raw in reversed(file.read_text().split("-" * 79)):
                message = email.message_from_string(raw.strip())
                if message["To"] != to:
                    continue
                payload = message.get_payload(decode=True)
                body = payload.decode() if isinstance(payload, bytes) else ""
                links = [word for word in body.split() if word.startswith("http") and path_part in word]
                if links:
                    return links[-1]
        raise AssertionError(f"no message to {to} with a {path_part} link")


def scratch_postgres(url: str) -> tuple[str, str]:
    import psycopg

    name = f"studio_e2e_{uuid.uuid4().hex[:8]}"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", name


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def live_studio(*, gemini_url: str, var_dir: Path) -> Iterator[LiveStudio]:
    port = free_port()
    env = {
        **os.environ,
        "STUDIO_VAR_DIR": str(var_dir),
        "GEMINI_BASE_URL": gemini_url,
        "GEMINI_API_KEY": "",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "STUDIO_CACHE_PREFIX": f"e2e-{uuid.uuid4().hex}",  # its own throttle counts, whatever ran before
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    scaled = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    scratch: tuple[str, str] | None = None
    if scaled:
        scratch = scratch_postgres(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = scratch[0]
        env["STUDIO_RUNNER"] = "external"
    manage = [sys.executable, str(ROOT / "manage.py")]
    logs = var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            [*manage, "studio_serve", "--port", str(port), *(["--no-runner"] if scaled else [])],
            env=env,
            stdout=(logs / "web.log").open("w"),
            stderr=subprocess.STDOUT,
        )
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, processes[0], logs / "web.log")
        if scaled:
            processes.append(
                subprocess.Popen(
                    [*manage, "studio_worker", "--concurrency", "8"],
                    env=env,
                    stdout=(logs / "worker.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        yield LiveStudio(url=url, mode="scaled" if scaled else "embedded", var_dir=var_dir)
    finally:
        stop_all(processes)
        if scratch is not None:
            drop_postgres(os.environ["DATABASE_URL"], scratch[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the studio exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/login/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the studio did not come up:\n{log.read_text()}")
