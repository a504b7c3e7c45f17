"""The scaled deployment, as docker/compose.yaml runs it, on loopback: two Daphne web processes, two
`studio_worker`s and a `db_worker` for chores, on PostgreSQL, Redis and an S3 server (moto's).

A browser on web A and another on web B watch the same conversation; a worker generates; its
events reach both through Redis. A worker killed with SIGKILL mid-generation is settled by the
other one's reaper, and the chores process sweeps a file no row uses out of the bucket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from playwright.sync_api import Browser, Page, expect

from studio.emulator.server import free_port
from tests import live_emulator
from tests.e2e.journeys import sign_up_and_open_conversation
from tests.e2e.live_studio import ROOT, LiveStudio, drop_postgres, scratch_postgres, wait_until_up
from tests.processes import alive, stop_all

# The embedded run of `make test` deselects `postgres` tests; run alone without the services, it says so.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="SKIPPED LOUDLY: the multi-process test needs PostgreSQL and Redis (make test's second run has both)",
    ),
]

BUCKET = "studio-many"
ORPHAN = "conversations/0/left-by-a-crash.png"


@dataclass
class Deployment:
    web_a: LiveStudio
    web_b: LiveStudio
    workers: dict[str, subprocess.Popen[bytes]]  # by the name of its log
    database_url: str
    bucket: object  # a boto3 S3 client
    logs: Path

    def sql(self, query: str, *args: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.database_url) as connection:
            return connection.execute(query, args).fetchall()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def objects(self) -> set[str]:
        listing = self.bucket.list_objects_v2(Bucket=BUCKET)  # type: ignore[attr-defined]
        return {item["Key"] for item in listing.get("Contents", [])}


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    var = tmp_path_factory.mktemp("many")
    logs = var / "logs"
    logs.mkdir()
    gemini = live_emulator.start(latency_first_ms=300, latency_event_ms=150)
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    s3_url = f"http://127.0.0.1:{s3_port}"
    credentials = {"AWS_ACCESS_KEY_ID": "many-key", "AWS_SECRET_ACCESS_KEY": "many-secret"}
    bucket = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    bucket.create_bucket(Bucket=BUCKET)
    bucket.put_object(Bucket=BUCKET, Key=ORPHAN, Body=b"\x89PNG half written")  # what a crash leaves
    database_url, database = scratch_postgres(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        **credentials,
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "STUDIO_CACHE_PREFIX": f"many-{uuid.uuid4().hex}",
        "STUDIO_VAR_DIR": str(var),
        "SECRET_KEY": f"many-{uuid.uuid4().hex}{uuid.uuid4().hex}",  # the same in every process
        "STUDIO_RUNNER": "external",
        "STUDIO_TASKS": "database",
        "STUDIO_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_url,
        "AWS_S3_REGION_NAME": "us-east-1",
        "GEMINI_BASE_URL": gemini.url,
        "GEMINI_API_KEY": "",
        "STUDIO_LEASE_SECONDS": "3",  # a dead worker's job is taken back within seconds
        "STUDIO_SWEEP_EVERY_S": "2",
        "STUDIO_SWEEP_GRACE_S": "4",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, "manage.py"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):  # compose's migrate, the image's build
            subprocess.run([*manage, *step], cwd=ROOT, env=env, check=True, capture_output=True)
        webs = []
        for name in ("web-a", "web-b"):
            port = free_port()
            daphne = [sys.executable, "-m", "daphne", "--bind", "127.0.0.1", "--port", str(port)]
            processes.append(_start([*daphne, "--proxy-headers", "studio.asgi:application"], env, logs / f"{name}.log"))
            wait_until_up(f"http://127.0.0.1:{port}", processes[-1], logs / f"{name}.log")
            webs.append(LiveStudio(url=f"http://127.0.0.1:{port}", mode="scaled", var_dir=var))
        workers = {}
        for name in ("worker-1", "worker-2"):
            worker = _start([*manage, "studio_worker", "--concurrency", "4"], env, logs / f"{name}.log")
            processes.append(worker)
            workers[name] = worker
        processes.append(_start([*manage, "db_worker", "--interval", "1"], env, logs / "chores.log"))
        yield Deployment(webs[0], webs[1], workers, database_url, bucket, logs)
    finally:
        stop_all(processes, grace=40)
        drop_postgres(os.environ["DATABASE_URL"], database)
        s3.stop()
        gemini.stop()


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long enough secret")
    page.get_by_role("button", name="Log in").click()


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_webs_two_workers_a_killed_worker_and_the_sweep(
    deployment: Deployment, page: Page, browser: Browser
) -> None:
    sign_up_and_open_conversation(page, deployment.web_a, username="many_a", project="Harbour")
    path = page.url.removeprefix(deployment.web_a.url)
    watcher = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _log_in(watcher, deployment.web_b.url, "many_a")
    watcher.goto(f"{deployment.web_b.url}{path}")
    expect(watcher.locator("#live-status")).to_have_text("Live")

    # 1. A generation claimed by a worker; its events reach web A and web B through Redis.
    prompt = page.get_by_label("Prompt")
    prompt.fill("a harbour at dawn")
    prompt.press("Enter")
    for viewer in (page, watcher):
        expect(viewer.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
        expect(viewer.locator(".image-version img")).to_have_js_property("complete", True)
        assert viewer.locator(".image-version img").evaluate("img => img.naturalWidth") > 0
    ((first, key),) = deployment.sql(
        "SELECT r.id, v.storage_key FROM chat_response r JOIN chat_imageversion v ON v.response_id = r.id"
        " WHERE NOT v.is_thought"
    )
    assert key in deployment.objects(), "the image went to the bucket"
    claimed_by = [name for name in deployment.workers if f"claimed responses [{first}]" in deployment.log(name)]
    assert len(claimed_by) == 1, "exactly one worker claimed it and logged the claim"

    # 2. A slow generation; the worker running it is killed outright.
    prompt.fill("a harbour in a storm [[emulator: event_delay=1500]]")
    prompt.press("Enter")
    expect(watcher.locator(".status-running")).to_have_count(1, timeout=15_000)
    rows: list[tuple[object, ...]] = []

    def running_and_billable() -> bool:
        rows[:] = deployment.sql("SELECT id, lease_owner FROM chat_response WHERE status = 'running' AND billable")
        return bool(rows)

    _wait_for(running_and_billable, 20, "the slow response to stream")
    ((slow, owner),) = rows
    pid = int(str(owner).split(":")[1])  # worker ids are host:pid:random
    victim = next(name for name, worker in deployment.workers.items() if worker.pid == pid)
    os.kill(pid, signal.SIGKILL)
    deployment.workers[victim].wait()
    survivor = next(name for name in deployment.workers if name != victim)
    assert alive(deployment.workers[survivor].pid)

    # The survivor's reaper fails it cleanly (Gemini may have billed it): both browsers say so live.
    for viewer in (page, watcher):
        expect(viewer.locator(".status-failed")).to_have_count(1, timeout=30_000)
        expect(viewer.locator(".response").nth(1)).to_contain_text("stopped before it finished")
    ((status, code),) = deployment.sql("SELECT status, error_code FROM chat_response WHERE id = %s", slow)
    assert (status, code) == ("failed", "interrupted")
    assert deployment.sql("SELECT id FROM chat_imageversion WHERE response_id = %s", slow) == []
    assert f"response {slow} abandoned by {owner}" in deployment.log(survivor)

    # 3. The deployment carries on with one worker; the chores process swept the crash's leftover.
    prompt.fill("the harbour the morning after")
    prompt.press("Enter")
    expect(watcher.locator(".status-succeeded")).to_have_count(2, timeout=30_000)
    _wait_for(lambda: ORPHAN not in deployment.objects(), 30, "the sweep to delete the orphaned file")
    rows = deployment.sql("SELECT storage_key, thumbnail_key FROM chat_imageversion")
    stored = {str(key) for row in rows for key in row if key}  # no thumbnail yet until a browser first asks
    assert stored and stored <= deployment.objects(), "the sweep left every file a row uses"
    watcher.context.close()
