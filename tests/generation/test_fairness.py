"""Fair scheduling: one team's burst cannot starve another team's single image, each team has a
cap and so do all Gemini calls together, and a queued image says where it stands."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import User
from studio.billing.models import Quota
from studio.chat.models import Conversation, Response, ResponseStatus, Turn
from studio.generation import fairness, records
from tests.studio_world import PASSWORD, make_conversation, make_user, personal_membership, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _burst(user: User, turns: int, images: int) -> tuple[Conversation, list[Turn]]:
    Quota.objects.filter(team=personal_membership(user).team).update(spend_limit_usd=None)
    conversation = make_conversation(user)
    return conversation, [submit(conversation, user, f"poster {n}", count=images) for n in range(turns)]


def _claim(limit: int) -> list[int]:
    return records.response_claim(worker_id="fair", limit=limit, lease_seconds=60)


def test_team_bs_single_image_starts_before_team_as_200th(settings: Any) -> None:
    settings.STUDIO_GEMINI_CONCURRENCY = 0
    settings.STUDIO_TEAM_CONCURRENCY = 0
    _burst(make_user("ann"), 50, 4)  # 200 images, asked first
    _, (single,) = _burst(make_user("ben"), 1, 1)
    bens = single.responses.get()
    first = _claim(3)
    assert bens.pk in first, "the team with nothing running gets the next slot"
    assert first.index(bens.pk) == 1, "after team A's oldest (a tie at 0 running), then team B"


def test_each_team_has_a_cap_and_all_teams_share_one(settings: Any) -> None:
    settings.STUDIO_TEAM_CONCURRENCY = 2
    settings.STUDIO_GEMINI_CONCURRENCY = 3
    _burst(make_user("ann"), 5, 2)
    _burst(make_user("ben"), 5, 2)
    started = _claim(16)
    assert len(started) == 3, "three Gemini calls at most, whatever the workers' free slots"
    teams = Response.objects.filter(pk__in=started).values_list(fairness.TEAM, flat=True)
    assert sorted(list(teams).count(t) for t in set(teams)) == [1, 2], "no team above 2"
    assert _claim(16) == [], "the global cap is reached"
    Response.objects.filter(pk=started[0]).update(status=ResponseStatus.SUCCEEDED)
    assert len(_claim(16)) == 1, "a finished call frees one slot"
    settings.STUDIO_GEMINI_CONCURRENCY = 0
    more = _claim(16)
    running = Response.objects.filter(status=ResponseStatus.RUNNING).values_list(fairness.TEAM, flat=True)
    assert len(more) == 1 and sorted(list(running).count(t) for t in set(running)) == [2, 2], "both teams at 2"


def test_a_queued_image_says_where_it_stands() -> None:
    ann, ben = make_user("ann"), make_user("ben")
    _, anns = _burst(ann, 3, 2)  # six waiting
    conversation, (bens,) = _burst(ben, 1, 1)
    bens_response = bens.responses.get()
    client = Client()
    client.login(username="ben", password=PASSWORD)
    answer = client.get(f"/c/{conversation.pk}/queue", {"ids": str(bens_response.pk)})
    assert f'<span id="queue-{bens_response.pk}" class="queue-position" hx-swap-oob="true">: 2 in line</span>' in (
        answer.content.decode()
    )
    last_of_ann = anns[-1].responses.order_by("index").last()
    assert last_of_ann is not None
    positions = fairness.queue_positions([last_of_ann])
    assert positions == {last_of_ann.pk: 7}, "behind ann's five and ben's one"
    page = client.get(f"/c/{conversation.pk}/")
    assert f'id="queue-{bens_response.pk}"' in page.content.decode()
    other = Client()
    other.login(username="ann", password=PASSWORD)
    assert other.get(f"/c/{conversation.pk}/queue", {"ids": str(bens_response.pk)}).status_code == 404
