"""A person in Chromium: sign up, create a project, prompt for two grounded images, watch the
thoughts stream, reload mid-generation, and see both images and the search panel arrive."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.live_studio import LiveStudio, live_studio
from tests.live_emulator import LiveEmulator, StartEmulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason="SKIPPED LOUDLY: Debian's chromium is not installed (make test installs it)",
    ),
]


@pytest.fixture(scope="module")
def slow_gemini() -> Iterator[LiveEmulator]:
    from tests import live_emulator

    # Slow enough to watch: about five seconds per image.
    server = live_emulator.start(latency_first_ms=800, latency_event_ms=400)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def studio(slow_gemini: LiveEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    with live_studio(gemini_url=slow_gemini.url, var_dir=tmp_path_factory.mktemp("studio")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    expected = "status of 422"  # Chromium logs the composer's validation answer; it is not a page error

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and expected not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()
    assert problems == [], f"the browser reported errors (CSP violations included): {problems}"


def test_prompt_two_grounded_images_and_reload_mid_generation(page: Page, studio: LiveStudio) -> None:
    page.goto(f"{studio.url}/signup/")
    page.get_by_label("Username").fill("e2e_person")
    page.get_by_label("Email").fill("e2e@example.com")
    page.get_by_label("Password").fill("a long enough secret")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    page.get_by_label("Name").fill("Launch posters")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Launch posters", exact=True)).to_be_visible()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#live-status")).to_have_text("Live")

    page.get_by_text("Settings").click()
    page.get_by_label("Images").select_option("2")
    page.get_by_label("Google Search grounding").check()
    prompt = page.get_by_label("Prompt")
    prompt.fill("a poster of the lighthouse at dusk")
    prompt.press("Shift+Enter")
    prompt.type("with tomorrow's tide times")
    expect(prompt).to_have_value("a poster of the lighthouse at dusk\nwith tomorrow's tide times")
    prompt.press("Enter")

    expect(page.locator(".response")).to_have_count(2)
    expect(prompt).to_have_value("")  # the composer is ready for the next message
    expect(page.locator(".status-running").first).to_be_visible(timeout=15_000)
    expect(page.locator(".thoughts-text strong").first).to_be_visible(timeout=15_000)  # thoughts stream in
    expect(page.locator(".status-succeeded")).to_have_count(0)

    page.reload()  # mid-generation: the snapshot shows where things are, and the stream carries on
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator(".response")).to_have_count(2)
    expect(page.locator(".status-succeeded")).to_have_count(2, timeout=40_000)

    images = page.locator(".image-version img")
    expect(images).to_have_count(2)
    for index in range(2):
        expect(images.nth(index)).to_have_js_property("complete", True)
        assert images.nth(index).evaluate("img => img.naturalWidth") == 512
    expect(page.locator(".grounding")).to_have_count(2)
    expect(page.locator(".grounding .sources li")).to_have_count(6)
    chip = page.frame_locator("iframe.suggestions").first.locator("a.chip").first
    expect(chip).to_contain_text("poster lighthouse dusk")
    expect(page.locator("#chat-title")).to_contain_text("a poster of the lighthouse at dusk")


def test_failures_are_shown_in_words(page: Page, studio: LiveStudio, start_emulator: StartEmulator) -> None:
    page.goto(f"{studio.url}/login/")
    page.get_by_label("Username").fill("e2e_person")
    page.get_by_label("Password").fill("a long enough secret")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Launch posters").click()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#live-status")).to_have_text("Live")
    prompt = page.get_by_label("Prompt")
    prompt.press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("Write a prompt first")
    prompt.fill("a cat [[emulator: image_safety]]")
    prompt.press("Enter")
    alert = page.locator(".response .alert")
    expect(alert).to_contain_text("Image filtered", timeout=30_000)
    expect(alert).to_contain_text("Blocked images are not charged")
