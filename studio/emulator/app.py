"""The emulator's ASGI application: Gemini's REST surface plus a small /_emulator control prefix."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import errors
from .batches import BatchStore, rpc_error
from .clock import Clock, rfc3339
from .config import EmulatorConfig
from .files import FileStore
from .generation import Answer, Planner, prompt_usage
from .libc import give_back_free_heap
from .model_specs import DEFAULT_MODEL, MODELS, ModelSpec
from .render_cache import RenderCache
from .request import GenerateRequest, parse_generate_request
from .scenario import HEADER, Scenario, apply_directives, markers_in
from .signatures import Signer
from .wire import normalize_keys

logger = logging.getLogger("studio.emulator")

API_VERSIONS = ("v1", "v1beta", "v1alpha", "v1beta1")  # v1beta1: the SDK's default on Vertex AI
JSON_TYPE = "application/json; charset=UTF-8"


def _dumps(body: Any) -> str:
    # Google's spacing: a space after colons, none after commas.
    return json.dumps(body, ensure_ascii=False, separators=(",", ": "))


def _emitted(event: Any) -> dict[str, Any]:
    """When a stream event went out and what it carried (the request log's `emitted`): benches time
    its way to the browser from here. Wall-clock seconds, comparable across processes."""
    parts = [p for c in event.get("candidates") or [] for p in (c.get("content") or {}).get("parts") or []]
    kinds = [
        ("thought-" if p.get("thought") else "") + ("image" if "inlineData" in p else "text")
        for p in parts
        if "inlineData" in p or "text" in p
    ]
    thought = "".join(p.get("text", "") for p in parts if p.get("thought"))
    return {"at": time.time(), "kinds": kinds, "thought": thought}


def google_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(error: errors.ApiError) -> Response:
    return Response(
        json.dumps(error.body(), indent=2), status_code=error.code, media_type=JSON_TYPE, headers=error.headers
    )


def _elide_long_strings(value: Any, longest: int = 256) -> Any:
    if isinstance(value, str) and len(value) > longest:
        return f"<{len(value)} characters elided>"
    if isinstance(value, dict):
        return {k: _elide_long_strings(v, longest) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide_long_strings(v, longest) for v in value]
    return value


@dataclass
class EmulatorState:
    config: EmulatorConfig
    clock: Clock = field(default_factory=Clock)
    requests: deque[dict[str, Any]] = field(default_factory=deque)
    failures: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.signer = Signer(self.config.hmac_key, self.config.signature_pad_bytes)
        self.render_cache = RenderCache(self.config.render_cache_mb * 1024 * 1024)
        self.planner = Planner(signer=self.signer, renderer=self.render_cache)
        self.files = FileStore(self.clock, self.config.file_ttl_s)
        self.batches = BatchStore(self.clock, self.files, self.config.batch_step_s)
        self.rng = random.Random(self.config.seed)
        self.requests = deque(maxlen=max(1, self.config.log_requests))

    def log(self, entry: dict[str, Any]) -> None:
        """Keep the entry; once the bodies kept whole pass `log_bodies_mb`, the oldest lose their
        long strings (inline images, signatures): an emulator fed 4K edits held them all otherwise."""
        self.requests.append(entry)
        budget = self.config.log_bodies_mb * 1024 * 1024
        whole = [e for e in self.requests if not e.get("elided")]
        kept = sum(e["size"] for e in whole)
        for old in whole[:-1]:
            if kept <= budget:
                break
            old["body"], old["elided"] = _elide_long_strings(old["body"]), True
            kept -= old["size"]

    def reset(self) -> None:
        self.clock.reset()
        self.requests.clear()
        self.failures.clear()
        self.files.clear()
        self.batches.clear()
        self.render_cache.clear()
        self.rng = random.Random(self.config.seed)


class Emulator:
    """Request handlers; one instance per app, holding the state."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.state = EmulatorState(config)
        self.config = config
        # Drawing has its own threads, so a crowd's images never queue ahead of reading new requests.
        self._drawing = ThreadPoolExecutor(max_workers=config.drawing_threads, thread_name_prefix="emulator-draw")
        self._drawing_lock = threading.Lock()
        self._drawings = 0

    def _draw(self, answer: Answer) -> None:
        with self._drawing_lock:
            self._drawings += 1
        try:
            answer.resolve()
        finally:
            with self._drawing_lock:
                self._drawings -= 1
                idle = self._drawings == 0
            if idle:  # a 4K drawing frees 100 MB or more; hand the heap's free part back while idle
                give_back_free_heap()

    def close(self) -> None:
        """Let the drawing threads go (an emulator started inside a test run is stopped many times)."""
        self._drawing.shutdown(wait=False, cancel_futures=True)

    # -- plumbing ---------------------------------------------------------------------------

    def _log(self, request: Request, raw: bytes) -> dict[str, Any]:
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        entry = {
            "time": rfc3339(self.state.clock.now()),
            "method": request.method,
            "path": request.url.path,
            "query": str(request.url.query),
            "headers": {
                k: ("<redacted>" if k.lower() == "x-goog-api-key" else v)
                for k, v in request.headers.items()
                if k.lower().startswith(("x-", "user-agent"))
            },
            "body": body,
            "size": len(raw),
            "status": None,
        }
        self.state.log(entry)
        return entry

    def _require_key(self, request: Request) -> None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not (key or request.headers.get("authorization")):
            raise errors.missing_api_key()
        accepted = {k.strip() for k in self.config.api_keys.split(",") if k.strip()}
        if key and accepted and key not in accepted:
            raise errors.bad_api_key()

    @staticmethod
    def _version(request: Request) -> str:
        version: str = request.path_params["version"]
        if version not in API_VERSIONS:
            raise errors.ApiError(404, f"Method not found: /{version}/.")
        return version

    def _delay(self, milliseconds: int) -> float:
        jitter = self.state.rng.uniform(0, self.config.latency_jitter_ms) if self.config.latency_jitter_ms else 0.0
        return max(0.0, (milliseconds + jitter) / 1000)

    def _scenario(self, request: Request, body: dict[str, Any] | None) -> Scenario:
        scenario = Scenario()
        header = request.headers.get(HEADER)
        if header:
            apply_directives(scenario, header)
        if self.config.prompt_markers and body:
            for directive in markers_in(_last_user_text(body)):
                apply_directives(scenario, directive)
        return scenario

    def _fault(self, scenario: Scenario, raw: bytes, model: str) -> errors.ApiError | None:
        if scenario.bad_key:
            return errors.bad_api_key()
        error = self._chosen_fault(scenario, raw, model)
        if error is None:
            return None
        retry_after = scenario.retry_after_s if scenario.retry_after_s is not None else self.config.retry_after_s
        if retry_after and error.code in {429, 503}:
            error.headers = {"Retry-After": str(retry_after)}
        return error

    def _chosen_fault(self, scenario: Scenario, raw: bytes, model: str) -> errors.ApiError | None:
        retry_delay = scenario.retry_delay_s if scenario.retry_delay_s is not None else self.config.retry_delay_s
        if scenario.error is not None:
            if scenario.fail_times is None:
                return errors.fault(scenario.error, model, retry_delay)
            key = hashlib.sha256(raw).hexdigest()
            seen = self.state.failures.get(key, 0)
            if seen < scenario.fail_times:
                self.state.failures[key] = seen + 1
                return errors.fault(scenario.error, model, retry_delay)
            return None
        for code, probability in (
            (429, self.config.fault_429),
            (503, self.config.fault_503),
            (500, self.config.fault_500),
        ):
            if probability and self.state.rng.random() < probability:
                return errors.fault(code, model, retry_delay)
        return None

    def _parse(self, body: dict[str, Any], spec: ModelSpec, seed: int) -> GenerateRequest:
        return parse_generate_request(
            body,
            spec=spec,
            seed=seed,
            signer=self.state.signer,
            strict_signatures=self.config.backend == "gemini",
            resolve_file=self.state.files.resolve_uri,
        )

    def _plan(self, parsed: GenerateRequest, scenario: Scenario, seed: int) -> Answer:
        return self.state.planner.plan(
            parsed,
            scenario,
            seed=seed,
            thoughts_when_unset=self.config.thoughts_when_unset,
            interim_images=self.config.interim_images,
            image_format=self.config.image_format,
        )

    # -- models -----------------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        self._require_key(request)
        self._version(request)
        return google_json({"models": [_model_resource(spec) for spec in MODELS.values()]})

    async def get_model(self, request: Request) -> Response:
        self._require_key(request)
        version = self._version(request)
        model = request.path_params["model"]
        if model not in MODELS:
            raise errors.ApiError(404, f"models/{model} is not found for API version {version}.")
        return google_json(_model_resource(MODELS[model]))

    async def model_method(self, request: Request) -> Response:
        raw = await request.body()
        entry = self._log(request, raw)
        try:
            response = await self._model_method(request, raw, entry)
        except errors.ApiError as error:
            entry["status"] = error.code
            raise
        entry["status"] = response.status_code
        return response

    async def _model_method(self, request: Request, raw: bytes, entry: dict[str, Any]) -> Response:
        # The model's latency runs from the request's arrival, so our own parsing and rendering (which
        # queue behind other requests' work in a crowd) overlap it, as a real call's wall time would.
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        version = self._version(request)
        model, _, method = request.path_params["model_method"].partition(":")
        self._require_key(request)
        known = {"generateContent", "streamGenerateContent", "countTokens", "batchGenerateContent"}
        if method not in known:
            raise errors.ApiError(404, f"Method not found: models/{model}:{method}.")
        spec = MODELS.get(model)
        if spec is None:
            raise errors.model_not_found(model, version, method)
        if len(raw) > self.config.max_request_bytes:
            raise errors.invalid_argument(
                f"Request payload size exceeds the limit: {self.config.max_request_bytes} bytes."
            )
        body = _json_body(raw)
        if method == "countTokens":
            return await self._count_tokens(body, spec)
        if method == "batchGenerateContent":
            batch = self.state.batches.create(model, body)
            return google_json(self.state.batches.operation(batch))
        scenario = self._scenario(request, body)
        fault = self._fault(scenario, raw, model)
        if fault is not None:
            raise fault
        seed = scenario.seed if scenario.seed is not None else self.config.seed
        parsed = await asyncio.to_thread(self._parse, body, spec, seed)
        first_ms = scenario.latency_ms if scenario.latency_ms is not None else self.config.latency_first_ms
        answer = await asyncio.to_thread(self._plan, parsed, scenario, seed)
        drawing = loop.run_in_executor(self._drawing, self._draw, answer)
        await asyncio.sleep(max(0.0, arrived + self._delay(first_ms) - loop.time()))
        if method == "generateContent":
            if scenario.stall:
                await asyncio.Event().wait()
            await drawing
            return google_json(answer.merged())
        return self._stream(answer, scenario, drawing, entry)

    def _stream(
        self, answer: Answer, scenario: Scenario, drawing: asyncio.Future[Any], entry: dict[str, Any]
    ) -> Response:
        event_ms = scenario.event_delay_ms if scenario.event_delay_ms is not None else self.config.latency_event_ms
        break_at: int | None = None
        break_code = 503
        if scenario.midstream_error is not None:
            break_at, break_code = scenario.midstream_after, scenario.midstream_error
        elif (
            self.config.fault_midstream
            and len(answer.events) > 1
            and self.state.rng.random() < self.config.fault_midstream
        ):
            break_at = self.state.rng.randrange(1, len(answer.events))

        async def events() -> AsyncIterator[str]:
            if scenario.stall:
                await asyncio.Event().wait()
            for index in range(len(answer.events)):
                if index:
                    gaps = scenario.event_gaps_ms
                    await asyncio.sleep(self._delay(gaps[(index - 1) % len(gaps)] if gaps else event_ms))
                if break_at is not None and index >= break_at:
                    yield f"data: {_dumps(errors.server_fault(break_code).body())}\r\n\r\n"
                    return
                if callable(answer.events[index]):
                    await drawing  # thoughts went out while the image was drawn; now it is needed
                event = answer.events[index]
                entry.setdefault("emitted", []).append(_emitted(event))
                yield f"data: {_dumps(event)}\r\n\r\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def _count_tokens(self, body: dict[str, Any], spec: ModelSpec) -> Response:
        inner = body.get("generateContentRequest") or {"contents": body.get("contents")}
        # Counting is how a client learns that a request is too long: no limit applies to it.
        unlimited = dataclasses.replace(spec, input_token_limit=2**62)
        parsed = await asyncio.to_thread(
            parse_generate_request,
            inner,
            spec=unlimited,
            seed=self.config.seed,
            signer=self.state.signer,
            strict_signatures=False,
            resolve_file=self.state.files.resolve_uri,
        )
        total, details = prompt_usage(parsed)
        return google_json({"totalTokens": total, "promptTokensDetails": details})

    # -- files ------------------------------------------------------------------------------

    def _origin(self, request: Request) -> str:
        if self.config.public_origin:
            return self.config.public_origin.rstrip("/")
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    async def upload(self, request: Request) -> Response:
        self._version(request)
        raw = await request.body()
        upload_id = request.query_params.get("upload_id")
        command = request.headers.get("x-goog-upload-command", "").lower()
        self._log(request, raw if upload_id is None else b"")
        if upload_id is None:
            self._require_key(request)
            if "start" not in command:
                raise errors.invalid_argument("Resumable uploads must start with X-Goog-Upload-Command: start.")
            meta = normalize_keys(_json_body(raw) if raw else {}).get("file") or {}
            mime = request.headers.get("x-goog-upload-header-content-type") or meta.get("mimeType") or ""
            size = int(request.headers.get("x-goog-upload-header-content-length") or meta.get("sizeBytes") or 0)
            new_id = self.state.files.start_upload(str(meta.get("displayName") or ""), mime, size)
            url = f"{self._origin(request)}{request.url.path}?upload_id={new_id}&upload_protocol=resumable"
            return Response(
                b"",
                headers={
                    "X-Goog-Upload-URL": url,
                    "X-Goog-Upload-Status": "active",
                    "X-Goog-Upload-Chunk-Granularity": "8388608",
                },
            )
        offset = int(request.headers.get("x-goog-upload-offset", "0"))
        stored = self.state.files.receive_chunk(upload_id, offset, raw, finalize="finalize" in command)
        if stored is None:
            return Response(b"", headers={"X-Goog-Upload-Status": "active"})
        return google_json(
            {"file": stored.resource(self._api_root(request))}, headers={"X-Goog-Upload-Status": "final"}
        )

    def _api_root(self, request: Request) -> str:
        root = request.scope.get("root_path", "")
        return f"{self._origin(request)}{root}"

    async def list_files(self, request: Request) -> Response:
        self._require_key(request)
        self._version(request)
        live = self.state.files.live()
        page, token = _page(live, request)
        body: dict[str, Any] = {"files": [f.resource(self._api_root(request)) for f in page]}
        if token:
            body["nextPageToken"] = token
        return google_json(body)

    async def file(self, request: Request) -> Response:
        self._require_key(request)
        self._version(request)
        file_id, _, action = request.path_params["file"].partition(":")
        if request.method == "DELETE":
            self.state.files.delete(file_id)
            return google_json({})
        stored = self.state.files.get(file_id)
        if action == "download":
            if stored.source != "GENERATED":
                raise errors.invalid_argument("Only generated files can be downloaded; uploaded files cannot.")
            return Response(stored.data, media_type=stored.mime_type)
        return google_json(stored.resource(self._api_root(request)))

    # -- batches ----------------------------------------------------------------------------

    def _run_batch_item(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        request_body = normalize_keys(body)
        model = str(request_body.pop("model", "") or "").removeprefix("models/") or DEFAULT_MODEL
        try:
            scenario = Scenario()
            if self.config.prompt_markers:
                for directive in markers_in(_last_user_text(request_body)):
                    apply_directives(scenario, directive)
            if scenario.error is not None:
                raise errors.fault(scenario.error, model, self.config.retry_delay_s)
            spec = MODELS.get(model)
            if spec is None:
                raise errors.model_not_found(model, "v1beta", "batchGenerateContent")
            parsed = self._parse(request_body, spec, self.config.seed)
            return "response", self._plan(parsed, scenario, self.config.seed).merged()
        except errors.ApiError as error:
            return "error", rpc_error(error)

    async def list_batches(self, request: Request) -> Response:
        self._require_key(request)
        self._version(request)
        batches = await asyncio.to_thread(self.state.batches.list, self._run_batch_item)
        page, token = _page(batches, request)
        body: dict[str, Any] = {"operations": [self.state.batches.operation(b) for b in page]}
        if token:
            body["nextPageToken"] = token
        return google_json(body)

    async def batch(self, request: Request) -> Response:
        self._require_key(request)
        self._version(request)
        batch_id, _, action = request.path_params["batch"].partition(":")
        store = self.state.batches
        if request.method == "DELETE":
            store.delete(batch_id)
            return google_json({})
        if action == "cancel":
            await asyncio.to_thread(store.cancel, batch_id, self._run_batch_item)
            return google_json({})
        batch = await asyncio.to_thread(store.get, batch_id, self._run_batch_item)
        return google_json(store.operation(batch))

    # -- control ----------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "backend": self.config.backend, "seed": self.config.seed, "models": list(MODELS)}
        )

    async def request_log(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", len(self.state.requests) or 1))
        return JSONResponse({"requests": list(self.state.requests)[-limit:]})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"status": "reset"})

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            self.state.clock.advance(float(body.get("advance_s", 0)))
        return JSONResponse({"now": rfc3339(self.state.clock.now()), "epoch": self.state.clock.now()})


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid_argument(f"Invalid JSON payload received. {exc}") from None
    if not isinstance(body, dict):
        raise errors.invalid_argument("Invalid JSON payload received. Expected an object.")
    normalized: dict[str, Any] = normalize_keys(body)
    return normalized


def _last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if isinstance(content, dict) and (content.get("role") or "user") == "user":
            return " ".join(str(p.get("text", "")) for p in content.get("parts") or [] if isinstance(p, dict))
    return ""


def _page(items: list[Any], request: Request) -> tuple[list[Any], str]:
    size = int(request.query_params.get("pageSize") or 100)
    start = int(request.query_params.get("pageToken") or 0)
    end = start + max(1, size)
    return items[start:end], (str(end) if end < len(items) else "")


def _model_resource(spec: ModelSpec) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": f"models/{spec.id}",
        "version": spec.version,
        "displayName": spec.display_name,
        "description": spec.description,
        "inputTokenLimit": spec.input_token_limit,
        "outputTokenLimit": spec.output_token_limit,
        "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"],
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": True,
    }
    return resource


def _guard(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await handler(request)
        except errors.ApiError as error:
            return error_response(error)
        except Exception:  # an emulator bug still answers in Google's format
            logger.exception("emulator failure on %s %s", request.method, request.url.path)
            return error_response(errors.server_fault(500))
        return response

    return endpoint


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    emulator = Emulator(config or EmulatorConfig())
    e = emulator
    routes = [
        Route("/_emulator/health", e.health),
        Route("/_emulator/requests", e.request_log),
        Route("/_emulator/reset", e.reset, methods=["POST"]),
        Route("/_emulator/clock", e.clock, methods=["GET", "POST"]),
        Route("/upload/{version}/files", _guard(e.upload), methods=["POST"]),
        Route("/{version}/models", _guard(e.list_models)),
        Route("/{version}/models/{model_method}", _guard(e.model_method), methods=["POST"]),
        Route("/{version}/models/{model}", _guard(e.get_model)),
        # Vertex AI: project-scoped, and express mode (an API key, no project).
        Route(
            "/{version}/projects/{project}/locations/{location}/publishers/google/models/{model_method}",
            _guard(e.model_method),
            methods=["POST"],
        ),
        Route("/{version}/publishers/google/models/{model_method}", _guard(e.model_method), methods=["POST"]),
        Route("/{version}/files", _guard(e.list_files)),
        Route("/{version}/files/{file}", _guard(e.file), methods=["GET", "DELETE"]),
        Route("/{version}/batches", _guard(e.list_batches)),
        Route("/{version}/batches/{batch}", _guard(e.batch), methods=["GET", "POST", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app
