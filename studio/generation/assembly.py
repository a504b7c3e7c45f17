"""Wire a Runner to a Pipeline and a Gemini client from Django settings."""

from __future__ import annotations

from django.conf import settings

from studio.ops.collector import collect_young_less_often, freeze_startup_heap

from .gemini import GeminiClient, GeminiSettings
from .pipeline import Pipeline, PipelineSettings
from .runner import Runner, RunnerSettings, new_worker_id

# Calls someone waits on (a submit's token count, start-up's and the doctor's checks) give up sooner
# than a generation may take, so a dead network is reported rather than hung on.
QUICK_CALL_TIMEOUT_S = 15.0


def gemini_settings(*, concurrency: int | None = None, quick: bool = False) -> GeminiSettings:
    return GeminiSettings(
        api_key=settings.GEMINI_API_KEY,
        base_url=settings.GEMINI_BASE_URL,
        vertex_project=settings.GEMINI_VERTEX_PROJECT,
        vertex_location=settings.GEMINI_VERTEX_LOCATION,
        vertex_express=settings.GEMINI_VERTEX_EXPRESS,
        vertex_access_token=settings.GEMINI_VERTEX_ACCESS_TOKEN,
        timeout_s=min(settings.GEMINI_TIMEOUT_S, QUICK_CALL_TIMEOUT_S) if quick else settings.GEMINI_TIMEOUT_S,
        # Every running job holds one streaming call; Files API uploads may need a few more.
        max_connections=(concurrency or settings.STUDIO_RUNNER_CONCURRENCY) + 8,
    )


def build_pipeline(worker_id: str, *, concurrency: int | None = None) -> Pipeline:
    return Pipeline(
        worker_id=worker_id,
        gemini=GeminiClient(gemini_settings(concurrency=concurrency)),
        settings=PipelineSettings(
            retry_base_s=settings.STUDIO_RETRY_BASE_S,
            retry_max_s=settings.STUDIO_RETRY_MAX_S,
            retry_total_s=settings.STUDIO_RETRY_TOTAL_S,
            thought_flush_s=settings.STUDIO_THOUGHT_FLUSH_S,
        ),
    )


def build_runner(*, concurrency: int | None = None, worker_id: str | None = None) -> Runner:
    worker_id = worker_id or new_worker_id()
    pipeline = build_pipeline(worker_id, concurrency=concurrency)
    pipeline.warm_up()
    freeze_startup_heap()  # after the warm-up, so what it built is frozen too
    collect_young_less_often()
    return Runner(
        run_job=pipeline.run,
        worker_id=worker_id,
        settings=RunnerSettings(
            concurrency=concurrency or settings.STUDIO_RUNNER_CONCURRENCY,
            lease_seconds=settings.STUDIO_LEASE_SECONDS,
        ),
    )
