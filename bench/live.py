"""What the benches that drive running processes share: the emulator and the studio as their own
processes, a person with a conversation and a signed-in session, and reading a process's CPU and
memory from /proc. Import after `django.setup()`, with the scratch database the processes share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.test import Client

from studio.accounts.models import Membership, User
from studio.accounts.services import user_sign_up
from studio.billing.models import Quota
from studio.chat import services
from studio.chat.models import Conversation
from studio.chat.options import GenerationOptions
from studio.emulator.server import free_port

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password, long enough"


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not answer {url}")


def start_emulator(
    first_ms: int, event_ms: int, *more: str, cpus: frozenset[int] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """The emulator as its own process, so a server's CPU and memory are its own; `cpus`: the cores
    it may run on (a child takes its parent's otherwise, which may be pinned)."""
    port = free_port()
    flags = [f"--port={port}", f"--latency-first-ms={first_ms}", f"--latency-event-ms={event_ms}", *more]
    process = subprocess.Popen(
        [sys.executable, "-m", "studio.emulator", *flags],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(f"{url}/_emulator/health", process, "the emulator")
    return process, url


def studio_env(gemini_url: str, **extra: str) -> dict[str, str]:
    """The environment of a studio process sharing this bench's database and var folder."""
    env = {**os.environ, "GEMINI_BASE_URL": gemini_url, "GEMINI_API_KEY": "", "PYTHONPATH": str(ROOT), **extra}
    env["STUDIO_VAR_DIR"] = str(settings.VAR_DIR)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start_studio(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`manage.py studio_serve` (Daphne and, unless --no-runner, the runner) on a free port."""
    port = free_port()
    command = [sys.executable, "manage.py", "studio_serve", "--port", str(port), *args]
    log = (settings.VAR_DIR / f"studio-{port}.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(f"{url}/healthz", process, "the studio")
    return process, url


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "manage.py", "studio_worker", "--concurrency", str(concurrency)]
    log = (settings.VAR_DIR / f"worker-{time.time_ns()}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()


def person(name: str) -> tuple[Membership, Conversation]:
    """A person with a team of their own (no spend limit: benches spend a lot) and a conversation."""
    unique = f"{name}{time.time_ns()}"
    user = user_sign_up(username=unique, email=f"{unique}@example.com", password=PASSWORD)
    membership = Membership.objects.select_related("team", "user").get(user=user)
    Quota.objects.filter(team=membership.team).update(spend_limit_usd=None)
    project = services.project_create(team=membership.team, membership=membership, user=user, name=name)
    conversation = services.conversation_create(project=project, membership=membership, user=user)
    return membership, conversation


def session_cookie(user: User) -> str:
    """A signed-in session for `user`, as the `Cookie` header a browser would send."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def queue_crowd(name: str, count: int, prompt: str = "crowd", *, retries: int = GenerationOptions.retries) -> list[int]:
    """A crowd is many people at once: `count` images as turns of 4, each turn in a conversation of
    its own, all queued with `retries` (a turn's usual count unless told). Returns the queued responses' ids."""
    membership, first = person(name)
    ids: list[int] = []
    for index in range(count // 4):
        conversation = (
            first
            if index == 0
            else services.conversation_create(project=first.project, membership=membership, user=membership.user)
        )
        turn = services.turn_submit(
            conversation=conversation,
            membership=membership,
            user=membership.user,
            prompt=f"{prompt} {index}",
            options=GenerationOptions(count=4, retries=retries),
        )
        ids += list(turn.responses.values_list("pk", flat=True))
    return ids
