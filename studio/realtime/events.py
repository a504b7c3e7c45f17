"""Events that tell browsers and runners something changed. They carry ids, never content:
receivers re-read the database, so an event can be repeated or lost and the page still converges."""

from __future__ import annotations

import asyncio
import logging
import threading
from contextvars import ContextVar
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("studio.realtime")

RUNNER_GROUP = "generation.wakeup"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


async def publish(conversation_id: int, kind: str, **ids: Any) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(conversation_group(conversation_id), {"type": "studio.event", "kind": kind, **ids})


# Set by a runner: its worker threads hand events to its loop and go straight back to work, instead
# of each waiting for the loop to send (which, with a crowd of jobs, holds every database thread).
_runner_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("studio_runner_loop", default=None)
_sending: set[asyncio.Task[None]] = set()


def publish_through(loop: asyncio.AbstractEventLoop) -> None:
    """Events committed in this context (and the threads it starts) are sent from `loop`, unawaited."""
    _runner_loop.set(loop)


async def _publish_logged(conversation_id: int, kind: str, ids: dict[str, Any]) -> None:
    try:
        await publish(conversation_id, kind, **ids)
    except Exception:  # the write is committed; a lost event heals on the next snapshot
        logger.exception("could not publish %s for conversation %s", kind, conversation_id)


# The newest send of each conversation on each loop. The next one waits for it: sends are separate
# tasks, and over Redis a later one could overtake an earlier one; this way a page gets its
# conversation's events in commit order, while different conversations still go out side by side.
_latest: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Future[None]] = {}


Event = tuple[str, dict[str, Any]]  # a kind and the ids it names


async def _publish_after(previous: asyncio.Future[None] | None, conversation_id: int, events: list[Event]) -> None:
    if previous is not None:
        await asyncio.wait([previous])  # never raises: the earlier send logs its own failure
    for kind, ids in events:
        await _publish_logged(conversation_id, kind, ids)


def _spawn(conversation_id: int, events: list[Event]) -> None:
    key = (asyncio.get_running_loop(), conversation_id)
    previous = _latest.get(key)
    task = asyncio.ensure_future(_publish_after(previous, conversation_id, events))
    _latest[key] = task
    _sending.add(task)  # keep a reference until it is sent

    def forget(done: asyncio.Future[None]) -> None:
        _sending.discard(done)
        if _latest.get(key) is done:
            del _latest[key]

    task.add_done_callback(forget)


async def sent() -> None:
    """Wait until the events handed to this loop are out (a stopping runner calls this last)."""
    loop = asyncio.get_running_loop()
    mine = [task for task in _sending if task.get_loop() is loop]
    if mine:
        await asyncio.gather(*mine, return_exceptions=True)


# Events committed by worker threads wait here for the loop; one wake-up of the loop carries all that
# queued meanwhile (each wake-up is a system call, and a batch of writes commits many events at once).
_handed: dict[asyncio.AbstractEventLoop, list[tuple[int, str, dict[str, Any]]]] = {}
_handed_lock = threading.Lock()


def _spawn_handed() -> None:
    """One send task per conversation for all that queued since the last wake-up (a crowd's batch
    of writes names hundreds of responses across a few dozen conversations). An event repeated in
    it goes once: all of them were committed before any is sent, and receivers re-read the rows."""
    with _handed_lock:
        mine = _handed.pop(asyncio.get_running_loop(), [])
    by_conversation: dict[int, dict[tuple[str, tuple[tuple[str, Any], ...]], Event]] = {}
    for conversation_id, kind, ids in mine:
        by_conversation.setdefault(conversation_id, {}).setdefault((kind, tuple(ids.items())), (kind, ids))
    for conversation_id, events in by_conversation.items():
        _spawn(conversation_id, list(events.values()))


def _send_now(conversation_id: int, kind: str, ids: dict[str, Any]) -> None:
    loop = _runner_loop.get()
    if loop is not None and not loop.is_closed():
        with _handed_lock:
            wake = loop not in _handed  # a wake-up already on its way carries this one too
            _handed.setdefault(loop, []).append((conversation_id, kind, ids))
        if wake:
            loop.call_soon_threadsafe(_spawn_handed)
        return
    async_to_sync(_publish_logged)(conversation_id, kind, ids)


def publish_on_commit(conversation_id: int, kind: str, **ids: int) -> None:
    transaction.on_commit(partial(_send_now, conversation_id, kind, ids))


async def wake_runners() -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(RUNNER_GROUP, {"type": "runner.wake"})


def _wake_now() -> None:
    try:
        async_to_sync(wake_runners)()
    except Exception:  # runners also poll, so a lost wake-up only costs latency
        logger.exception("could not wake the runners")


def wake_runners_on_commit() -> None:
    transaction.on_commit(_wake_now)
