"""Events committed by a runner's worker threads reach the channel layer through the runner's loop:
all of them, in the order they were committed, however many queue between two turns of the loop."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from studio.realtime.events import conversation_group, publish_on_commit, publish_through, sent

pytestmark = pytest.mark.django_db(transaction=True)


def _commit_many(conversation_id: int, first: int, count: int) -> None:
    with transaction.atomic():
        for number in range(first, first + count):
            publish_on_commit(conversation_id, "response", response_id=number)


def test_events_from_worker_threads_all_arrive_in_commit_order() -> None:
    async def scenario() -> list[int]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(conversation_group(77), channel)
        publish_through(asyncio.get_running_loop())
        commit = sync_to_async(_commit_many, thread_sensitive=False)
        await commit(77, 0, 30)  # one transaction, thirty events: handed to the loop together
        await asyncio.gather(commit(77, 30, 5), commit(77, 35, 5))  # two threads at once
        await sent()
        received: list[int] = []
        async with asyncio.timeout(5):
            while len(received) < 40:
                received.append(int((await layer.receive(channel))["response_id"]))
        return received

    received = asyncio.run(scenario())
    assert received[:30] == list(range(30)), "one transaction's events keep their order"
    assert sorted(received) == list(range(40)), "none lost, none repeated"
    assert received[30:].index(34) > received[30:].index(30) and received[30:].index(39) > received[30:].index(35)


def _commit_repeats(conversation_id: int) -> None:
    with transaction.atomic():
        for number in (1, 2, 1, 3, 2):
            publish_on_commit(conversation_id, "response", response_id=number)
        publish_on_commit(conversation_id, "thoughts", response_id=1)  # another kind: not a repeat


def test_an_event_repeated_within_one_hand_over_is_sent_once_in_first_commit_order() -> None:
    async def scenario() -> list[tuple[str, int]]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(conversation_group(78), channel)
        publish_through(asyncio.get_running_loop())
        await sync_to_async(_commit_repeats, thread_sensitive=False)(78)
        await sent()
        received: list[tuple[str, int]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):  # long enough for a repeat that should not come
                while True:
                    message = await layer.receive(channel)
                    received.append((message["kind"], int(message["response_id"])))
        return received

    assert asyncio.run(scenario()) == [("response", 1), ("response", 2), ("response", 3), ("thoughts", 1)]
