"""A person in Chromium: sign up, create a project, prompt for two grounded images, watch the
thoughts stream, reload mid-generation, and see both images and the search panel arrive."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journeys import sign_up_and_open_conversation
from tests.e2e.live_studio import LiveStudio

# Slow enough to watch: about five seconds per image.
EMULATOR_LATENCY = {"latency_first_ms": 800, "latency_event_ms": 400}


def test_prompt_two_grounded_images_and_reload_mid_generation(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_person", project="Launch posters")

    page.get_by_text("Settings").click()
    page.get_by_label("Images").select_option("2")
    page.get_by_label("Google Search grounding").check()
    prompt = page.get_by_label("Prompt")
    # Extensions (password managers, grammar checkers) put style attributes on fields; htmx must not
    # copy them onto the swapped-in composer, where the strict CSP would refuse them.
    prompt.evaluate("area => { area.style.caretColor = 'red'; }")
    prompt.fill("a poster of the lighthouse at dusk")
    prompt.press("Shift+Enter")
    prompt.type("with tomorrow's tide times")
    expect(prompt).to_have_value("a poster of the lighthouse at dusk\nwith tomorrow's tide times")
    prompt.press("Enter")

    expect(page.locator(".response")).to_have_count(2)
    expect(prompt).to_have_value("")  # the composer is ready for the next message
    expect(page.get_by_label("Images")).to_be_visible()  # the Settings panel stays open after a send
    expect(page.get_by_label("Images")).to_have_value("2")  # and keeps what was chosen
    expect(page.locator(".status-running").first).to_be_visible(timeout=15_000)
    expect(page.locator(".thoughts-text strong").first).to_be_visible(timeout=15_000)  # thoughts stream in
    expect(page.locator(".status-succeeded")).to_have_count(0)
    # The first prompt names the conversation: heading, breadcrumb and tab follow without a reload.
    expect(page.locator("#crumb-title")).to_contain_text("a poster of the lighthouse at dusk")
    expect(page).to_have_title(re.compile(r"^a poster of the lighthouse at dusk.* · Studio$"))

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

    # The suggestions are requested once per panel, not again for each socket snapshot or update.
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/grounding/" in r.url else None)
    page.reload()
    expect(page.locator("#live-status")).to_have_text("Live")  # the snapshot has been swapped in
    page.get_by_text("Settings").click()  # and some more socket and htmx traffic
    page.get_by_label("Images").select_option("1")
    page.wait_for_timeout(1500)
    assert sorted(asked) == sorted(set(asked)) and len(asked) == 2, asked
    expect(page.frame_locator("iframe.suggestions").first.locator("a.chip").first).to_be_visible()
    expect(page.locator("#chat-title")).to_contain_text("a poster of the lighthouse at dusk")


def test_failures_are_shown_in_words(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_failures", project="Edge cases")
    prompt = page.get_by_label("Prompt")
    prompt.press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("Write a prompt first")
    prompt.fill("a cat [[emulator: image_safety]]")
    prompt.press("Enter")
    alert = page.locator(".response .alert")
    expect(alert).to_contain_text("Image filtered", timeout=30_000)
    expect(alert).to_contain_text("The image is not charged; the prompt and thinking are.")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()


# htmx itself logs failed requests as console errors; those are the point of this test.
@pytest.mark.console_allows(
    "ERR_INTERNET_DISCONNECTED", "htmx:sendError", "htmx:afterRequest", "status of 500", "Status Error Code 500"
)
def test_a_failed_send_says_so_and_keeps_the_prompt(page: Page, studio: LiveStudio) -> None:
    """Requests that fail outside the form's own checks: the network drops, or the server answers 500.
    Both are faked at the browser's network edge; the page must say what happened and lose nothing."""
    sign_up_and_open_conversation(page, studio, username="e2e_offline", project="Flaky network")
    prompt = page.get_by_label("Prompt")
    notice = page.locator("#request-notice")
    expect(notice).to_be_hidden()

    page.route("**/turns", lambda route: route.abort("internetdisconnected"))
    prompt.fill("a paper boat on a puddle")
    prompt.press("Enter")
    expect(notice).to_contain_text("Could not reach the studio")
    expect(prompt).to_have_value("a paper boat on a puddle")
    expect(page.locator(".turn")).to_have_count(0)

    page.unroute("**/turns")
    page.route("**/turns", lambda route: route.fulfill(status=500, body="<h1>Server Error (500)</h1>"))
    page.get_by_role("button", name="Send").click()
    expect(notice).to_contain_text("error 500")
    expect(notice).to_contain_text("nothing from it was saved")
    expect(prompt).to_have_value("a paper boat on a puddle")

    page.unroute("**/turns")
    page.get_by_role("button", name="Dismiss this message").click()
    expect(notice).to_be_hidden()
    prompt.press("Enter")
    expect(page.locator(".turn")).to_have_count(1)
    expect(prompt).to_have_value("")
    expect(notice).to_be_hidden()
