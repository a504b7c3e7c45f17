"""Run one response: stream the model, persist every piece first, then tell the browsers.

Thought text is coalesced (at most one write and event per flush interval); images are checked and
stored in a worker thread (their thumbnails are made on first view). Retries (408/429/5xx, network)
wait as long as the server asks (RetryInfo.retryDelay or Retry-After, plus a little jitter) or else
back off exponentially with full jitter; they are bounded by the turn's retry count, one wait's cap
and a total per response, and happen only before anything has streamed: once the model has produced
output a retry could bill twice, so a broken stream fails cleanly instead. While it waits, the
response says so live.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from studio.billing.pricing import response_cost
from studio.catalogue.selectors import CatalogueError
from studio.chat.imagefiles import files_delete_unused
from studio.chat.imagestore import StoredImage, UnreadableImage, load_codecs, read_bytes, store_image
from studio.chat.models import ImageVersion, Response, ResponseStatus

from . import records
from .batching import Batcher
from .gemini import GeminiClient
from .history import Job, load_jobs
from .messages import GeminiError, ImageRequest, OutputPart, StreamEvent
from .outcomes import message_for

logger = logging.getLogger("studio.generation")

IMAGE_SAFETY_REASONS = frozenset({"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "IMAGE_RECITATION"})


@functools.cache
def _sqlite_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-sqlite")


def db[**P, R](fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run ORM work off the event loop. On PostgreSQL in the loop's thread pool (not the single
    'sync' thread), so many jobs write in parallel. SQLite lets one writer in at a time and makes the
    others sleep in growing steps (up to 100 ms each) until the lock is free, so there one thread does
    all of it, in order, and none sleeps."""
    if connection.vendor == "sqlite":
        return sync_to_async(fn, thread_sensitive=False, executor=_sqlite_thread())
    return sync_to_async(fn, thread_sensitive=False)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return (rng or random).uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))


def retry_delay(error: GeminiError, attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """The server's hint plus up to 10% (at most 1 s) of jitter, so a crowd told to wait the same
    time does not come back at the same instant; with no hint, backoff with full jitter."""
    if error.retry_after is not None:
        return error.retry_after + rng.uniform(0, min(1.0, error.retry_after * 0.1))
    return backoff_delay(attempt, base=base, cap=cap, rng=rng)


RETRY_NOTES = {
    "rate_limited": "Rate-limited by Gemini",
    "overloaded": "Gemini is overloaded",
    "timeout": "Gemini did not answer in time",
    "server": "Gemini had an internal error",
    "network": "Could not reach Gemini",
}


@dataclass
class Progress:
    parts: list[dict[str, Any]] = field(default_factory=list)
    thoughts: str = ""
    text: str = ""
    final_images: int = 0
    received: bool = False
    retried: bool = False
    finish_reason: str = ""
    block_reason: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    grounding: dict[str, Any] | None = None
    model_version: str = ""
    last_flush: float = 0.0
    # What the next write carries: the first event's billing mark, new thoughts, the answer's text.
    pending: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, StoredImage] = field(default_factory=dict)  # by sha256: drafts often equal the final
    # A batch held back by the flush interval goes out on its own timer, not with the next event
    # (which may be seconds away); writes are serialised so the timer's never races the stream's.
    timer: asyncio.Task[None] | None = None
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def stop_timer(self) -> None:
        if self.timer is not None and not self.timer.done():
            self.timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.timer
        self.timer = None

    @property
    def stored_keys(self) -> list[str]:
        """Every file this run stored (originals, thumbnails, renditions)."""
        return [key for stored in self.stored.values() for key in stored.keys]

    def take_pending(self) -> dict[str, Any]:
        """Hand what is pending to the write about to happen, once."""
        fields, self.pending, self.last_flush = self.pending, {}, time.monotonic()
        return fields


@dataclass
class PipelineSettings:
    retry_base_s: float = 1.0
    retry_max_s: float = 60.0  # one wait, hinted or not
    retry_total_s: float = 300.0  # all of one response's waits
    thought_flush_s: float = 0.15


class Pipeline:
    def __init__(
        self,
        *,
        worker_id: str,
        gemini: GeminiClient,
        settings: PipelineSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.worker_id = worker_id
        self.gemini = gemini
        self.settings = settings or PipelineSettings()
        self._sleep = sleep
        self._rng = random.Random()
        self.progress_writes: Batcher[records.ProgressWrite, None] = Batcher(
            db(records.responses_save_progress), name="progress writes"
        )
        self.job_loads: Batcher[int, Job] = Batcher(db(load_jobs), name="job loads")
        self.image_writes: Batcher[records.ImageWrite, ImageVersion] = Batcher(
            db(records.images_create), name="image writes"
        )
        self.finishes: Batcher[records.Finish, None] = Batcher(db(records.responses_finish), name="finishes")

    def warm_up(self) -> None:
        """Pay one-off start-up costs (codec plugins, HTTP clients) before a burst of jobs, not during it."""
        load_codecs()
        self.gemini.warm_up()

    async def run(self, response_id: int) -> None:
        progress = Progress()
        try:
            await self._run_job(response_id, progress)
        finally:
            await progress.stop_timer()

    async def _run_job(self, response_id: int, progress: Progress) -> None:
        try:
            await self._generate(await self.job_loads.call(response_id), progress)
        except CatalogueError as error:  # the turn's model left the catalogue, or lost its replacement
            logger.warning("response %s: %s", response_id, error)
            await self._finish_failed_raw(response_id, "model_unavailable", str(error))
        except records.LeaseLost:
            logger.warning("response %s: lease lost; another worker or the reaper owns it now", response_id)
            # Whoever took the response (a cancel, the reaper) discarded the rows it saw; files stored
            # since have no row at all.
            await db(files_delete_unused)(progress.stored_keys)
        except Exception as error:  # a bug or a database failure: end it now rather than at lease expiry
            logger.exception("response %s crashed the pipeline", response_id)
            try:
                await self._finish_failed_raw(response_id, "internal", type(error).__name__)
                await db(files_delete_unused)(progress.stored_keys)  # files whose row was never written
            except Exception:
                logger.exception("response %s: could not record the crash; the reaper will end it", response_id)

    async def _generate(self, job: Job, progress: Progress) -> None:
        retries = 0
        waited = 0.0
        request_base = job.request
        refreshed_files = False
        while True:
            try:
                request = await self._with_files(request_base)
                async for event in self.gemini.stream(request):
                    await self._apply(job, progress, event)
                break
            except GeminiError as error:
                if error.kind == "file_missing" and not refreshed_files and not progress.received:
                    refreshed_files = True  # the Files API lost a cached upload: upload afresh, once
                    request_base = _forget_cached_files(request_base)
                    continue
                if error.retryable and not progress.received and retries < job.options.retries:
                    settings = self.settings
                    delay = retry_delay(
                        error, retries + 1, base=settings.retry_base_s, cap=settings.retry_max_s, rng=self._rng
                    )
                    refusal = _beyond_caps(error, delay, waited, settings)
                    if refusal is not None:
                        await self._fail(job, progress, refusal, retries)
                        return
                    retries += 1
                    waited += delay
                    logger.info(
                        "response %s: %s (%s), retry %s of %s in %.2fs%s",
                        job.response_id,
                        error.kind,
                        error.code,
                        retries,
                        job.options.retries,
                        delay,
                        " (server's hint)" if error.retry_after is not None else "",
                    )
                    await self._announce_retry(job, progress, error, retries, delay)
                    await self._sleep(delay)
                    continue
                await self._fail(job, progress, error, retries)
                return
            except records.LeaseLost:
                raise
            except UnreadableImage as error:
                await self._fail(job, progress, GeminiError("invalid_response", str(error)), retries)
                return
        await self._complete(job, progress)

    async def _announce_retry(
        self, job: Job, progress: Progress, error: GeminiError, number: int, delay: float
    ) -> None:
        """Persist, then show, why the response waits and until when ("retrying in 17 s (2 of 5)")."""
        progress.retried = True
        await self._save_progress(
            job,
            retry_note=RETRY_NOTES.get(error.kind, "Gemini failed"),
            retry_at=timezone.now() + dt.timedelta(seconds=delay),
            retry_number=number,
        )

    # -- the Files API ------------------------------------------------------------------------

    async def _with_files(self, request: ImageRequest) -> ImageRequest:
        """Give every Files API part a live handle: the cached one while it has an hour left for this
        backend, else a fresh upload (remembered for next time)."""
        if not any(part.via_files for content in request.contents for part in content.parts):
            return request
        if self.gemini.is_vertex:
            return await asyncio.to_thread(_files_inline, request)  # Vertex AI has no Files API
        soon = timezone.now() + dt.timedelta(hours=1)
        contents = []
        for content in request.contents:
            parts = []
            for part in content.parts:
                source = part.via_files
                if source is not None and not part.file_uri:
                    fresh = (
                        source.cached_uri
                        and source.cached_backend == self.gemini.backend
                        and (source.cached_expires is None or source.cached_expires > soon)
                    )
                    if fresh:
                        uri = source.cached_uri
                    else:
                        data = await asyncio.to_thread(read_bytes, source.storage_key)
                        uri, expires = await self.gemini.upload(data, part.mime_type)
                        await db(records.files_cache_save)(
                            kind=source.kind,
                            row_id=source.row_id,
                            uri=uri,
                            backend=self.gemini.backend,
                            expires=expires,
                        )
                    part = dataclasses.replace(part, file_uri=uri)
                parts.append(part)
            contents.append(dataclasses.replace(content, parts=tuple(parts)))
        return dataclasses.replace(request, contents=tuple(contents))

    # -- streaming ----------------------------------------------------------------------------

    async def _apply(self, job: Job, progress: Progress, event: StreamEvent) -> None:
        if not progress.received:
            progress.received = True
            # Billable from the first byte, so a crash after it fails the response instead of
            # requeueing it (which could bill twice). It rides on the write just below.
            progress.pending.update(billable=True, first_event_at=timezone.now())
            if progress.retried:
                progress.pending.update(retry_note="", retry_at=None)
        if event.usage:
            progress.usage = event.usage
        if event.model_version:
            progress.model_version = event.model_version
        progress.finish_reason = event.finish_reason or progress.finish_reason
        progress.block_reason = event.block_reason or progress.block_reason
        if event.grounding:
            progress.grounding = event.grounding
        for part in event.parts:
            if part.data is not None:
                await self._store_image(job, progress, part)
            elif part.thought:
                progress.thoughts += part.text or ""
                progress.parts.append({"text": part.text or "", "thought": True, "signature": None})
                progress.pending["thoughts_text"] = progress.thoughts
            else:
                progress.text += part.text or ""
                progress.parts.append({"text": part.text or "", "thought": False, "signature": _b64(part.signature)})
                progress.pending.update(parts=progress.parts, text=progress.text)
        first = "first_event_at" in progress.pending
        await self._flush(job, progress, force=first)

    async def _flush(self, job: Job, progress: Progress, *, force: bool = False) -> None:
        """Write what is pending: at once for the first event, else at most once per flush interval;
        what the interval holds back is written when it ends, by a timer, even if no event follows.
        Images and the ending carry whatever is pending with them."""
        if not progress.pending:
            return
        wait = self.settings.thought_flush_s - (time.monotonic() - progress.last_flush)
        if not force and wait > 0:
            if progress.timer is None or progress.timer.done():
                progress.timer = asyncio.create_task(self._flush_later(job, progress, wait))
            return
        async with progress.writing:
            if not progress.pending:
                return  # the timer (or an image) wrote it meanwhile
            await self._save_progress(job, **progress.take_pending())

    async def _save_progress(self, job: Job, **fields: Any) -> None:
        write = records.ProgressWrite(job.response_id, self.worker_id, job.conversation_id, fields)
        await self.progress_writes.call(write)

    async def _flush_later(self, job: Job, progress: Progress, wait: float) -> None:
        # Thoughts that arrive while this timer writes find it busy and start no timer of their
        # own, so it goes round again for them (under load, a write outlasts a short gap).
        while True:
            await asyncio.sleep(wait)
            try:
                await self._flush(job, progress, force=True)
            except records.LeaseLost:
                return  # the stream's own next write finds out too, and ends the run
            except Exception:  # a failed write of thoughts must not kill the stream; the next write retries it
                logger.exception("response %s: a timed write of thoughts failed", job.response_id)
                return
            if not progress.pending:
                return
            wait = max(0.0, self.settings.thought_flush_s - (time.monotonic() - progress.last_flush))

    async def _store_image(self, job: Job, progress: Progress, part: OutputPart) -> None:
        assert part.data is not None
        stored = await asyncio.to_thread(_store_once, progress.stored, part.data, job)
        async with progress.writing:
            await self._write_image(job, progress, part, stored)
        if not part.thought:
            progress.final_images += 1

    async def _write_image(self, job: Job, progress: Progress, part: OutputPart, stored: StoredImage) -> None:
        fields = progress.take_pending()
        fields.pop("parts", None)  # the image's own write saves the parts, with the image in them
        write = records.ImageWrite(
            response_id=job.response_id,
            worker_id=self.worker_id,
            conversation_id=job.conversation_id,
            stored=stored,
            is_thought=part.thought,
            label_mime_type=part.mime_type,
            signature=_b64(part.signature) or "",
            parts=list(progress.parts),
            fields=fields,
        )
        image = await self.image_writes.call(write)
        progress.parts.append(write.part(image.pk))

    # -- endings ------------------------------------------------------------------------------

    async def _complete(self, job: Job, progress: Progress) -> None:
        status, code, detail = ResponseStatus.SUCCEEDED, "", ""
        reason = progress.finish_reason
        if progress.block_reason:
            status, code, detail = ResponseStatus.BLOCKED, "prompt_blocked", progress.block_reason
        elif reason in IMAGE_SAFETY_REASONS:
            status, code, detail = ResponseStatus.BLOCKED, "image_safety", reason
        elif progress.final_images == 0 and reason == "STOP" and progress.text.strip():
            status, code = ResponseStatus.BLOCKED, "refusal"
        elif progress.final_images == 0:
            status, code, detail = ResponseStatus.FAILED, "no_image", reason or "none"
        queries = len((progress.grounding or {}).get("web_search_queries") or [])
        await progress.stop_timer()  # the ending writes whatever is pending itself
        # Everything the stream produced, written whole (pending billing fields included).
        produced = progress.take_pending() | {
            "thoughts_text": progress.thoughts,
            "parts": progress.parts,
            "text": progress.text,
        }
        fields = produced | {
            "error_code": code,
            "error_message": message_for(code, detail=detail) if code else "",
            "finish_reason": reason,
            "usage": progress.usage,
            "grounding": progress.grounding,
            "model_version": progress.model_version,
            "cost_usd": response_cost(job.prices, progress.usage, queries),
        }
        await self._finish(
            records.Finish(
                job.response_id, self.worker_id, job.conversation_id, status, fields, final_images=progress.final_images
            )
        )

    async def _fail(self, job: Job, progress: Progress, error: GeminiError, retries: int) -> None:
        code = (
            "stream_broken" if progress.received and error.kind not in {"bad_key", "invalid_response"} else error.kind
        )
        worded = error.kind in {"retry_too_long", "retry_budget"}  # their message is already the detail
        detail = f"{error.code} {error.message}" if error.code and not worded else error.message
        logger.warning("response %s failed: %s (%s)", job.response_id, code, detail)
        await progress.stop_timer()
        fields = progress.take_pending() | {
            "thoughts_text": progress.thoughts,  # parts and text are discarded
            "error_code": code,
            "error_message": message_for(code, detail=detail, retries=retries),
            "retry_note": "",
            "retry_at": None,
        }
        await self._finish(
            records.Finish(
                job.response_id, self.worker_id, job.conversation_id, ResponseStatus.FAILED, fields, discard_output=True
            )
        )

    async def _finish_failed_raw(self, response_id: int, code: str, detail: str) -> None:
        conversation_id = await db(_conversation_of)(response_id)
        fields = {"error_code": code, "error_message": message_for(code, detail=detail)}
        with contextlib.suppress(records.LeaseLost):
            await self._finish(
                records.Finish(
                    response_id, self.worker_id, conversation_id, ResponseStatus.FAILED, fields, discard_output=True
                )
            )

    async def _finish(self, finish: records.Finish) -> None:
        """End the job, in one transaction with the others ending now (their bills settled together)."""
        await self.finishes.call(finish)


def _beyond_caps(error: GeminiError, delay: float, waited: float, settings: PipelineSettings) -> GeminiError | None:
    """A retry the caps forbid becomes the failure to report: a hint longer than one wait may be, or
    waits that would add up past the total a response may spend waiting."""
    if error.retry_after is not None and error.retry_after > settings.retry_max_s:
        return GeminiError(
            "retry_too_long",
            f"{error.retry_after:.0f} s (the studio waits at most {settings.retry_max_s:.0f} s)",
            code=error.code,
        )
    if waited + delay > settings.retry_total_s:
        return GeminiError(
            "retry_budget",
            f"{waited + delay:.0f} s of waiting (the studio allows {settings.retry_total_s:.0f} s per image)",
            code=error.code,
        )
    return None


def _files_inline(request: ImageRequest) -> ImageRequest:
    """Every Files API part sent inline instead, with its stored bytes."""
    contents = []
    for content in request.contents:
        parts = tuple(
            dataclasses.replace(part, data=read_bytes(part.via_files.storage_key), via_files=None)
            if part.via_files is not None
            else part
            for part in content.parts
        )
        contents.append(dataclasses.replace(content, parts=parts))
    return dataclasses.replace(request, contents=tuple(contents))


def _forget_cached_files(request: ImageRequest) -> ImageRequest:
    contents = []
    for content in request.contents:
        parts = tuple(
            dataclasses.replace(
                part, file_uri="", via_files=dataclasses.replace(part.via_files, cached_uri="", cached_expires=None)
            )
            if part.via_files is not None
            else part
            for part in content.parts
        )
        contents.append(dataclasses.replace(content, parts=parts))
    return dataclasses.replace(request, contents=tuple(contents))


def _conversation_of(response_id: int) -> int:
    conversation_id: int = Response.objects.values_list("turn__conversation_id", flat=True).get(pk=response_id)
    return conversation_id


def _store_once(stored: dict[str, StoredImage], data: bytes, job: Job) -> StoredImage:
    """Store an image's bytes (in a worker thread: hashing and thumbnails hold no event loop). Gemini's
    last interim image often equals the final one: those bytes are stored once."""
    digest = hashlib.sha256(data).hexdigest()
    if digest not in stored:
        stored[digest] = store_image(  # its thumbnail is made when a browser first asks (chat.thumbnails)
            data=data, digest=digest, folder=job.folder, output_format=job.options.output_format, thumbnail=False
        )
    return stored[digest]


def _b64(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode("ascii") if value else None
