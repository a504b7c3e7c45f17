"""A 20-turn edit chain at 4K: what each request weighs and how long the studio takes to build it.

Prints per turn: the bytes actually sent (from the emulator's request log), the bytes a naive full
replay would send (every model turn inline, measured in the same run with the same estimator), and
the time to build the request from the database and storage. Target (issue 4): the bytes stay flat.
Realistic signatures (about 1 MB each) and the pre-2026 20 MB limit make the budget bite early.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-chain-")
os.environ["GEMINI_REQUEST_LIMIT_MB"] = "20"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from studio.accounts.models import Membership  # noqa: E402
from studio.accounts.services import user_sign_up  # noqa: E402
from studio.chat import services  # noqa: E402
from studio.chat.models import Response  # noqa: E402
from studio.chat.options import GenerationOptions  # noqa: E402
from studio.emulator import EmulatorConfig  # noqa: E402
from studio.emulator.server import serve_in_thread  # noqa: E402
from studio.generation.assembly import build_pipeline  # noqa: E402
from studio.generation.history import ReplayPolicy, estimate_bytes, load_job  # noqa: E402
from studio.generation.records import response_claim  # noqa: E402

TURNS = 20


def main() -> None:
    call_command("migrate", verbosity=0)
    emulator = serve_in_thread(
        EmulatorConfig(port=0, latency_first_ms=0, latency_event_ms=0, max_request_mb=20, signature_pad_bytes=1_000_000)
    )
    settings.GEMINI_BASE_URL = emulator.url
    user = user_sign_up(username="chain", email="chain@example.com", password="x" * 16)
    membership = Membership.objects.select_related("team").get(user=user)
    project = services.project_create(team=membership.team, membership=membership, user=user, name="chain")
    conversation = services.conversation_create(project=project, membership=membership, user=user)
    naive = ReplayPolicy(inline_turns=10_000, budget_bytes=10**12)
    parent: Response | None = None
    print(f"{'turn':>4} {'sent MB':>9} {'naive MB':>9} {'sent/naive':>10} {'build ms':>9} {'inline turns':>12}")
    build_times = []
    try:
        for index in range(TURNS):
            turn = services.turn_submit(
                conversation=conversation,
                membership=membership,
                user=user,
                prompt=f"edit {index + 1}: add a detail",
                options=GenerationOptions(image_size="4K", aspect_ratio="16:9", retries=0),
                parent_response=parent,
            )
            response = turn.responses.get()
            started = time.perf_counter()
            job = load_job(response.pk)
            build = time.perf_counter() - started
            build_times.append(build)
            naive_bytes = estimate_bytes(load_job(response.pk, naive).request.contents)
            (claimed,) = response_claim(worker_id="bench", limit=1, lease_seconds=60)
            asyncio.run(build_pipeline("bench").run(claimed))
            response.refresh_from_db()
            if response.status != "succeeded":
                raise SystemExit(f"turn {index + 1} failed: {response.error_message}")
            log = httpx.get(f"{emulator.url}/_emulator/requests?limit=1").json()["requests"]
            sent = log[-1]["size"]
            print(
                f"{index + 1:>4} {sent / 1e6:>9.2f} {naive_bytes / 1e6:>9.2f} {sent / naive_bytes:>10.2f}"
                f" {build * 1000:>9.1f} {job.inline_turns:>12}"
            )
            parent = response
    finally:
        emulator.stop()
    median, worst = statistics.median(build_times) * 1000, max(build_times) * 1000
    print(f"request build time: median {median:.1f} ms, max {worst:.1f} ms")


if __name__ == "__main__":
    main()
