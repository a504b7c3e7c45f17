"""Retries follow the server: RetryInfo.retryDelay and Retry-After, capped per wait and in total, and
shown live while the response waits. A test clock stands in for sleeping; the calls are real."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from studio.chat.fragments import response_html
from studio.chat.models import Response, ResponseStatus
from studio.generation.assembly import gemini_settings
from studio.generation.gemini import GeminiClient
from studio.generation.pipeline import Pipeline, PipelineSettings
from tests.generation.test_pipeline import generate_calls
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingClock:
    """Records every wait instead of sleeping; looks at the waiting response as a browser would."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.seen: list[tuple[Response, str]] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.seen.append(await sync_to_async(self._look)())

    @staticmethod
    def _look() -> tuple[Response, str]:
        response = Response.objects.select_related("turn").get(status=ResponseStatus.RUNNING)
        return response, response_html(response=response, can_write=True)


def pipeline_with(clock: RecordingClock, **settings: Any) -> Pipeline:
    return Pipeline(
        worker_id="retry-worker",
        gemini=GeminiClient(gemini_settings()),
        settings=PipelineSettings(**{"retry_base_s": 1.0, "retry_max_s": 60.0, "retry_total_s": 300.0, **settings}),
        sleep=clock.sleep,
    )


def generate(prompt: str, clock: RecordingClock, retries: int = 5, **settings: Any) -> Response:
    user = make_user("rita")
    turn = submit(make_conversation(user), user, prompt, retries=retries)
    run_all(pipeline_with(clock, **settings))
    return turn.responses.get()


def test_a_429_with_retry_delay_waits_that_long_and_says_so_live(gemini: LiveEmulator) -> None:
    clock = RecordingClock()
    before = timezone.now()
    response = generate("a cat [[emulator: error=429, retry_delay=3, fail_times=1]]", clock)
    assert response.status == ResponseStatus.SUCCEEDED
    assert len(clock.waits) == 1 and 3.0 <= clock.waits[0] <= 3.3, clock.waits  # the hint plus <=10% jitter
    waiting, html = clock.seen[0]
    assert waiting.retry_note == "Rate-limited by Gemini" and waiting.retry_number == 1
    assert waiting.retry_at is not None
    assert dt.timedelta(seconds=2.9) <= waiting.retry_at - before <= dt.timedelta(seconds=10)
    assert "Rate-limited by Gemini, retrying" in html and "(1 of 5)" in html and "data-countdown" in html
    # Once the retry streams, the waiting line is gone.
    assert response.retry_at is None and "retrying" not in response_html(response=response, can_write=True)
    assert [r["status"] for r in generate_calls(gemini)] == [429, 200]


def test_retry_after_is_honoured(gemini: LiveEmulator) -> None:
    clock = RecordingClock()
    response = generate("a cat [[emulator: error=503, retry_after=7, fail_times=2]]", clock)
    assert response.status == ResponseStatus.SUCCEEDED
    assert len(clock.waits) == 2 and all(7.0 <= wait <= 7.7 for wait in clock.waits), clock.waits
    assert clock.seen[1][0].retry_note == "Gemini is overloaded" and clock.seen[1][0].retry_number == 2


def test_without_a_hint_backoff_has_full_jitter_under_the_cap(gemini: LiveEmulator) -> None:
    clock = RecordingClock()
    response = generate("a cat [[emulator: error=500, fail_times=3]]", clock, retry_base_s=2.0, retry_max_s=5.0)
    assert response.status == ResponseStatus.SUCCEEDED
    bounds = [2.0, 4.0, 5.0]  # base * 2**n, capped
    assert len(clock.waits) == 3 and all(0 <= w <= b for w, b in zip(clock.waits, bounds, strict=True)), clock.waits


def test_a_hint_over_the_cap_fails_at_once_with_a_clear_message(gemini: LiveEmulator) -> None:
    clock = RecordingClock()
    response = generate("a cat [[emulator: error=429, retry_delay=120]]", clock)
    assert clock.waits == []
    assert response.status == ResponseStatus.FAILED and response.error_code == "retry_too_long"
    assert "asked to wait 120 s" in response.error_message and "at most 60 s" in response.error_message
    assert "STUDIO_RETRY_MAX_S" in response.error_message
    assert len(generate_calls(gemini)) == 1 and response.retry_at is None


def test_waits_stop_at_the_total_per_response(gemini: LiveEmulator) -> None:
    clock = RecordingClock()
    response = generate("a cat [[emulator: error=429, retry_delay=4]]", clock, retry_total_s=10.0)
    assert len(clock.waits) == 2, clock.waits  # 4 + 4; a third 4 s wait would pass 10 s
    assert response.status == ResponseStatus.FAILED and response.error_code == "retry_budget"
    assert "Stopped after 2 retries" in response.error_message
    assert len(generate_calls(gemini)) == 3
