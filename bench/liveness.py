"""Liveness: from the emulator sending an event to Chromium painting it, for a person watching.

A studio (`manage.py studio_serve`: Daphne and the runner in one process) and the emulator run as
their own processes; a person in Debian's Chromium sends prompts whose thoughts come with uneven
gaps (40 ms, then 1.5 s). The emulator logs when it sent each event; the page records, in the
frame after each change, what it shows. Prints p50 and p95 of the delay for the first thought,
every later thought chunk (target p95 <= 200 ms) and the final image, with the worker otherwise
idle and with 200 other generations running in it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-liveness-")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from bench.live import PASSWORD, person, queue_crowd, start_emulator, start_studio, stop, studio_env  # noqa: E402
from studio.chat.models import Response, ResponseStatus  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
UNEVEN = "[[emulator: gaps=40/1500]]"

# Runs in the page (Playwright evaluates it through DevTools, outside the page's CSP): after every
# change, in the next animation frame, note the time and what the newest response shows.
RECORDER = """() => {
  window.liveMarks = [];
  const note = () => requestAnimationFrame(() => {
    const responses = document.querySelectorAll('.response');
    const newest = responses[responses.length - 1];
    if (!newest) return;
    const thoughts = newest.querySelector('.thoughts-text');
    const image = newest.classList.contains('response-succeeded') && newest.querySelector('.image-version img');
    window.liveMarks.push([Date.now(), thoughts ? thoughts.textContent : '',
                           !!(image && image.complete && image.naturalWidth > 0), newest.id]);
  });
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
  document.addEventListener('load', note, true);
}"""


def _plain(text: str) -> str:
    return re.sub(r"[\s*]+", "", text)


def _stream_entry(gemini_url: str, token: str) -> dict[str, Any]:
    for entry in reversed(httpx.get(f"{gemini_url}/_emulator/requests").json()["requests"]):
        if "streamGenerateContent" in entry["path"] and token in str(entry.get("body")):
            return dict(entry)
    raise RuntimeError("the emulator logged no stream for the prompt")


def watch_one(page: Page, gemini_url: str, token: str) -> tuple[float, list[float], float]:
    """Send one prompt; returns the delays (ms) of the first thought, the later ones, and the image."""
    page.evaluate("() => { window.liveMarks = []; }")
    responses = page.locator(".response")
    before = responses.count()
    prompt = page.get_by_label("Prompt")
    prompt.fill(f"a lighthouse keeper's morning {token} {UNEVEN}")
    prompt.press("Enter")
    expect(responses).to_have_count(before + 1, timeout=60_000)
    expect(responses.last).to_have_class(re.compile("response-succeeded"), timeout=120_000)
    expect(responses.last.locator(".image-version img")).to_have_js_property("complete", True)
    page.wait_for_timeout(300)
    watched = responses.last.get_attribute("id")
    marks: list[list[Any]] = [m for m in page.evaluate("() => window.liveMarks") if m[3] == watched]
    emitted = _stream_entry(gemini_url, token)["emitted"]
    delays: list[float] = []
    shown_so_far = ""
    for event in emitted:
        if not event["thought"]:
            continue
        shown_so_far += event["thought"]
        tail = _plain(shown_so_far)[-40:]
        painted = next((m[0] for m in marks if tail in _plain(m[1])), None)
        if painted is None:
            raise RuntimeError(f"a thought chunk never appeared: {tail!r}")
        delays.append(painted - event["at"] * 1000)
    image_sent = next(e["at"] for e in emitted if "image" in e["kinds"]) * 1000
    image_painted = next(m[0] for m in marks if m[2])
    return delays[0], delays[1:], image_painted - image_sent


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def report(label: str, firsts: list[float], later: list[float], images: list[float]) -> None:
    def line(name: str, values: list[float]) -> str:
        return f"{name} p50 {statistics.median(values):5.0f} ms, p95 {_p(values, 0.95):5.0f} ms (n={len(values)})"

    print(f"liveness [{label}]: {line('first thought', firsts)}")
    print(f"liveness [{label}]: {line('later thought chunks', later)}  (target p95 <= 200 ms)")
    print(f"liveness [{label}]: {line('final image', images)}")


def crowd(count: int) -> None:
    """`count` other generations, running through the next watched prompt (each event a second
    apart, about 10 s in all); the previous crowd has finished first."""
    deadline = time.monotonic() + 120
    while Response.objects.filter(status__in=[ResponseStatus.RUNNING, ResponseStatus.QUEUED]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the previous crowd did not finish")
        time.sleep(0.2)
    queue_crowd("crowd", count, "crowd [[emulator: event_delay=1000]]")
    deadline = time.monotonic() + 60
    while Response.objects.filter(status=ResponseStatus.RUNNING).count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the crowd did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="prompts watched per setting")
    parser.add_argument("--crowd", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    # Its request log must still hold the watched stream after the crowd's requests.
    emulator, gemini_url = start_emulator(400, 250, f"--log-requests={args.crowd * 2 + 50}")
    server, url = start_studio(studio_env(gemini_url, STUDIO_RUNNER_CONCURRENCY=str(args.crowd + 16)))
    membership, conversation = person("watcher")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/login/")
            page.get_by_label("Username").fill(membership.user.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{url}/c/{conversation.pk}/")
            expect(page.locator("#live-status")).to_have_text("Live")
            page.evaluate(RECORDER)
            for label, others in (
                ("worker otherwise idle", 0),
                (f"{args.crowd} other generations running", args.crowd),
            ):
                results = []
                for _ in range(args.runs):
                    if others:  # from another thread: Playwright's loop runs in this one
                        with ThreadPoolExecutor(1) as pool:
                            pool.submit(crowd, others).result()
                    results.append(watch_one(page, gemini_url, f"t{time.time_ns()}"))
                report(label, [r[0] for r in results], [d for r in results for d in r[1]], [r[2] for r in results])
            browser.close()
    finally:
        stop(server, emulator)


if __name__ == "__main__":
    main()
