"""The generation runner: an asyncio loop that leases queued responses and runs them.

It claims up to `concurrency` responses, renews their leases by heartbeat, reaps responses whose
worker died, wakes on "turn created" events (and polls as a fallback), and on shutdown drains: it
stops claiming, lets running jobs finish for a grace period, then hands back the rest (requeued if
nothing billable happened, failed otherwise). It knows nothing about Gemini: it runs a `Pipeline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.layers import get_channel_layer
from django.utils import timezone

from studio.ops.allocator import trim_free_heap
from studio.ops.chores import enqueue_due
from studio.realtime.events import RUNNER_GROUP, publish_through, sent

from . import records
from .pipeline import db

logger = logging.getLogger("studio.generation")

Job = Callable[[int], Awaitable[None]]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunnerSettings:
    concurrency: int = 16
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    reap_seconds: float = 5.0
    drain_seconds: float = 25.0


class Runner:
    def __init__(self, *, run_job: Job, worker_id: str | None = None, settings: RunnerSettings | None = None) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.settings = settings or RunnerSettings()
        self._run_job = run_job
        self._active: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    @property
    def active_ids(self) -> list[int]:
        return list(self._active)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Run until `stop()`; then drain. Returns when every job is finished or handed back."""
        logger.info("runner %s started (concurrency %s)", self.worker_id, self.settings.concurrency)
        self._started_at = timezone.now()
        publish_through(asyncio.get_running_loop())
        helpers = [
            asyncio.create_task(self._heartbeat_loop(), name="runner-heartbeat"),
            asyncio.create_task(self._reap_loop(), name="runner-reaper"),
            asyncio.create_task(self._chores_loop(), name="runner-chores"),
            asyncio.create_task(self._listen_for_wakeups(), name="runner-wakeups"),
        ]
        try:
            while not self._stopping.is_set():
                await self._claim_and_start()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.poll_seconds):
                        await _first(self._wake.wait(), self._stopping.wait())
            await self._drain()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await sent()
            with contextlib.suppress(Exception):
                await db(records.runner_gone)(worker_id=self.worker_id)
            self._stopped.set()
            logger.info("runner %s stopped", self.worker_id)

    def stop(self) -> None:
        self._stopping.set()

    async def stopped(self) -> None:
        await self._stopped.wait()

    async def _claim_and_start(self) -> None:
        free = self.settings.concurrency - len(self._active)
        if free <= 0:
            return
        try:
            ids = await db(records.response_claim)(
                worker_id=self.worker_id, limit=free, lease_seconds=self.settings.lease_seconds
            )
        except Exception:
            logger.exception("runner %s could not claim work", self.worker_id)
            return
        if ids:
            logger.info(
                "runner %s claimed responses %s (%s running)", self.worker_id, ids, len(self._active) + len(ids)
            )
        for response_id in ids:
            task = asyncio.create_task(self._execute(response_id), name=f"response-{response_id}")
            self._active[response_id] = task

    async def _execute(self, response_id: int) -> None:
        try:
            await self._run_job(response_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("response %s crashed the pipeline", response_id)
        finally:
            self._active.pop(response_id, None)
            self._wake.set()  # a slot is free
            if not self._active:  # going idle: what the burst freed goes back to the system
                trim_free_heap()

    async def _report(self) -> None:
        """Tell the database this runner is alive (what studio_doctor and operators look at)."""
        try:
            await db(records.runner_report)(
                worker_id=self.worker_id,
                started_at=self._started_at,
                running=len(self._active),
                concurrency=self.settings.concurrency,
            )
        except Exception:
            logger.exception("runner %s could not report its heartbeat", self.worker_id)

    async def _heartbeat_loop(self) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await self._report()
            await asyncio.sleep(interval)
            ids = self.active_ids
            if not ids:
                continue
            try:
                kept = await db(records.response_heartbeat)(
                    worker_id=self.worker_id, response_ids=ids, lease_seconds=self.settings.lease_seconds
                )
            except Exception:
                logger.exception("runner %s heartbeat failed", self.worker_id)
                continue
            for lost in set(ids) - kept:
                task = self._active.get(lost)
                if task is not None:
                    logger.warning("response %s: lease lost, cancelling", lost)
                    task.cancel()

    async def _reap_loop(self) -> None:
        while True:
            try:
                reaped = await db(records.response_reap)()
                if reaped:
                    self._wake.set()
            except Exception:
                logger.exception("runner %s reaper failed", self.worker_id)
            await asyncio.sleep(self.settings.reap_seconds)

    async def _chores_loop(self) -> None:
        """Ask for periodic chores when they are due (once across all runners, see ops.chores)."""
        while True:
            try:
                await db(enqueue_due)()
            except Exception:
                logger.exception("runner %s could not ask for chores", self.worker_id)
            await asyncio.sleep(self.settings.reap_seconds)

    async def _listen_for_wakeups(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel()
        await layer.group_add(RUNNER_GROUP, channel)
        try:
            while True:
                await layer.receive(channel)
                self._wake.set()
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(RUNNER_GROUP, channel)

    async def _drain(self) -> None:
        if not self._active:
            return
        logger.info("runner %s draining %s jobs", self.worker_id, len(self._active))
        tasks = list(self._active.values())
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.drain_seconds)
        if not pending:
            return
        leftover = self.active_ids
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await db(records.response_release)(worker_id=self.worker_id, response_ids=leftover)


async def _first(*awaitables: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
