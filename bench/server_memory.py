"""Memory of `make run` over a heavy session: 15 turns x 4 images at 4K, each turn editing the last.

Starts `manage.py studio_serve` (what `make run` runs: Daphne, the runner and, with no key, the
built-in emulator) in a scratch folder, drives it through the database as a person's browser would
through the page, and samples the resident memory of the server and of every process it started.
Prints the start, the peak over the work, and the memory after a minute idle, per process and in all.
Targets (issue 14): peak < 500 MB in all, idle within 100 MB of the start, the studio alone < 250 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(tempfile.mkdtemp(prefix="studio-memory-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = str(VAR)
for name in ("DATABASE_URL", "REDIS_URL", "GEMINI_API_KEY", "GEMINI_BASE_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402

from studio.accounts.models import Membership  # noqa: E402
from studio.accounts.services import user_sign_up  # noqa: E402
from studio.billing.models import Quota  # noqa: E402
from studio.chat import services  # noqa: E402
from studio.chat.models import Response, ResponseStatus  # noqa: E402
from studio.chat.options import GenerationOptions  # noqa: E402
from studio.emulator.server import free_port  # noqa: E402

MB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def command_of(pid: int) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    return "emulator" if "studio.emulator" in text else ("studio" if "studio_serve" in text else text[:40])


class Sampler:
    """Every 0.1 s: the RSS of the server and of each process under it, keeping each one's peak."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak: dict[str, int] = {}
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> dict[str, int]:
        pids = [self.root, *descendants(self.root)]
        by_name: dict[str, int] = {}
        for pid in pids:
            name = "studio" if pid == self.root else command_of(pid)
            by_name[name] = by_name.get(name, 0) + rss_bytes(pid)
        return by_name

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            sample = self.now()
            for name, value in sample.items():
                self.peak[name] = max(self.peak.get(name, 0), value)
            self.peak_total = max(self.peak_total, sum(sample.values()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "manage.py", "studio_serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("studio_serve did not become ready")


def wait_done(response_ids: list[int]) -> None:
    finished = [ResponseStatus.SUCCEEDED, ResponseStatus.FAILED, ResponseStatus.CANCELLED]
    deadline = time.monotonic() + 300
    while Response.objects.filter(pk__in=response_ids).exclude(status__in=finished).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("a turn did not finish in 5 minutes")
        time.sleep(0.2)


def session(turns: int, images: int, size: str) -> int:
    """A person's session: a first turn, then each turn edits the first image of the one before."""
    user = user_sign_up(username=f"memory{time.time_ns()}", email="m@example.com", password="x" * 16)
    membership = Membership.objects.select_related("team", "user").get(user=user)
    Quota.objects.filter(team=membership.team).update(spend_limit_usd=None)  # 60 4K images cost over $10
    project = services.project_create(team=membership.team, membership=membership, user=user, name="memory")
    conversation = services.conversation_create(project=project, membership=membership, user=user)
    parent: Response | None = None
    failed = 0
    for index in range(turns):
        turn = services.turn_submit(
            conversation=conversation,
            membership=membership,
            user=user,
            prompt=f"a harbour at dawn, step {index}: warmer light" if parent else "a harbour at dawn",
            options=GenerationOptions(count=images, image_size=size, aspect_ratio="16:9"),
            parent_response=parent,
        )
        ids = list(turn.responses.values_list("pk", flat=True))
        wait_done(ids)
        done = Response.objects.filter(pk__in=ids, status=ResponseStatus.SUCCEEDED).order_by("pk")
        failed += len(ids) - done.count()
        parent = done.first() or parent
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", default="4K")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds idle before the last reading")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    port = free_port()
    server = start_server(port)
    try:
        time.sleep(2)  # let start-up settle before the first reading
        sampler = Sampler(server.pid)
        start = sampler.now()
        sampler.start()
        started = time.monotonic()
        failed = session(args.turns, args.images, args.size)
        work = time.monotonic() - started
        time.sleep(args.idle)
        idle = sampler.now()
        sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=60)
    total = args.turns * args.images
    print(
        f"server memory: {total} images at {args.size} ({args.turns} turns x {args.images})"
        f" in {work:.0f}s, {failed} failed"
    )
    for name in sorted(set(start) | set(sampler.peak)):
        print(
            f"  {name:9} start {start.get(name, 0) / MB:6.0f} MB  peak {sampler.peak.get(name, 0) / MB:6.0f} MB"
            f"  after {args.idle:.0f}s idle {idle.get(name, 0) / MB:6.0f} MB"
        )
    start_total, idle_total = sum(start.values()), sum(idle.values())
    print(
        f"  {'in all':9} start {start_total / MB:6.0f} MB  peak {sampler.peak_total / MB:6.0f} MB"
        f"  after {args.idle:.0f}s idle {idle_total / MB:6.0f} MB"
        f"  (targets: peak < 500 MB, idle within 100 MB of the start: {(idle_total - start_total) / MB:+.0f} MB;"
        f" the studio alone < 250 MB: {sampler.peak.get('studio', 0) / MB:.0f} MB)"
    )


if __name__ == "__main__":
    main()
