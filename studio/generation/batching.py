"""Progress writes of every job a runner runs go to the database together.

A crowd's jobs each write their thoughts several times a second (the write interval no longer grows
with the crowd, which had held a thought back for up to 1.9 s with 200 jobs). Written one by one,
each is a transaction and a thread hop. Here whatever queues while a batch is being written goes in
the next batch, in one transaction, so the batch grows with the load instead of the wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from .records import LeaseLost, ProgressWrite

logger = logging.getLogger("studio.generation")

WriteMany = Callable[[Sequence[ProgressWrite]], Awaitable[set[int]]]


class ProgressBatcher:
    """`save` returns once its write is committed (with those queued beside it); raises LeaseLost
    when this worker no longer owns the response, as a write of its own would."""

    def __init__(self, write_many: WriteMany) -> None:
        self._write_many = write_many
        self._queued: list[tuple[ProgressWrite, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written, for tests and logs
        self.writes = 0

    async def save(self, write: ProgressWrite) -> None:
        done = asyncio.get_running_loop().create_future()
        self._queued.append((write, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="progress-writes")
        await done

    async def _drain(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                lost = await self._write_many([write for write, _ in batch])
            except Exception:
                logger.exception("a batch of %s progress writes failed; writing them one by one", len(batch))
                await self._one_by_one(batch)
                continue
            self.batches += 1
            self.writes += len(batch)
            for write, done in batch:
                _settle(done, LeaseLost(write.response_id) if write.response_id in lost else None)

    async def _one_by_one(self, batch: list[tuple[ProgressWrite, asyncio.Future[None]]]) -> None:
        """One bad write must not fail the others' (each gets its own outcome)."""
        for write, done in batch:
            try:
                lost = await self._write_many([write])
            except Exception as error:  # noqa: BLE001 - raised in the job that asked for this write
                _settle(done, error)
                continue
            self.batches += 1
            self.writes += 1
            _settle(done, LeaseLost(write.response_id) if lost else None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its job was cancelled meanwhile
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
