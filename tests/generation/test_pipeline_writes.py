"""How the pipeline writes: at once for the first event, then every flush interval, batched across jobs."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest
from channels.layers import get_channel_layer

from studio.billing.models import EntryKind, UsageEntry
from studio.billing.selectors import team_budget
from studio.chat.imagestore import StoredImage
from studio.chat.models import Conversation, ImageVersion, Response, ResponseStatus
from studio.generation import records
from studio.generation.assembly import gemini_settings
from studio.generation.batching import Batcher
from studio.generation.gemini import GeminiClient
from studio.generation.pipeline import Pipeline, PipelineSettings, db
from studio.generation.records import ProgressWrite
from studio.realtime.events import conversation_group
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_output_then_a_broken_stream_leaves_the_response_billable(gemini: LiveEmulator) -> None:
    user = make_user("ines")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a kite [[emulator: midstream_error=503@3]]")
    assert run_all()
    response = Response.objects.get(turn=turn)
    assert response.status == ResponseStatus.FAILED and response.error_code == "stream_broken"
    assert response.billable, "the model produced output, so a retry could bill twice"
    assert response.first_event_at is not None
    assert response.thoughts_text, "the thoughts that arrived are kept"


async def run_crowd(conversation_id: int) -> tuple[float, Pipeline]:
    """Run every queued response at once; count the 'thoughts changed' events the browsers get."""
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add(conversation_group(conversation_id), channel)
    pipeline = Pipeline(
        worker_id="writes", gemini=GeminiClient(gemini_settings()), settings=PipelineSettings(thought_flush_s=0.05)
    )
    kinds: list[str] = []

    async def listen() -> None:  # as a browser would, all along (a channel holds only 100 messages)
        while True:
            kinds.append((await layer.receive(channel))["kind"])

    listener = asyncio.create_task(listen())
    ids = await db(records.response_claim)(worker_id="writes", limit=100, lease_seconds=60)
    await asyncio.gather(*(pipeline.run(response_id) for response_id in ids))
    await asyncio.sleep(0.3)  # events are sent from the loop after each commit
    listener.cancel()
    thoughts = kinds.count("thoughts")
    statuses = await db(lambda: set(Response.objects.filter(pk__in=ids).values_list("status", flat=True)))()
    assert statuses == {ResponseStatus.SUCCEEDED}
    return thoughts / len(ids), pipeline


def test_a_crowd_does_not_hold_anyone_s_thoughts_back(gemini: LiveEmulator) -> None:
    """Thought deltas 150 ms apart with a 50 ms flush interval, 24 jobs at once: every delta still
    reaches the browsers on its own; the interval does not grow with the crowd."""
    user = make_user("olga")
    crowd = make_conversation(user)
    for _ in range(6):
        submit(crowd, user, "a lantern [[emulator: event_delay=150]]", count=4)
    per_response, pipeline = asyncio.run(run_crowd(crowd.pk))
    assert per_response >= 4, "nearly every delta is its own write and event"
    assert pipeline.progress_writes.items >= 24 * 4
    finished = Response.objects.filter(turn__conversation=crowd)
    assert all(r.thoughts_text.count("**") >= 6 for r in finished), "every thought is saved in the end"


def _queued_crowd(name: str, turns: int) -> Conversation:
    """A conversation with `turns` turns of 4 images each, all queued."""
    user = make_user(name)
    conversation = make_conversation(user)
    for _ in range(turns):
        submit(conversation, user, "a harbour", count=4)
    return conversation


def test_writes_that_queue_together_share_one_transaction(gemini: LiveEmulator) -> None:
    """Whatever queues while a batch is written goes in the next, in one transaction; a write whose
    lease is gone fails alone, with LeaseLost, and writes nothing."""
    conversation = _queued_crowd("pia", turns=6)

    async def scenario() -> tuple[Batcher[ProgressWrite, None], list[BaseException | None], list[int]]:
        ids = await db(records.response_claim)(worker_id="batch", limit=100, lease_seconds=60)
        batcher: Batcher[ProgressWrite, None] = Batcher(db(records.responses_save_progress), name="progress")
        writes = [ProgressWrite(i, "batch", conversation.pk, {"thoughts_text": f"thought {i}"}) for i in ids]
        writes[5] = ProgressWrite(ids[5], "someone else", conversation.pk, {"thoughts_text": "not mine"})
        results = await asyncio.gather(*(batcher.call(w) for w in writes), return_exceptions=True)
        return batcher, results, ids

    batcher, results, ids = asyncio.run(scenario())
    assert len(ids) == 24 and batcher.batches == 1 and batcher.items == 24
    assert isinstance(results[5], records.LeaseLost) and results[5].args == (ids[5],)
    assert all(result is None for index, result in enumerate(results) if index != 5)
    saved = dict(Response.objects.filter(pk__in=ids).values_list("pk", "thoughts_text"))
    assert saved[ids[5]] == "" and all(saved[i] == f"thought {i}" for i in ids if i != ids[5])


def test_jobs_that_end_together_end_in_one_transaction(gemini: LiveEmulator) -> None:
    """Finishes that queue together are written together and their bills settled together; a job
    whose lease is gone fails alone, with LeaseLost, and its reservation stays open for the reaper."""
    conversation = _queued_crowd("ula", turns=3)

    async def scenario() -> tuple[Pipeline, list[BaseException | None], list[int]]:
        ids = await db(records.response_claim)(worker_id="ends", limit=100, lease_seconds=60)
        pipeline = Pipeline(worker_id="ends", gemini=GeminiClient(gemini_settings()))
        cost = Decimal("0.1")
        finishes = [
            records.Finish(i, "ends", conversation.pk, ResponseStatus.SUCCEEDED, {"cost_usd": cost}, final_images=1)
            for i in ids
        ]
        finishes[3] = dataclasses.replace(finishes[3], worker_id="someone else")
        results = await asyncio.gather(*(pipeline.finishes.call(f) for f in finishes), return_exceptions=True)
        return pipeline, results, ids

    pipeline, results, ids = asyncio.run(scenario())
    assert (pipeline.finishes.batches, pipeline.finishes.items) == (1, 12)
    assert isinstance(results[3], records.LeaseLost) and all(r is None for i, r in enumerate(results) if i != 3)
    statuses = dict(Response.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[ids[3]] == ResponseStatus.RUNNING
    assert all(statuses[i] == ResponseStatus.SUCCEEDED for i in ids if i != ids[3])
    settled = UsageEntry.objects.filter(response_ref__in=ids, kind=EntryKind.SETTLE)
    assert set(settled.values_list("response_ref", flat=True)) == {i for i in ids if i != ids[3]}
    still_reserved = UsageEntry.objects.get(response_ref=ids[3]).amount_usd
    assert budget_of(conversation) == (Decimal("1.1") + still_reserved, 12), "the counters moved by the sum, once"


def test_images_that_arrive_together_are_written_in_one_transaction(gemini: LiveEmulator) -> None:
    """Image rows of many jobs go in one transaction; a job whose lease is gone gets LeaseLost and
    its image row is undone, while the others' rows and parts stay."""
    conversation = _queued_crowd("vera", turns=1)

    def write(response_id: int, worker_id: str) -> records.ImageWrite:
        stored = StoredImage(f"k{response_id}.png", "image/png", 8, 8, 100, "0" * 64, f"k{response_id}.webp", "", "")
        return records.ImageWrite(
            response_id, worker_id, conversation.pk, stored, False, "image/png", "", [{"text": "a"}], {"text": "a"}
        )

    async def scenario() -> tuple[Pipeline, list[ImageVersion | BaseException], list[int]]:
        ids = await db(records.response_claim)(worker_id="pics", limit=100, lease_seconds=60)
        pipeline = Pipeline(worker_id="pics", gemini=GeminiClient(gemini_settings()))
        writes = [write(i, "pics" if index != 2 else "someone else") for index, i in enumerate(ids)]
        results = await asyncio.gather(*(pipeline.image_writes.call(w) for w in writes), return_exceptions=True)
        return pipeline, results, ids

    pipeline, results, ids = asyncio.run(scenario())
    assert (pipeline.image_writes.batches, pipeline.image_writes.items) == (1, 4)
    assert isinstance(results[2], records.LeaseLost)
    assert not ImageVersion.objects.filter(response_id=ids[2]).exists(), "the lost write's image is undone"
    for index in (0, 1, 3):
        image = ImageVersion.objects.get(response_id=ids[index])
        assert results[index] == image
        response = Response.objects.get(pk=ids[index])
        assert response.parts == [
            {"text": "a"},
            {"image": image.pk, "mime_type": "image/png", "thought": False, "signature": None},
        ]
        assert response.billable and response.text == "a"


def budget_of(conversation: Conversation) -> tuple[Decimal, int]:
    budget = team_budget(conversation.project.team)
    return budget.spent, budget.images


def _thoughts_length(response_id: int) -> int:
    return len(Response.objects.get(pk=response_id).thoughts_text)


def test_a_held_back_thought_goes_out_on_its_own_timer(gemini: LiveEmulator) -> None:
    """Thoughts 40 ms apart, then 1.5 s of silence: the second thought is held by the 0.15 s interval,
    and must reach the page when the interval ends, not when the next event finally arrives."""
    user = make_user("tess")
    conversation = make_conversation(user)
    submit(conversation, user, "a slow lighthouse [[emulator: gaps=40/1500, interim_images=0]]")

    async def scenario() -> list[float]:
        """When the browsers heard of more thought text, in seconds from the start."""
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(conversation_group(conversation.pk), channel)
        pipeline = Pipeline(worker_id="timer", gemini=GeminiClient(gemini_settings()), settings=PipelineSettings())
        loop = asyncio.get_running_loop()
        grew: list[float] = []
        known = 0

        async def listen() -> None:
            nonlocal known
            while True:
                event = await layer.receive(channel)
                length = await db(_thoughts_length)(int(event["response_id"]))
                if length > known:
                    known = length
                    grew.append(loop.time() - started)

        ids = await db(records.response_claim)(worker_id="timer", limit=1, lease_seconds=60)
        started = loop.time()
        listener = asyncio.create_task(listen())
        await pipeline.run(ids[0])
        await asyncio.sleep(0.2)
        listener.cancel()
        return grew

    grew = asyncio.run(scenario())
    # The first thought at once, the second when the 0.15 s interval ends: well before the 1.5 s gap
    # is over (without the timer it waited for the next event, 1.5 s later).
    assert len(grew) >= 3, grew
    assert grew[1] - grew[0] < 0.5, f"thought text grew at {grew}"
