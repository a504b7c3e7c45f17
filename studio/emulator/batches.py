"""The Batch API: jobs that move PENDING -> RUNNING -> SUCCEEDED on the emulator's clock."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .clock import Clock, rfc3339
from .files import FileStore

BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
EXPIRY_S = 48 * 3600
TERMINAL = {"BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"}

# Runs one request body; returns ("response", GenerateContentResponse) or ("error", rpc status).
RunOne = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]

RPC_CODES = {400: 3, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14, 504: 4}


@dataclass
class BatchItem:
    key: str | None
    metadata: Any
    request: dict[str, Any]


@dataclass
class Batch:
    batch_id: str
    model: str
    display_name: str
    items: list[BatchItem]
    from_file: bool
    created: float
    updated: float
    state: str = "BATCH_STATE_PENDING"
    ended: float | None = None
    output: dict[str, Any] | None = None
    stats: dict[str, str] = field(default_factory=dict)


class BatchStore:
    def __init__(self, clock: Clock, files: FileStore, step_s: float) -> None:
        self._clock = clock
        self._files = files
        self._step_s = step_s
        self._batches: dict[str, Batch] = {}

    def create(self, model: str, body: dict[str, Any]) -> Batch:
        spec = body.get("batch")
        if not isinstance(spec, dict):
            raise errors.invalid_argument("* BatchGenerateContentRequest.batch: batch is required\n")
        input_config = spec.get("inputConfig") or {}
        if "fileName" in input_config:
            items = self._items_from_file(str(input_config["fileName"]))
            from_file = True
        else:
            raw = (input_config.get("requests") or {}).get("requests")
            if not raw:
                raise errors.invalid_argument("* BatchGenerateContentRequest.batch.input_config: requests is empty\n")
            items = [BatchItem(None, r.get("metadata"), r.get("request") or {}) for r in raw]
            from_file = False
        now = self._clock.now()
        batch = Batch(
            batch_id=secrets.token_hex(8),
            model=model,
            display_name=str(spec.get("displayName") or ""),
            items=items,
            from_file=from_file,
            created=now,
            updated=now,
        )
        self._batches[batch.batch_id] = batch
        return batch

    def _items_from_file(self, file_name: str) -> list[BatchItem]:
        stored = self._files.get(file_name.removeprefix("files/"))
        items = []
        for number, line in enumerate(stored.data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise errors.invalid_argument(f"Invalid JSON on line {number} of {file_name}.") from None
            items.append(BatchItem(str(row.get("key", number)), None, row.get("request") or {}))
        if not items:
            raise errors.invalid_argument(f"The input file {file_name} has no requests.")
        return items

    def get(self, batch_id: str, run_one: RunOne) -> Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise errors.ApiError(404, f"Batch batches/{batch_id} not found.")
        self._advance(batch, run_one)
        return batch

    def list(self, run_one: RunOne) -> list[Batch]:
        batches = sorted(self._batches.values(), key=lambda b: b.created, reverse=True)
        for batch in batches:
            self._advance(batch, run_one)
        return batches

    def cancel(self, batch_id: str, run_one: RunOne) -> None:
        batch = self.get(batch_id, run_one)
        if batch.state not in TERMINAL:
            batch.state = "BATCH_STATE_CANCELLED"
            batch.updated = batch.ended = self._clock.now()

    def delete(self, batch_id: str) -> None:
        if self._batches.pop(batch_id, None) is None:
            raise errors.ApiError(404, f"Batch batches/{batch_id} not found.")

    def clear(self) -> None:
        self._batches.clear()

    def _advance(self, batch: Batch, run_one: RunOne) -> None:
        """State follows the clock lazily: one step to RUNNING, two to done."""
        if batch.state in TERMINAL:
            return
        elapsed = self._clock.now() - batch.created
        if elapsed >= EXPIRY_S and self._step_s * 2 > EXPIRY_S:
            batch.state, batch.ended = "BATCH_STATE_EXPIRED", self._clock.now()
        elif elapsed >= self._step_s * 2:
            self._run(batch, run_one)
        elif elapsed >= self._step_s:
            batch.state = "BATCH_STATE_RUNNING"
        batch.updated = self._clock.now()

    def _run(self, batch: Batch, run_one: RunOne) -> None:
        results = [run_one(item.request) for item in batch.items]
        failed = sum(1 for kind, _ in results if kind == "error")
        if batch.from_file:
            lines = []
            for item, (kind, payload) in zip(batch.items, results, strict=True):
                lines.append(json.dumps({"key": item.key, kind: payload}))
            stored = self._files.add(
                ("\n".join(lines) + "\n").encode(),
                "application/jsonl",
                source="GENERATED",
                file_id=f"batch-{batch.batch_id}",
            )
            batch.output = {"responsesFile": f"files/{stored.file_id}"}
        else:
            inlined = []
            for item, (kind, payload) in zip(batch.items, results, strict=True):
                entry: dict[str, Any] = {kind: payload}
                if item.metadata is not None:
                    entry["metadata"] = item.metadata
                inlined.append(entry)
            batch.output = {"inlinedResponses": {"inlinedResponses": inlined}}
        batch.state = "BATCH_STATE_SUCCEEDED"
        batch.ended = self._clock.now()
        batch.stats = {"successfulRequestCount": str(len(results) - failed)}
        if failed:
            batch.stats["failedRequestCount"] = str(failed)

    @staticmethod
    def operation(batch: Batch) -> dict[str, Any]:
        stats = {"requestCount": str(len(batch.items))}
        if batch.state in {"BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"}:
            stats["pendingRequestCount"] = str(len(batch.items))
        stats.update(batch.stats)
        metadata: dict[str, Any] = {
            "@type": BATCH_TYPE,
            "model": f"models/{batch.model}",
            "displayName": batch.display_name,
            "createTime": rfc3339(batch.created),
            "updateTime": rfc3339(batch.updated),
            "batchStats": stats,
            "state": batch.state,
            "name": f"batches/{batch.batch_id}",
        }
        if batch.ended is not None:
            metadata["endTime"] = rfc3339(batch.ended)
        if batch.output is not None:
            metadata["output"] = batch.output
        operation: dict[str, Any] = {"name": f"batches/{batch.batch_id}", "metadata": metadata}
        if batch.state in TERMINAL:
            operation["done"] = True
        return operation


def rpc_error(error: errors.ApiError) -> dict[str, Any]:
    return {"code": RPC_CODES.get(error.code, 2), "message": error.message}
