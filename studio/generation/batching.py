"""What many jobs of one runner ask of the database at about the same time goes to it together.

A crowd of 200 jobs loads its requests, writes its thoughts several times a second and settles its
bills nearly at once. One by one, each is a thread hop, a transaction and its own queries. Here
whatever queues while a batch is on its way goes in the next batch, in one call, so the batch grows
with the load instead of the wait. Job loads, progress writes (the write interval no longer grows
with the crowd, which had held a thought back for up to 1.9 s with 200 jobs), image rows and
endings go this way; a write whose lease is lost gets LeaseLost, as a write of its own would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

logger = logging.getLogger("studio.generation")


class Batcher[T, R]:
    """`call(item)` returns its item's outcome once `run_many` has run it with those queued beside
    it. `run_many` gives one outcome per item, in order: its result, or the exception its caller
    gets. If a whole batch fails (a bug or a lost database connection), its items are run again one
    by one, so one bad item does not fail the others."""

    def __init__(self, run_many: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]], *, name: str) -> None:
        self._run_many = run_many
        self._name = name
        self._queued: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.batches = 0  # calls of run_many that succeeded, for tests and logs
        self.items = 0

    async def call(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((item, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name=self._name)
        return await done

    async def _drain(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                outcomes = await self._run_many([item for item, _ in batch])
            except Exception:
                logger.exception("a batch of %s %s failed; running them one by one", len(batch), self._name)
                await self._one_by_one(batch)
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                _settle(done, outcome)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for item, done in batch:
            try:
                (outcome,) = await self._run_many([item])
            except Exception as error:  # noqa: BLE001 - raised in the job that asked for this item
                _settle(done, error)
                continue
            self.batches += 1
            self.items += 1
            _settle(done, outcome)


def _settle[R](done: asyncio.Future[R], outcome: R | Exception) -> None:
    if done.done():  # its job was cancelled meanwhile
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
