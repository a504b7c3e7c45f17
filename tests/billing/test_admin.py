"""Billing in the Django admin: budgets, credit and limit changes as ledger entries, the read-only
ledger and its export, add-only prices, the dashboard and statements that add up to the ledger."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from studio.billing.models import EntryKind, PriceVersion, Quota, UsageEntry
from studio.catalogue.models import GeminiModel
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def staff() -> Client:
    boss = make_user("boss")
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client = Client()
    client.force_login(boss)
    return client


def streamed(response: object) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(body)))


def test_limits_and_credit_are_written_to_the_ledger_with_who_and_why() -> None:
    client = staff()
    user = make_user("ann")
    conversation = make_conversation(user)
    quota = Quota.objects.get(team=conversation.project.team)
    listing = client.get("/admin/billing/quota/").content.decode()
    assert "ann&#x27;s team" in listing and "$10.00" in listing
    form = {
        "spend_limit_usd": "25.00",
        "image_limit": "",
        "member_daily_spend_usd": "",
        "member_daily_images": "5",
        "reset_day": "1",
        "confirm_above_usd": "1.00",
    }
    assert client.post(f"/admin/billing/quota/{quota.pk}/change/", form).status_code == 302
    change = UsageEntry.objects.get(kind=EntryKind.ADJUST)
    assert change.amount_usd == 0 and change.created_by.username == "boss"
    assert "spend_limit_usd 10.00 → 25.00" in change.reason and "member_daily_images None → 5" in change.reason
    asked = client.post("/admin/billing/quota/", {"action": "grant_credit", "_selected_action": [quota.pk]})
    assert b"Grant credit" in asked.content and UsageEntry.objects.count() == 1, "asks first"
    granted = client.post(
        "/admin/billing/quota/",
        {"action": "grant_credit", "_selected_action": [quota.pk], "amount": "5.00", "reason": "launch"},
    )
    assert granted.status_code == 302
    credit = UsageEntry.objects.filter(kind=EntryKind.ADJUST).exclude(amount_usd=0).get()
    assert credit.amount_usd == Decimal("-5.00") and credit.reason == "Credit: launch"


def test_prices_are_added_as_versions_and_never_edited() -> None:
    client = staff()
    pro = GeminiModel.objects.get(model_id="gemini-3-pro-image")
    first = PriceVersion.objects.get(model=pro)
    listing = client.get("/admin/billing/priceversion/").content.decode()
    assert "New version from this" in listing
    form = {
        "model": pro.pk,
        "effective_from_0": "2026-01-01",
        "effective_from_1": "00:00:00",
        "input_per_million": "2.00",
        "text_output_per_million": "12.00",
        "image_output_per_million": "100.00",
        "per_thousand_queries": "14.00",
        "batch_discount": "0.5",
        "note": "cheaper images",
    }
    assert client.post("/admin/billing/priceversion/add/", form).status_code == 302
    newer = PriceVersion.objects.get(model=pro, version=2)
    assert newer.created_by.username == "boss"
    assert client.post(f"/admin/billing/priceversion/{first.pk}/change/", {**form, "note": "x"}).status_code == 403
    first.refresh_from_db()
    assert first.image_output_per_million == Decimal("120.0000")


def test_ledger_dashboard_and_statement_add_up(gemini: LiveEmulator) -> None:
    client = staff()
    user = make_user("bea")
    conversation = make_conversation(user)
    team = conversation.project.team
    submit(conversation, user, "two", count=2, image_size="2K")
    submit(conversation, user, "broken [[emulator: image_safety]]", retries=0)
    run_all()
    from studio.accounts.models import User
    from studio.billing import services as ledger

    ledger.grant_credit(team=team, amount=Decimal("0.25"), reason="sorry", by=User.objects.get(username="boss"))
    settles = UsageEntry.objects.filter(team=team, kind=EntryKind.SETTLE)
    expected = sum(settles.values_list("amount_usd", flat=True), Decimal(0)) - Decimal("0.25")
    assert client.get("/admin/billing/usageentry/").status_code == 200
    assert client.get(f"/admin/billing/usageentry/{settles.first().pk}/change/").status_code == 200
    assert client.post(f"/admin/billing/usageentry/{settles.first().pk}/delete/").status_code == 403
    export = client.get("/admin/billing/usageentry/export.csv?kind__exact=settle")
    assert export.streaming
    rows = streamed(export)
    assert {r["kind"] for r in rows} == {"settle"} and len(rows) == 3
    dashboard = client.get("/admin/billing/quota/dashboard/").content.decode()
    assert 'id="chart-teams"' in dashboard and "vendor/chartjs/chart.umd.min.js" in dashboard
    assert "Image removed by the safety filter" in dashboard
    statement = client.get(f"/admin/billing/quota/statement/{team.pk}/current/").content.decode()
    total = Decimal(re.search(r"data-statement-total>([-\d.]+)<", statement).group(1))
    assert total == expected and "the same as this statement" in statement
    assert "gemini-3-pro-image · 2K · images" in statement and "Credit: sorry" in statement
    lines = list(
        csv.reader(io.StringIO(client.get(f"/admin/billing/quota/statement/{team.pk}/current/csv").content.decode()))
    )
    assert lines[-1] == ["total", "", "", f"{expected:.6f}"]


def test_billing_admin_is_for_staff_only() -> None:
    user = make_user("cy")
    client = Client()
    client.force_login(user)
    for path in ("/admin/billing/quota/dashboard/", "/admin/billing/usageentry/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
