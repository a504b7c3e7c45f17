"""Durable job state for responses. Every write a worker makes is fenced on its lease: if another
worker or the reaper took the row, the write changes nothing and raises `LeaseLost`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from studio.billing import services as ledger
from studio.chat.imagefiles import images_discard
from studio.chat.imagestore import StoredImage
from studio.chat.models import ImageVersion, Reference, Response, ResponseStatus
from studio.realtime.events import publish_on_commit, wake_runners_on_commit

from . import fairness
from .fenced_writes import FencedUpdate, fenced_update_many
from .models import RunnerHeartbeat
from .outcomes import message_for

logger = logging.getLogger("studio.generation")


class LeaseLost(Exception):
    """This worker no longer owns the response; stop touching it."""


def _lease_until(lease_seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=lease_seconds)


def _announce(rows: Iterable[tuple[int, int]]) -> None:
    for response_id, conversation_id in rows:
        publish_on_commit(conversation_id, "response", response_id=response_id)


def response_claim(*, worker_id: str, limit: int, lease_seconds: float) -> list[int]:
    """Lease up to `limit` queued responses in fair order (fairness.pick: global and per-team caps,
    the team with the fewest running jobs first). Two workers never get the same row: claims take
    turns (an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite) and skip rows locked otherwise."""
    if limit <= 0:
        return []
    with transaction.atomic():
        fairness.serialise_claims()
        picked = fairness.pick(
            Response.objects.filter(status=ResponseStatus.QUEUED), limit, fairness.Caps.from_settings()
        )
        queued = Response.objects.filter(pk__in=picked, status=ResponseStatus.QUEUED)
        if connection.features.has_select_for_update_skip_locked:
            queued = queued.select_for_update(skip_locked=True, of=("self",))
        taken = set(queued.values_list("pk", flat=True))
        ids = [pk for pk in picked if pk in taken]  # in fair order
        if not ids:
            return []
        now = timezone.now()
        Response.objects.filter(pk__in=ids, status=ResponseStatus.QUEUED).update(
            status=ResponseStatus.RUNNING,
            lease_owner=worker_id,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
            started_at=now,
        )
        _announce(Response.objects.filter(pk__in=ids).values_list("pk", "turn__conversation_id"))
    return ids


def response_heartbeat(*, worker_id: str, response_ids: list[int], lease_seconds: float) -> set[int]:
    """Extend our leases; returns the ids we still own."""
    if not response_ids:
        return set()
    with transaction.atomic():
        owned = Response.objects.filter(pk__in=response_ids, lease_owner=worker_id, status=ResponseStatus.RUNNING)
        kept = set(owned.values_list("pk", flat=True))
        owned.update(lease_expires_at=_lease_until(lease_seconds))
    return kept


@dataclass(frozen=True)
class ProgressWrite:
    response_id: int
    worker_id: str
    conversation_id: int
    fields: dict[str, Any]


def responses_save_progress(writes: Sequence[ProgressWrite]) -> list[LeaseLost | None]:
    """Many jobs' progress in one transaction, in order; LeaseLost for each write whose lease was
    lost (nothing is written for it). Each saved write tells its conversation after the commit."""
    outcomes: list[LeaseLost | None] = []
    now = timezone.now()
    with transaction.atomic():
        updates = [FencedUpdate(w.response_id, w.worker_id, {**w.fields, "updated_at": now}) for w in writes]
        for write, applied in zip(writes, fenced_update_many(updates), strict=True):
            if not applied:
                outcomes.append(LeaseLost(write.response_id))
                continue
            kind = "thoughts" if set(write.fields) <= {"thoughts_text"} else "response"
            publish_on_commit(write.conversation_id, kind, response_id=write.response_id)
            outcomes.append(None)
    return outcomes


def response_save_progress(*, response_id: int, worker_id: str, conversation_id: int, **fields: Any) -> None:
    (outcome,) = responses_save_progress([ProgressWrite(response_id, worker_id, conversation_id, fields)])
    if outcome is not None:
        raise outcome


@dataclass(frozen=True)
class ImageWrite:
    """An image the stream produced, stored already: its row, its part (after `parts`, the parts so
    far) and other pending response `fields`, saved in one write."""

    response_id: int
    worker_id: str
    conversation_id: int
    stored: StoredImage
    is_thought: bool
    label_mime_type: str
    signature: str
    parts: list[dict[str, Any]]
    fields: dict[str, Any]

    def part(self, image_id: int) -> dict[str, Any]:
        return {
            "image": image_id,
            "mime_type": self.label_mime_type,
            "thought": self.is_thought,
            "signature": self.signature or None,
        }


def images_create(writes: Sequence[ImageWrite]) -> list[ImageVersion | LeaseLost]:
    """Many jobs' images in one transaction, in order (one write per response: a job waits for its
    image before the next). The rows go in with one insert; a write whose lease is lost gets
    LeaseLost and its row is taken out again."""
    outcomes: list[ImageVersion | LeaseLost] = []
    with transaction.atomic():
        images = ImageVersion.objects.bulk_create([_image_row(write) for write in writes])
        now = timezone.now()
        updates = [
            FencedUpdate(
                write.response_id,
                write.worker_id,
                {**write.fields, "parts": [*write.parts, write.part(image.pk)], "billable": True, "updated_at": now},
            )
            for write, image in zip(writes, images, strict=True)
        ]
        for write, image, applied in zip(writes, images, fenced_update_many(updates), strict=True):
            if not applied:
                ImageVersion.objects.filter(pk=image.pk).delete()
                outcomes.append(LeaseLost(write.response_id))
                continue
            publish_on_commit(write.conversation_id, "response", response_id=write.response_id)
            outcomes.append(image)
    return outcomes


def _image_row(write: ImageWrite) -> ImageVersion:
    stored = write.stored
    return ImageVersion(
        response_id=write.response_id,
        part_index=len(write.parts),
        is_thought=write.is_thought,
        storage_key=stored.storage_key,
        mime_type=stored.mime_type,
        label_mime_type=write.label_mime_type,
        width=stored.width,
        height=stored.height,
        byte_size=stored.byte_size,
        sha256=stored.sha256,
        thumbnail_key=stored.thumbnail_key,
        rendition_key=stored.rendition_key,
        rendition_mime_type=stored.rendition_mime_type,
        thought_signature=write.signature,
    )


@dataclass(frozen=True)
class Finish:
    """How a job ends: its status and every field it writes. A failure discards partial output.
    `final_images` is the number of final images stored (the settle bills them); None counts them."""

    response_id: int
    worker_id: str
    conversation_id: int
    status: str
    fields: dict[str, Any]
    discard_output: bool = False
    final_images: int | None = None


def responses_finish(finishes: Sequence[Finish]) -> list[LeaseLost | None]:
    """End many jobs in one transaction, their bills settled together, so nothing half-written
    remains; LeaseLost for each job this worker no longer owns (nothing is written for it)."""
    outcomes: list[LeaseLost | None] = []
    closings: list[ledger.Closing] = []
    now = timezone.now()
    with transaction.atomic():
        updates = [FencedUpdate(f.response_id, f.worker_id, _ending_fields(f, now)) for f in finishes]
        for finish, ended in zip(finishes, fenced_update_many(updates), strict=True):
            if not ended:
                outcomes.append(LeaseLost(finish.response_id))
                continue
            if finish.discard_output:
                images_discard(ImageVersion.objects.filter(response_id=finish.response_id))
            if "cost_usd" in finish.fields:
                closings.append(_settle(finish, finish.fields))
            else:
                _close_unpriced(finish.response_id, finish.status, finish.fields)
            publish_on_commit(finish.conversation_id, "response", response_id=finish.response_id)
            outcomes.append(None)
        ledger.close_many(closings)
    return outcomes


def _ending_fields(finish: Finish, now: dt.datetime) -> dict[str, Any]:
    fields = {**finish.fields, "parts": [], "text": ""} if finish.discard_output else finish.fields
    ending = {"status": finish.status, "lease_owner": "", "lease_expires_at": None, "finished_at": now}
    return {**fields, **ending, "updated_at": now}


def _reason(status: str, fields: dict[str, Any]) -> str:
    return str(fields.get("error_code") or status)


def _settle(finish: Finish, fields: dict[str, Any]) -> ledger.Closing:
    """A finished response (done, blocked, or no image) costs what its usage says."""
    finals = 0
    if finish.status == ResponseStatus.SUCCEEDED:
        known = finish.final_images
        finals = known if known is not None else _final_images(finish.response_id)
    return ledger.Closing(
        response_id=finish.response_id,
        billed=True,
        reason=_reason(finish.status, fields),
        cost=fields["cost_usd"],
        images=finals,
        usage=fields.get("usage") or {},
        queries=len((fields.get("grounding") or {}).get("web_search_queries") or []),
    )


def _final_images(response_id: int) -> int:
    return ImageVersion.objects.filter(response_id=response_id, is_thought=False).count()


def _close_unpriced(response_id: int, status: str, fields: dict[str, Any]) -> None:
    """A failure after Gemini started answering costs the reserved bound (its final usage never
    came); a failure before costs nothing."""
    billable = Response.objects.values_list("billable", flat=True).get(pk=response_id)
    entry = ledger.close(response_id=response_id, billed=billable, reason=_reason(status, fields))
    if entry is not None and entry.estimated:  # the image shows what it was charged
        Response.objects.filter(pk=response_id).update(cost_usd=entry.amount_usd)


def response_release(*, worker_id: str, response_ids: list[int]) -> None:
    """A draining worker gives back what it could not finish: requeue if nothing billable happened."""
    with transaction.atomic():
        owned = Response.objects.filter(pk__in=response_ids, lease_owner=worker_id, status=ResponseStatus.RUNNING)
        _settle_abandoned(owned)


def response_reap(*, now: dt.datetime | None = None) -> int:
    """Take back responses whose worker died (its lease expired)."""
    with transaction.atomic():
        expired = Response.objects.filter(status=ResponseStatus.RUNNING, lease_expires_at__lt=now or timezone.now())
        if connection.features.has_select_for_update_skip_locked:
            expired = expired.select_for_update(skip_locked=True, of=("self",))
        return _settle_abandoned(expired)


def _settle_abandoned(rows: Any) -> int:
    rows = list(rows.select_related("turn"))
    for response in rows:
        if response.billable:
            images_discard(ImageVersion.objects.filter(response=response))
            entry = ledger.close(response_id=response.pk, billed=True, reason="interrupted")
            Response.objects.filter(pk=response.pk).update(
                cost_usd=entry.amount_usd if entry is not None else response.cost_usd,  # what it was charged
                status=ResponseStatus.FAILED,
                error_code="interrupted",
                error_message=message_for("interrupted"),
                parts=[],
                text="",
                lease_owner="",
                lease_expires_at=None,
                finished_at=timezone.now(),
            )
        else:
            Response.objects.filter(pk=response.pk).update(
                status=ResponseStatus.QUEUED, lease_owner="", lease_expires_at=None
            )
        logger.warning(
            "response %s abandoned by %s: %s",
            response.pk,
            response.lease_owner,
            "failed (billable)" if response.billable else "requeued",
        )
        publish_on_commit(response.turn.conversation_id, "response", response_id=response.pk)
    if rows:
        wake_runners_on_commit()
    return len(rows)


def files_cache_save(*, kind: str, row_id: int, uri: str, backend: str, expires: dt.datetime | None) -> None:
    """Remember a Files API handle so the same bytes are uploaded once until they expire."""
    model = ImageVersion if kind == "image" else Reference
    model.objects.filter(pk=row_id).update(files_api_uri=uri, files_api_backend=backend, files_api_expires_at=expires)


def runner_report(*, worker_id: str, started_at: dt.datetime, running: int, concurrency: int) -> None:
    """The runner is alive: renew its heartbeat row."""
    RunnerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"started_at": started_at, "seen_at": timezone.now(), "running": running, "concurrency": concurrency},
    )


def runner_gone(*, worker_id: str) -> None:
    RunnerHeartbeat.objects.filter(worker_id=worker_id).delete()
