"""Quotas under real concurrency: threads with their own database connections submitting at once,
and a worker process killed with SIGKILL mid-generation."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import close_old_connections, connection
from django.db.models import Count
from django.utils import timezone

from studio.billing.models import EntryKind, Quota, SpendPeriod, UsageEntry
from studio.chat.models import Conversation, Response, ResponseStatus, Turn
from studio.chat.services import ChatError
from studio.generation import records
from tests.live_emulator import LiveEmulator
from tests.markers import postgres_only
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def test_fifty_concurrent_submits_against_a_limit_of_ten_images_grant_exactly_ten() -> None:
    user = make_user("ann")
    first = make_conversation(user)
    team = first.project.team
    Quota.objects.filter(team=team).update(spend_limit_usd=None, image_limit=10)
    conversations = [first] + [make_conversation(user, first.project) for _ in range(9)]
    start = threading.Barrier(50)

    def one(index: int) -> str:
        try:
            conversation = Conversation.objects.get(pk=conversations[index % 10].pk)
            start.wait()
            submit(conversation, user, f"poster {index}")
            return "granted"
        except ChatError as error:
            return "refused" if "images left for this period" in str(error) else str(error)
        finally:
            connection.close()  # each thread has its own connection: give it back

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one, range(50)))
    close_old_connections()
    assert outcomes.count("granted") == 10 and outcomes.count("refused") == 40
    assert Turn.objects.filter(conversation__project__team=team).count() == 10
    assert Response.objects.filter(turn__conversation__project__team=team).count() == 10
    assert UsageEntry.objects.filter(team=team, kind=EntryKind.RESERVE).count() == 10
    assert SpendPeriod.objects.get(team=team).images == 10


@postgres_only
def test_a_worker_killed_mid_generation_ends_settled_or_released_once(gemini: LiveEmulator) -> None:
    user = make_user("kit")
    conversation = make_conversation(user)
    # Slow events, so the worker is mid-stream when it dies; one job at a time, so the second waits.
    turn = submit(conversation, user, "a slow cat [[emulator: event_delay=400]]", count=2)
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "GEMINI_BASE_URL": gemini.url,
        "GEMINI_API_KEY": "",
    }
    env.pop("REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "studio_worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not Response.objects.filter(turn=turn, billable=True, status=ResponseStatus.RUNNING).exists():
            assert time.monotonic() < deadline, list(Response.objects.values_list("status", "billable", "error_code"))
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    killed = Response.objects.get(turn=turn, status=ResponseStatus.RUNNING)
    assert (
        UsageEntry.objects.filter(response_ref=killed.pk, kind__in=(EntryKind.SETTLE, EntryKind.RELEASE)).count() == 0
    )
    # Its lease would run out on its own; the reaper acts once it has.
    Response.objects.filter(pk=killed.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert records.response_reap() == 1
    run_all()  # the one still queued runs now
    closings = dict(
        UsageEntry.objects.filter(kind=EntryKind.RESERVE, team=conversation.project.team)
        .annotate(n=Count("closings"))
        .values_list("response_ref", "n")
    )
    assert closings == {r.pk: 1 for r in turn.responses.all()}, "every reserve closed exactly once"
    settle = UsageEntry.objects.get(response_ref=killed.pk, kind=EntryKind.SETTLE)
    assert settle.estimated and settle.reason == "interrupted"
    assert Response.objects.get(pk=killed.pk).error_code == "interrupted"
