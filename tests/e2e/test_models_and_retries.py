"""A person in Chromium picks the Flash-tier model for a project, gets its settings (512 px, 1:8,
thinking level) in the composer and an image of that size; then watches a rate-limited image wait
("retrying in N s"), retry and arrive."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.journeys import sign_up
from tests.e2e.live_studio import LiveStudio

EMULATOR_LATENCY = {"latency_first_ms": 300, "latency_event_ms": 100}


def test_flash_project_settings_and_a_live_retry(page: Page, studio: LiveStudio) -> None:
    sign_up(page, studio, username="e2e_flash")
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    model = page.get_by_label("Model")
    expect(model.locator("option")).to_have_text(
        [
            "Studio default (Gemini 3 Pro Image)",
            "Gemini 3 Pro Image (gemini-3-pro-image)",
            "Gemini 3.1 Flash Image (gemini-3.1-flash-image)",
        ]
    )  # the shut-down preview is not offered
    page.get_by_label("Name", exact=True).fill("Banners")
    model.select_option(label="Gemini 3.1 Flash Image (gemini-3.1-flash-image)")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Banners", exact=True)).to_be_visible()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator(".model-name")).to_have_text("Gemini 3.1 Flash Image")

    page.get_by_text("Settings").click()
    page.get_by_label("Size").select_option("512")
    page.get_by_label("Aspect ratio").select_option("1:8")
    page.get_by_label("Thinking").select_option("HIGH")
    prompt = page.get_by_label("Prompt")
    prompt.fill("a very tall banner of a lighthouse")
    prompt.press("Enter")
    expect(page.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
    expect(page.locator(".image-meta").first).to_contain_text("176×1408")
    expect(page.locator(".turn-meta").first).to_contain_text("1:8 · 512")

    prompt.fill("the same banner at night [[emulator: error=429, retry_delay=3, fail_times=1]]")
    prompt.press("Enter")
    waiting = page.locator(".retrying")
    expect(waiting).to_be_visible(timeout=15_000)
    expect(waiting).to_contain_text(re.compile(r"Rate-limited by Gemini, retrying in [1-4] s \(1 of 2\)"))
    expect(page.locator(".status-succeeded")).to_have_count(2, timeout=30_000)
    expect(waiting).to_have_count(0)
