"""Browser tests: a live studio (real processes), Debian's Chromium, and a page that fails on any
console error, CSP violations included."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.live_studio import LiveStudio, live_studio
from tests.live_emulator import LiveEmulator

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
def slow_gemini(request: pytest.FixtureRequest) -> Iterator[LiveEmulator]:
    """The emulator at the latency the test module asks for (EMULATOR_LATENCY)."""
    from tests import live_emulator

    server = live_emulator.start(**getattr(request.module, "EMULATOR_LATENCY", {}))
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
def page(browser: Browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    # Chromium logs the composer's validation answer (422); it is not a page error. A test that makes
    # requests fail on purpose names the errors it expects.
    marker = request.node.get_closest_marker("console_allows")
    expected = ("status of 422", *(marker.args if marker else ()))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in expected):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()
    assert problems == [], f"the browser reported errors (CSP violations included): {problems}"
