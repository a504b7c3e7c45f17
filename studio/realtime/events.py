"""Events that tell browsers and runners something changed. They carry ids, never content:
receivers re-read the database, so an event can be repeated or lost and the page still converges."""

from __future__ import annotations

import logging
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


def _send_now(conversation_id: int, kind: str, ids: dict[str, Any]) -> None:
    try:
        async_to_sync(publish)(conversation_id, kind, **ids)
    except Exception:  # the write is committed; a lost event heals on the next snapshot
        logger.exception("could not publish %s for conversation %s", kind, conversation_id)


def publish_on_commit(conversation_id: int, kind: str, **ids: Any) -> None:
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
