"""Lease-fenced updates in few statements: the same outcome as one ORM update per write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.chat.models import Response, ResponseStatus
from studio.generation import records
from studio.generation.fenced_writes import FencedUpdate, fenced_update_many
from tests.studio_world import make_conversation, make_user, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _claimed(name: str, count: int) -> list[int]:
    user = make_user(name)
    conversation = make_conversation(user)
    for _ in range(count // 4):
        submit(conversation, user, "a harbour", count=4)
    return records.response_claim(worker_id="me", limit=count, lease_seconds=60)


def test_updates_setting_the_same_fields_share_a_statement_and_values_are_stored_as_the_orm_would() -> None:
    ids = _claimed("fenna", 8)
    when = timezone.now() + dt.timedelta(seconds=7)
    updates = [
        FencedUpdate(i, "me", {"thoughts_text": f"thinking {i}", "parts": [{"text": "a", "thought": True}]})
        for i in ids[:6]
    ] + [FencedUpdate(i, "me", {"retry_at": when, "retry_number": 2, "cost_usd": Decimal("0.134")}) for i in ids[6:]]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        applied = fenced_update_many(updates)
    assert applied == [True] * 8
    updates_sent = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert len(updates_sent) == 2, updates_sent  # one per set of fields, not one per write
    first, last = Response.objects.get(pk=ids[0]), Response.objects.get(pk=ids[7])
    assert first.thoughts_text == f"thinking {ids[0]}" and first.parts == [{"text": "a", "thought": True}]
    assert last.retry_at == when and last.retry_number == 2 and last.cost_usd == Decimal("0.134")


def test_a_lost_lease_fails_only_its_own_update_even_when_the_others_end_their_lease() -> None:
    """Endings clear the lease they are fenced on: finding the lost one must not lose the others."""
    ids = _claimed("gerrit", 4)
    now = timezone.now()
    ending = {"status": ResponseStatus.SUCCEEDED, "lease_owner": "", "finished_at": now}
    updates = [FencedUpdate(i, "me", ending) for i in ids]
    updates[2] = FencedUpdate(ids[2], "someone else", ending)
    with transaction.atomic():
        applied = fenced_update_many(updates)
    assert applied == [True, True, False, True]
    statuses = dict(Response.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {i: ResponseStatus.RUNNING if i == ids[2] else ResponseStatus.SUCCEEDED for i in ids}


def test_a_response_named_twice_sees_its_first_update_first() -> None:
    (only, *_) = _claimed("hilde", 4)
    updates = [
        FencedUpdate(only, "me", {"thoughts_text": "first"}),
        FencedUpdate(only, "me", {"status": ResponseStatus.FAILED, "lease_owner": ""}),
        FencedUpdate(only, "me", {"thoughts_text": "too late"}),  # its lease ended just before
    ]
    with transaction.atomic():
        applied = fenced_update_many(updates)
    assert applied == [True, True, False]
    response = Response.objects.get(pk=only)
    assert (response.thoughts_text, response.status) == ("first", ResponseStatus.FAILED)
