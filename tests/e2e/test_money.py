"""Money in Chromium: the composer's summary and estimate follow the settings and the settled cost
stays within the stated bound; a member hits the team's limit and reads why; staff grant credit in
the admin; the member continues; the usage page, dashboard, ledger CSV and statement agree."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect

from tests.e2e.journeys import sign_up_and_open_conversation
from tests.e2e.live_studio import LiveStudio

EMULATOR_LATENCY = {"latency_first_ms": 200, "latency_event_ms": 60}


def dollars(text: str) -> Decimal:
    match = re.search(r"\$(\d+\.\d\d)", text)
    assert match, text
    return Decimal(match.group(1))


def staff_page(browser: Browser, studio: LiveStudio) -> Page:
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.on("console", lambda m: None)
    admin.goto(f"{studio.url}/admin/login/")
    admin.get_by_label("Username").fill("admin")
    admin.get_by_label("Password").fill((studio.var_dir / "initial_admin_password").read_text().strip())
    admin.get_by_role("button", name="Log in").click()
    expect(admin.get_by_role("heading", name="Site administration")).to_be_visible()
    return admin


def budget_row(admin: Page, studio: LiveStudio, team: str) -> None:
    admin.goto(f"{studio.url}/admin/billing/quota/?q={team}")
    admin.get_by_role("link", name=team, exact=True).click()


def test_estimate_limit_credit_and_statement(page: Page, browser: Browser, studio: LiveStudio) -> None:
    member = page
    sign_up_and_open_conversation(member, studio, username="e2e_payer", project="Paid posters")
    team = "e2e_payer's team"

    # The composer's summary and estimate: 1 x 1K by default, then 2 x 2K.
    summary, estimate = member.locator("#options-summary"), member.locator(".cost-estimate")
    expect(summary).to_have_text("auto ratio · 1K · JPEG")
    expect(estimate).to_have_text("≈ $0.14")
    member.locator(".composer-options summary").click()
    member.get_by_label("Size").select_option("2K")
    member.get_by_label("Images").select_option("2")
    expect(summary).to_have_text("auto ratio · 2K · ×2 · JPEG")
    expect(estimate).to_have_text("≈ $0.28")
    estimate.focus()
    breakdown = member.locator("#cost-breakdown")
    expect(breakdown).to_be_visible()
    bound = dollars(breakdown.get_by_text(re.compile(r"^At most")).inner_text())
    assert bound == Decimal("0.32"), "2 x (1120 x $120/1M + 2000 x $12/1M), input aside"

    # Staff set the team's limit just above this send's bound.
    admin = staff_page(browser, studio)
    budget_row(admin, studio, team)
    admin.get_by_label("Spend limit per period (USD)").fill("0.45")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    prompt = member.get_by_label("Prompt")
    prompt.fill("a lighthouse poster")
    prompt.press("Enter")
    expect(member.locator(".status-succeeded")).to_have_count(2, timeout=30_000)
    total = dollars(member.locator(".turn-meta").get_by_text("in all").inner_text())
    assert Decimal("0.26") <= total <= bound, f"settled {total} within the stated bound {bound}"

    # The next 2 x 2K would pass the limit: refused in words, the prompt kept.
    prompt.fill("the same poster at night")
    prompt.press("Enter")
    refusal = member.get_by_role("alert").filter(has_text="left of its $0.45")
    expect(refusal).to_be_visible()
    # Its bound now includes the replayed history (the image it edits goes back as input).
    expect(refusal).to_contain_text(re.compile(r"This send can cost up to \$0\.3\d for 2 images"))
    expect(prompt).to_have_value("the same poster at night")

    # Staff grant credit; the member sends again and it goes through.
    admin.goto(f"{studio.url}/admin/billing/quota/?q={team}")
    admin.locator("input[name=_selected_action]").first.check()
    admin.locator("select[name=action]").select_option("grant_credit")
    admin.get_by_role("button", name="Run").click()
    admin.get_by_label("Credit (USD)").fill("1.00")
    admin.get_by_label("Reason").fill("launch week")
    admin.get_by_role("button", name="Grant credit").click()
    expect(admin.locator(".messagelist")).to_contain_text("Granted $1.00 of credit to 1 team(s).")
    member.get_by_role("button", name="Send", exact=True).click()
    expect(member.locator(".status-succeeded")).to_have_count(4, timeout=30_000)

    # Usage page, dashboard, ledger CSV and statement agree on what was charged.
    member.goto(f"{studio.url}/usage/")
    spent = dollars(member.locator("[data-usage-spend]").inner_text())
    admin.goto(f"{studio.url}/admin/billing/quota/dashboard/")
    expect(admin.get_by_role("cell", name=team)).to_be_visible()
    with admin.expect_download() as download:
        admin.goto(f"{studio.url}/admin/billing/usageentry/")
        admin.get_by_role("link", name="Export these rows (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    mine = [r for r in rows if r["team"] == team]
    settled = sum((Decimal(r["amount_usd"]) for r in mine if r["kind"] == "settle"), Decimal(0))
    credited = sum((Decimal(r["amount_usd"]) for r in mine if r["kind"] == "adjust"), Decimal(0))
    assert [r["kind"] for r in mine].count("settle") == 4 and credited == Decimal("-1")
    assert spent == settled.quantize(Decimal("0.01")), "the member's usage page shows what was settled"
    admin.goto(f"{studio.url}/admin/billing/quota/dashboard/")
    admin.get_by_role("row", name=team).get_by_role("link", name="This period").click()
    statement_total = Decimal(admin.locator("[data-statement-total]").inner_text())
    assert statement_total == settled + credited
    expect(admin.get_by_text("the same as this statement")).to_be_visible()
