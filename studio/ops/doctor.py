"""`studio_doctor`'s checks: each says, in one line, whether a part of the studio works and if not,
what is wrong and what to do. Each returns a Finding; none raises."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from studio.catalogue.selectors import CatalogueError, default_model, live
from studio.generation.assembly import gemini_settings
from studio.generation.gemini import GeminiClient
from studio.generation.messages import GeminiError
from studio.generation.models import RunnerHeartbeat

MAX_SKEW_S = 2.0  # leases and expiries compare clocks across machines


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _backend() -> str:
    if settings.GEMINI_VERTEX_PROJECT:
        return f"Vertex AI project {settings.GEMINI_VERTEX_PROJECT} ({settings.GEMINI_VERTEX_LOCATION})"
    if settings.GEMINI_VERTEX_EXPRESS:
        return "Vertex AI express mode"
    if settings.GEMINI_BASE_URL and not settings.GEMINI_API_KEY:
        return f"the emulator at {settings.GEMINI_BASE_URL}"
    return f"Gemini at {settings.GEMINI_BASE_URL}" if settings.GEMINI_BASE_URL else "Google's Gemini API"


def embedded_emulator_url() -> str:
    """The URL of the emulator a running `make run` started (it writes it to var/emulator_url)."""
    path = settings.VAR_DIR / "emulator_url"
    return path.read_text().strip() if path.exists() else ""


def check_gemini() -> list[Finding]:
    """Credentials (one cheap authenticated call), then whether the default model is served."""
    configured = settings.GEMINI_API_KEY or settings.GEMINI_BASE_URL or settings.GEMINI_VERTEX_PROJECT
    if not configured:
        embedded = embedded_emulator_url()
        if not embedded:
            return [
                Finding(
                    "gemini",
                    False,
                    "no GEMINI_API_KEY or GEMINI_BASE_URL, and no `make run` emulator running: set a key, "
                    "or start `make run`, which starts the built-in emulator",
                )
            ]
        settings.GEMINI_BASE_URL = embedded  # this process only: the doctor's own client
    client = GeminiClient(gemini_settings(concurrency=1, quick=True))
    try:
        model = live(default_model()).model
    except CatalogueError as error:
        return [Finding("default model", False, str(error))]
    try:
        if client.is_vertex:
            client.count_text_tokens(model.model_id, ["ping"])
            listed = None
        else:
            listed = client.list_model_ids()
    except GeminiError as error:
        what = {
            "bad_key": "Gemini rejected the credentials: set a valid GEMINI_API_KEY",
            "network": "could not reach Gemini: check the network and GEMINI_BASE_URL",
            "timeout": "Gemini did not answer in time",
        }.get(error.kind, "Gemini refused the call")
        return [Finding("gemini", False, f"{what} ({_backend()}: {error.message})")]
    found = [Finding("gemini", True, f"credentials accepted by {_backend()}")]
    if listed is None:
        found.append(Finding("default model", True, f"{model.model_id} answered a token count"))
    elif model.model_id in listed:
        found.append(Finding("default model", True, f"{model.model_id} is served"))
    else:
        found.append(
            Finding(
                "default model",
                False,
                f"{model.model_id} is not served for this account (it lists {', '.join(sorted(listed)) or 'nothing'}); "
                "pick another default in the admin's model catalogue",
            )
        )
    return found


def check_storage() -> Finding:
    key = f"doctor/probe-{uuid.uuid4().hex}.txt"
    payload = b"studio doctor probe"
    try:
        saved = default_storage.save(key, ContentFile(payload))
        try:
            with default_storage.open(saved, "rb") as handle:
                if handle.read() != payload:
                    return Finding("storage", False, "a file written to storage came back different")
        finally:
            default_storage.delete(saved)
    except Exception as error:  # noqa: BLE001 - any backend failure is the answer
        return Finding("storage", False, f"cannot write and read files ({type(error).__name__}: {error})")
    where = settings.STORAGE_BACKEND if settings.STORAGE_BACKEND != "local" else f"local {settings.MEDIA_ROOT}"
    return Finding("storage", True, f"writable and readable ({where})")


def check_database() -> Finding:
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # noqa: BLE001 - no server, bad credentials, missing file
        return Finding("database", False, f"cannot connect ({type(error).__name__}: {error})")
    if pending:
        return Finding("database", False, f"{len(pending)} migrations not applied: run `manage.py migrate`")
    return Finding("database", True, f"{connection.vendor}, migrations applied")


async def _round_trip() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "doctor.ping", "nonce": nonce})
    message = await asyncio.wait_for(layer.receive(channel), timeout=3)
    if message.get("nonce") != nonce:
        raise RuntimeError("a different message came back")


def check_channel_layer() -> Finding:
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).rsplit(".", 1)[-1]
    try:
        async_to_sync(_round_trip)()
    except Exception as error:  # noqa: BLE001 - Redis down, refused, timed out
        where = settings.REDIS_URL or backend
        return Finding("channel layer", False, f"no round trip through {where} ({type(error).__name__}: {error})")
    scope = " (this process only)" if backend == "InMemoryChannelLayer" else ""
    return Finding("channel layer", True, f"round trip through {backend}{scope}")


def check_runners() -> Finding:
    fresh = timezone.now() - dt.timedelta(seconds=settings.STUDIO_LEASE_SECONDS)
    alive = list(RunnerHeartbeat.objects.filter(seen_at__gte=fresh))
    return _runners_finding(alive)


def check_runners_here() -> Finding:
    """Only the runners on this machine (a worker container's own health)."""
    fresh = timezone.now() - dt.timedelta(seconds=settings.STUDIO_LEASE_SECONDS)
    here = f"{socket.gethostname()}:"
    return _runners_finding(list(RunnerHeartbeat.objects.filter(seen_at__gte=fresh, worker_id__startswith=here)))


def _runners_finding(alive: list[RunnerHeartbeat]) -> Finding:
    if not alive:
        return Finding(
            "runners",
            False,
            f"no runner reported in the last {settings.STUDIO_LEASE_SECONDS:.0f} s: start `manage.py studio_worker` "
            "(STUDIO_RUNNER=external) or `make run`",
        )
    running = sum(r.running for r in alive)
    capacity = sum(r.concurrency for r in alive)
    return Finding("runners", True, f"{len(alive)} alive, {running}/{capacity} jobs running")


def _database_now() -> dt.datetime | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        value: dt.datetime = cursor.fetchone()[0]
    return value


def check_clock() -> Finding:
    try:
        database_now = _database_now()
    except Exception as error:  # noqa: BLE001 - reported by the database check already; say so here too
        return Finding("clock", False, f"cannot read the database's clock ({type(error).__name__})")
    if database_now is None:
        return Finding("clock", True, "one machine's clock (SQLite)")
    skew = abs((database_now - timezone.now()).total_seconds())
    if skew > MAX_SKEW_S:
        return Finding("clock", False, f"this machine and the database differ by {skew:.1f} s: run NTP on both")
    return Finding("clock", True, f"within {skew:.2f} s of the database")


CHECKS: dict[str, Callable[[], Finding | list[Finding]]] = {
    "database": check_database,
    "storage": check_storage,
    "channel_layer": check_channel_layer,
    "gemini": check_gemini,
    "clock": check_clock,
    "runners": check_runners,
    "runners_here": check_runners_here,
}


def run_checks(*, runners: bool = True, only: Iterable[str] = ()) -> list[Finding]:
    """Every check (the runners' heartbeat unless `runners` is False), or just those named in `only`."""
    names = list(only) or [name for name in CHECKS if name != "runners_here" and (runners or name != "runners")]
    findings: list[Finding] = []
    for name in names:
        result = CHECKS[name]()
        findings.extend(result if isinstance(result, list) else [result])
    return findings


def summary(findings: list[Finding]) -> str:
    failed = [f for f in findings if not f.ok]
    if not failed:
        return f"doctor: all {len(findings)} checks ok"
    return f"doctor: {len(failed)} of {len(findings)} checks failed: " + "; ".join(f.line().strip() for f in failed)
