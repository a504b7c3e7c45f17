"""Money in the pages: the composer's estimate, confirmation above the threshold, refusals in
words, the usage pages and their CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from studio.accounts.services import team_add_member
from studio.billing.models import EntryKind, Quota, UsageEntry
from studio.chat.models import Turn
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

COMPOSER = {
    "prompt": "a lighthouse",
    "aspect_ratio": "16:9",
    "image_size": "1K",
    "count": "1",
    "output_format": "png",
    "safety": "default",
    "retries": "0",
    "parent_response": "latest",
}


def signed_in(name: str) -> tuple[Client, Any]:
    user = make_user(name)
    client = Client()
    client.force_login(user)
    return client, user


def estimate_of(html: str) -> Decimal:
    match = re.search(r"≈ \$(\d+\.\d\d)", html)
    assert match, html[:2000]
    return Decimal(match.group(1))


def test_the_estimate_follows_the_settings_and_the_summary_says_them() -> None:
    client, user = signed_in("amy")
    conversation = make_conversation(user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'id="options-summary"' in page and 'id="composer-cost"' in page
    small = client.post(f"/c/{conversation.pk}/estimate", COMPOSER, HTTP_HX_REQUEST="true").content.decode()
    big = client.post(
        f"/c/{conversation.pk}/estimate",
        {**COMPOSER, "image_size": "4K", "count": "4", "grounding": "on"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    # 1K: 1120 x $120/1M = $0.1344 + typical thinking $0.0072 -> $0.14; 4K x4 grounded: 4 x (0.24 + 0.0072 + 0.028).
    assert estimate_of(small) == Decimal("0.14")
    assert estimate_of(big) == Decimal("1.10")
    assert "16:9 · 4K · ×4 · PNG · grounded" in big and "At most $" in big
    assert "$10.00 left</a>" in big, "the team's budget is one glance away"


def test_sends_above_the_threshold_ask_first_and_go_once_confirmed() -> None:
    client, user = signed_in("bea")
    conversation = make_conversation(user)
    Quota.objects.filter(team=conversation.project.team).update(confirm_above_usd=Decimal("0.30"))
    url = f"/c/{conversation.pk}/turns"
    asked = client.post(url, {**COMPOSER, "count": "4"}, HTTP_HX_REQUEST="true")
    assert asked.status_code == 422
    text = html.unescape(asked.content.decode())
    # 4 x (0.1344 image + 0.0072 typical thinking + ~0.00002 input) = $0.57; bound 4 x 0.1584 = $0.64.
    assert "estimated at $0.57 (at most $0.64), above the team's $0.30 confirmation threshold" in text
    assert 'name="confirm_cost"' in text and not Turn.objects.exists()
    sent = client.post(url, {**COMPOSER, "count": "4", "confirm_cost": "1"}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 200 and Turn.objects.count() == 1
    assert client.post(url, COMPOSER, HTTP_HX_REQUEST="true").status_code == 200, "below it, no question"


def test_a_refused_send_says_what_remains_and_keeps_the_prompt() -> None:
    client, user = signed_in("cal")
    conversation = make_conversation(user)
    Quota.objects.filter(team=conversation.project.team).update(spend_limit_usd=Decimal("0.10"))
    response = client.post(f"/c/{conversation.pk}/turns", COMPOSER, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 422
    assert "This send can cost up to $0.16 for 1 image; the team has $0.10 left of its $0.10" in text
    assert "a lighthouse</textarea>" in text and not Turn.objects.exists()
    assert ">16:9 · 1K · PNG</span>" in text, "the estimate stays with the settings that were sent"


def test_usage_pages_and_csv_add_up_to_the_ledger(gemini: LiveEmulator) -> None:
    client, user = signed_in("dee")
    conversation = make_conversation(user)
    submit(conversation, user, "one", count=2)
    submit(conversation, user, "two [[emulator: error=500]]", retries=0)
    run_all()
    team = conversation.project.team
    settled = sum(
        UsageEntry.objects.filter(team=team, kind=EntryKind.SETTLE).values_list("amount_usd", flat=True), Decimal(0)
    )
    page = client.get(f"/teams/{team.pk}/usage/").content.decode()
    assert f"data-usage-spend>${settled.quantize(Decimal('0.01'))}<" in page
    assert "Gemini internal error" in page and "usage-chart-data" in page and "vendor/chartjs/chart.umd.min.js" in page
    download = client.get(f"/teams/{team.pk}/usage.csv")
    assert download.streaming and download["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))  # type: ignore[attr-defined]
    assert [r["kind"] for r in rows].count("reserve") == 3
    assert sum(Decimal(r["amount_usd"]) for r in rows if r["kind"] == "settle") == settled
    mine = client.get("/usage/").content.decode()
    assert f"data-usage-spend>${settled.quantize(Decimal('0.01'))}<" in mine
    conversation_page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "in all</span>" in conversation_page, "each turn shows its total"


def test_team_admins_set_the_confirmation_threshold_members_cannot() -> None:
    client, owner = signed_in("eve")
    conversation = make_conversation(owner)
    team = conversation.project.team
    url = f"/teams/{team.pk}/usage/confirm"
    assert client.post(url, {"confirm_above_usd": "0.25"}).status_code == 302
    assert Quota.objects.get(team=team).confirm_above_usd == Decimal("0.25")
    assert team.audit_events.filter(action="billing.confirm_threshold", target="1.00 → 0.25").exists()
    page = client.get(f"/teams/{team.pk}/usage/").content.decode()
    assert 'value="0.25"' in page and "Sends above $0.25 now ask first." in page
    client.post(url, {"confirm_above_usd": "lots"})
    assert "must be an amount in dollars" in client.get(f"/teams/{team.pk}/usage/").content.decode()
    client.post(url, {"confirm_above_usd": ""})
    assert Quota.objects.get(team=team).confirm_above_usd is None
    member_client, member = signed_in("fin")
    team_add_member(team=team, user=member, role="member")
    assert member_client.post(url, {"confirm_above_usd": "9"}).status_code == 403
    assert Quota.objects.get(team=team).confirm_above_usd is None
