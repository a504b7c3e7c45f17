"""The runner: leases, reaping, draining, and claims that never overlap across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from studio.chat.models import ImageVersion, Response, ResponseStatus
from studio.generation import records
from studio.generation.assembly import build_pipeline
from studio.generation.runner import Runner, RunnerSettings
from tests.live_emulator import LiveEmulator
from tests.markers import postgres_only
from tests.studio_world import make_conversation, make_user, submit

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def test_claim_leases_oldest_first_and_only_once() -> None:
    user = make_user("ann")
    conversation = make_conversation(user)
    first = submit(conversation, user, "one", count=2)
    second = submit(conversation, user, "two")
    claimed = records.response_claim(worker_id="w1", limit=2, lease_seconds=30)
    assert claimed == [r.pk for r in first.responses.order_by("index")]
    assert records.response_claim(worker_id="w2", limit=5, lease_seconds=30) == [second.responses.get().pk]
    assert records.response_claim(worker_id="w3", limit=5, lease_seconds=30) == []
    leased = Response.objects.get(pk=claimed[0])
    assert leased.status == ResponseStatus.RUNNING and leased.lease_owner == "w1" and leased.attempts == 1


def test_writes_are_fenced_on_the_lease() -> None:
    user = make_user("ben")
    conversation = make_conversation(user)
    submit(conversation, user, "one")
    (response_id,) = records.response_claim(worker_id="w1", limit=1, lease_seconds=30)
    with pytest.raises(records.LeaseLost):
        records.response_save_progress(
            response_id=response_id, worker_id="intruder", conversation_id=conversation.pk, thoughts_text="x"
        )
    assert Response.objects.get(pk=response_id).thoughts_text == ""
    assert records.response_heartbeat(worker_id="intruder", response_ids=[response_id], lease_seconds=30) == set()
    assert records.response_heartbeat(worker_id="w1", response_ids=[response_id], lease_seconds=30) == {response_id}


def test_expired_lease_is_requeued_when_nothing_billable_happened() -> None:
    user = make_user("cat")
    conversation = make_conversation(user)
    submit(conversation, user, "one", count=2)
    quiet, billed = records.response_claim(worker_id="dead-worker", limit=2, lease_seconds=30)
    Response.objects.filter(pk=billed).update(billable=True, text="half")
    past = timezone.now() - dt.timedelta(seconds=1)
    Response.objects.filter(pk__in=[quiet, billed]).update(lease_expires_at=past)
    assert records.response_reap() == 2
    requeued, failed = Response.objects.get(pk=quiet), Response.objects.get(pk=billed)
    assert requeued.status == ResponseStatus.QUEUED and requeued.lease_owner == ""
    assert failed.status == ResponseStatus.FAILED and failed.error_code == "interrupted" and failed.text == ""
    assert records.response_claim(worker_id="w2", limit=5, lease_seconds=30) == [quiet]


def test_live_leases_are_not_reaped() -> None:
    user = make_user("dan")
    conversation = make_conversation(user)
    submit(conversation, user, "one")
    records.response_claim(worker_id="w1", limit=1, lease_seconds=30)
    assert records.response_reap() == 0


def _runner(concurrency: int = 4, drain_seconds: float = 10.0) -> Runner:
    pipeline = build_pipeline("drain-test")
    return Runner(
        run_job=pipeline.run,
        worker_id="drain-test",
        settings=RunnerSettings(concurrency=concurrency, poll_seconds=0.05, drain_seconds=drain_seconds),
    )


def test_runner_runs_everything_and_drains_gracefully(gemini: LiveEmulator) -> None:
    user = make_user("eli")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "slow [[emulator: latency=400]]", count=3)

    async def scenario() -> None:
        runner = _runner()
        task = asyncio.create_task(runner.run())
        while not runner.active_ids:
            await asyncio.sleep(0.01)
        runner.stop()  # SIGTERM while three jobs are mid-call
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    assert [r.status for r in turn.responses.all()] == [ResponseStatus.SUCCEEDED] * 3, "drain lets running jobs finish"


def test_drain_timeout_hands_work_back(gemini: LiveEmulator) -> None:
    user = make_user("fin")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "stuck [[emulator: stall]]")

    async def scenario() -> None:
        runner = _runner(drain_seconds=0.3)
        task = asyncio.create_task(runner.run())
        while not runner.active_ids:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        runner.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    response = turn.responses.get()
    assert response.status == ResponseStatus.QUEUED, "nothing billable happened, so another worker may take it"
    assert response.lease_owner == ""
    assert not ImageVersion.objects.filter(response=response).exists()


@postgres_only
def test_two_worker_processes_never_claim_the_same_response() -> None:
    user = make_user("gia")
    conversation = make_conversation(user)
    for index in range(30):
        submit(conversation, user, f"job {index}", count=2)
    expected = set(Response.objects.values_list("pk", flat=True))
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("claim_worker.py")), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for name in ("proc-a", "proc-b")
    ]
    for worker in workers:  # both must be connected before either claims, or one drains the queue alone
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    claims = [[int(i) for i in out.split()] for out in outputs]
    assert all(claims), "both processes got work"
    assert not set(claims[0]) & set(claims[1]), "no response was claimed twice"
    assert sorted(claims[0] + claims[1]) == sorted(expected)
    owners = dict(Response.objects.values_list("pk", "lease_owner"))
    assert {owners[i] for i in claims[0]} == {"proc-a"} and {owners[i] for i in claims[1]} == {"proc-b"}
