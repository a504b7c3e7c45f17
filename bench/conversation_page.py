"""Long conversations: what the conversation page and its socket cost at 10, 50 and 100 turns of 4
images each (issue 14). Prints, per length: the page's HTML bytes, its SQL queries and its render
time (median of 5), the socket snapshot's bytes for a page that knows nothing (a first connect
without `since`) and for an idle page reconnecting (`since` = when it was rendered), and the
bytes of the versions page and of a share link's page. Targets: queries and render time flat in the
length, HTML under 300 KB at 100 x 4, an idle reconnect's bytes independent of the length."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-page-")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from studio.accounts.models import Membership  # noqa: E402
from studio.accounts.services import user_sign_up  # noqa: E402
from studio.billing.models import Quota  # noqa: E402
from studio.chat import services  # noqa: E402
from studio.chat.fragments import BranchView  # noqa: E402
from studio.chat.models import Conversation  # noqa: E402
from studio.chat.options import GenerationOptions  # noqa: E402
from studio.emulator import EmulatorConfig  # noqa: E402
from studio.emulator.server import serve_in_thread  # noqa: E402
from studio.generation.assembly import build_pipeline  # noqa: E402
from studio.generation.records import response_claim  # noqa: E402
from studio.sharing.services import share_link_create  # noqa: E402

LENGTHS = (10, 50, 100)
IMAGES = 4


async def drain() -> None:
    pipeline = build_pipeline("bench-page")
    while ids := await asyncio.to_thread(response_claim, worker_id="bench-page", limit=64, lease_seconds=120):
        await asyncio.gather(*(pipeline.run(i) for i in ids))


def grow(conversation: Conversation, membership: Membership, turns: int) -> None:
    for n in range(turns - conversation.turns.count()):
        services.turn_submit(
            conversation=conversation,
            membership=membership,
            user=membership.user,
            prompt=f"step {n}: a poster for the harbour festival, variation {n}",
            options=GenerationOptions(count=IMAGES),
        )
    asyncio.run(drain())


def main() -> None:
    call_command("migrate", verbosity=0)
    emulator = serve_in_thread(EmulatorConfig(port=0, latency_first_ms=0, latency_event_ms=0))
    settings.GEMINI_BASE_URL = emulator.url
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # Django's test client
    user = user_sign_up(username="pages", email="pages@example.com", password="x" * 16)
    membership = Membership.objects.select_related("team", "user").get(user=user)
    Quota.objects.filter(team=membership.team).update(spend_limit_usd=None)
    project = services.project_create(team=membership.team, membership=membership, user=user, name="pages")
    conversation = services.conversation_create(project=project, membership=membership, user=user)
    client = Client()
    client.force_login(user)
    columns: tuple[str, ...] = ("turns", "page KB", "queries", "render ms", "snapshot KB", "idle reconnect B")
    columns += ("versions KB", "shared KB")
    widths = (5, 8, 8, 10, 12, 17, 12, 10)
    print(" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    try:
        for turns in LENGTHS:
            grow(conversation, membership, turns)
            times, size, queries = [], 0, 0
            for _ in range(5):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    page = client.get(f"/c/{conversation.pk}/")
                    times.append(time.perf_counter() - start)
                size, queries = len(page.content), len(captured)
            first = BranchView(conversation=conversation, leaf_id=None, can_write=True).snapshot()
            later = timezone.now() + dt.timedelta(seconds=10)
            idle = BranchView(conversation=conversation, leaf_id=None, can_write=True, since=later).snapshot()
            versions = client.get(f"/c/{conversation.pk}/versions")
            _, token = share_link_create(
                conversation=conversation,
                membership=membership,
                leaf=None,
                expiry="7",
                show_prompts=True,
                show_thoughts=False,
                allow_downloads=False,
            )
            shared = Client().get(f"/s/{token}/")
            print(
                f"{turns:>5} {size / 1024:>8.0f} {queries:>8} {statistics.median(times) * 1000:>10.0f}"
                f" {len(first.encode()) / 1024:>12.0f} {len(idle.encode()):>17} {len(versions.content) / 1024:>12.0f}"
                f" {len(shared.content) / 1024:>10.0f}"
            )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
