"""Jobs a runner claims together are loaded together: the same queries for 4 jobs as for 24, the
same requests as one by one, and what stops one job stops only that one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import CatalogueError
from studio.chat.models import Response, ResponseStatus
from studio.generation.assembly import build_pipeline
from studio.generation.history import load_job, load_jobs
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_project, make_user, run_all, submit

FLASH = "gemini-3.1-flash-image"


def _queued(count_turns: int, name: str) -> list[int]:
    user = make_user(name)
    conversation = make_conversation(user)
    for index in range(count_turns):
        submit(conversation, user, f"a lighthouse, take {index}", count=4)
    return list(Response.objects.filter(turn__conversation=conversation).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_batch_of_jobs_costs_the_same_queries_whatever_its_size() -> None:
    few, many = _queued(1, "quinn"), _queued(6, "rhea")
    with CaptureQueriesContext(connection) as four:
        load_jobs(few)
    with CaptureQueriesContext(connection) as twenty_four:
        jobs = load_jobs(many)
    assert len(many) == 24
    assert len(twenty_four) == len(four) <= 5, [q["sql"] for q in twenty_four.captured_queries]
    for response_id, job in zip(many, jobs, strict=True):
        assert not isinstance(job, Exception)
        assert job == load_job(response_id), "a batch builds the very request a single load builds"


@pytest.mark.django_db
def test_what_stops_one_job_in_a_batch_stops_only_that_one() -> None:
    user = make_user("sol")
    kept = submit(make_conversation(user), user, "a kite").responses.get()
    flash = make_project(user, name="Flash")
    flash.model = GeminiModel.objects.get(model_id=FLASH)
    flash.save(update_fields=["model"])
    stopped = submit(make_conversation(user, flash), user, "a kite").responses.get()
    GeminiModel.objects.filter(model_id=FLASH).update(shutdown_on=timezone.localdate())
    outcomes = load_jobs([stopped.pk, kept.pk, 987654])
    assert isinstance(outcomes[0], CatalogueError) and "has no replacement" in str(outcomes[0])
    assert not isinstance(outcomes[1], Exception) and outcomes[1].response_id == kept.pk
    assert isinstance(outcomes[2], Response.DoesNotExist)


@pytest.mark.django_db(transaction=True)
def test_jobs_that_start_together_load_in_one_batch(gemini: LiveEmulator) -> None:
    user = make_user("tao")
    conversation = make_conversation(user)
    for _ in range(3):
        submit(conversation, user, "a harbour", count=4)
    pipeline = build_pipeline("loads")
    assert len(run_all(pipeline)) == 12
    assert (pipeline.job_loads.batches, pipeline.job_loads.items) == (1, 12)
    statuses = set(Response.objects.filter(turn__conversation=conversation).values_list("status", flat=True))
    assert statuses == {ResponseStatus.SUCCEEDED}
