"""Editing by conversation in Chromium: edit twice, branch from the first version, switch branches,
and attach references by drag-and-drop, by pasting and by picking an earlier version."""

from __future__ import annotations

import io
import re
import zipfile

from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.journeys import sign_up_and_open_conversation
from tests.e2e.live_studio import LiveStudio

EMULATOR_LATENCY = {"latency_first_ms": 150, "latency_event_ms": 40}


def png_bytes() -> list[int]:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (30, 160, 90)).save(out, "PNG")
    return list(out.getvalue())


def test_edit_branch_switch_and_references(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="editor", project="Barns")

    prompt = page.get_by_label("Prompt")
    for count, text in enumerate(["a red barn", "make it night", "add snow"], start=1):
        prompt.fill(text)
        prompt.press("Enter")
        expect(page.locator(".status-succeeded")).to_have_count(count, timeout=30_000)
    expect(page.locator(".turn-meta").nth(2)).to_contain_text("edits “make it night” image 1")

    watcher = page.context.new_page()  # a second tab on the same branch sees the new branch appear
    watcher.goto(page.url)
    expect(watcher.locator("#live-status")).to_have_text("Live")
    expect(watcher.locator(".branch-switch")).to_have_count(0)

    page.locator("[data-edit-response]").first.click()  # branch from the first version
    expect(page.locator("#composer-parent")).to_contain_text("“a red barn”")
    transfer = page.evaluate_handle(
        "(bytes) => { const t = new DataTransfer();"
        " t.items.add(new File([new Uint8Array(bytes)], 'green.png', {type: 'image/png'})); return t; }",
        png_bytes(),
    )
    page.dispatch_event("#composer .composer-main", "drop", {"dataTransfer": transfer})
    expect(page.locator(".tray-item")).to_have_count(1)
    pasted = page.evaluate(  # a pasted screenshot is attached; pasted text stays text
        "(bytes) => { const area = document.querySelector('#composer textarea');"
        " const paste = (t) => area.dispatchEvent(new ClipboardEvent('paste',"
        " {clipboardData: t, bubbles: true, cancelable: true}));"
        " const text = new DataTransfer(); text.setData('text/plain', 'just words');"
        " const image = new DataTransfer();"
        " image.items.add(new File([new Uint8Array(bytes)], 'pasted.png', {type: 'image/png'}));"
        " return [paste(text), paste(image)]; }",
        png_bytes(),
    )
    assert pasted == [True, False], "text pastes normally; an image paste is taken over"
    expect(page.locator(".tray-item")).to_have_count(2)
    thumbs = page.locator("[data-pick-version] img")
    assert thumbs.first.get_attribute("src") is None, "not loaded before the picker is opened"
    page.get_by_text("Earlier versions").click()
    expect(thumbs.first).to_have_attribute("src", re.compile(r"/media/v/\d+/thumb$"))
    expect(thumbs.first).to_have_js_property("complete", True)
    assert thumbs.first.evaluate("img => img.naturalWidth") > 0
    page.locator("[data-pick-version]").first.click()
    expect(page.locator(".tray-item")).to_have_count(3)
    expect(page.locator(".tray-count")).to_have_text("3/14")
    menu = page.locator(".picker-panel")
    page.get_by_text("Earlier versions").click()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")  # pop-overs close with Escape, focus back on their button
    expect(menu).to_be_hidden()
    expect(page.locator("details.picker summary")).to_be_focused()
    page.get_by_text("Earlier versions").click()
    page.locator("#chat-title").click()  # or with a click elsewhere
    expect(menu).to_be_hidden()
    expect(page.locator(".tray-item")).to_have_count(3)
    page.get_by_label("Role of reference 1").select_option("style")
    prompt.fill("a blue barn instead")
    prompt.press("Enter")

    page.wait_for_url("**?leaf=*")  # the new branch is shown
    expect(watcher.locator(".branch-switch")).to_contain_text("1/2")
    expect(watcher.locator(".prompt-text")).to_have_text(["a red barn", "make it night", "add snow"])
    watcher.close()
    expect(page.locator(".status-succeeded")).to_have_count(2, timeout=30_000)
    expect(page.locator(".branch-switch")).to_contain_text("2/2")
    expect(page.locator(".ref-strip li")).to_have_count(3)
    expect(page.locator(".ref-strip li").first).to_contain_text("Style")
    expect(page.locator(".prompt-text")).to_have_text(["a red barn", "a blue barn instead"])

    page.get_by_label("Previous branch").click()  # back to the first branch
    expect(page.locator(".branch-switch")).to_contain_text("1/2")
    expect(page.locator(".prompt-text")).to_have_text(["a red barn", "make it night", "add snow"])
    page.get_by_label("Next branch").click()
    expect(page.locator(".prompt-text")).to_have_text(["a red barn", "a blue barn instead"])

    # Version history: compare two versions, then download a lineage as a ZIP.
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("heading", name="Versions", exact=True)).to_be_visible()
    picks = page.locator("[data-compare-pick]")
    expect(picks).to_have_count(4)
    picks.nth(0).check()
    picks.nth(2).check()
    picks.nth(3).click()  # a third tick is refused: compare takes two
    expect(picks.nth(3)).not_to_be_checked()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Compare two versions")).to_be_visible()
    expect(page.locator(".compare-side img")).to_have_count(2)
    divider = page.get_by_role("slider", name="Reveal B")
    divider.focus()
    divider.press("Home")
    for _ in range(4):
        divider.press("ArrowRight")
    divider.press("Shift+ArrowRight")
    expect(divider).to_have_attribute("aria-valuenow", "18")
    divider.press("ArrowRight")
    expect(page.locator("[data-swipe-top]")).to_have_attribute("style", "clip-path: inset(0px 80% 0px 0px);")
    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Lineage ZIP").nth(2).click()
    path = download_info.value.path()
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert len(names) == 6, names  # three images (root, night, snow) and their sidecars
    assert names[-1].endswith(".json")

    # Back in the chat at version 2 ("make it night"): the branch up to it, ready to edit from there.
    page.get_by_role("link", name="Open in chat").nth(1).click()
    page.wait_for_url("**?leaf=*")
    expect(page.locator(".prompt-text")).to_have_text(["a red barn", "make it night"])
    night = page.locator(".response").nth(1)
    expect(night).to_be_in_viewport()
    night.locator("[data-edit-response]").click()
    expect(page.locator("#composer-parent")).to_contain_text("“make it night”")

    # On a phone, no page of this journey scrolls sideways, even with a long title.
    conversation_url = page.url
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_text("Conversation", exact=True).click()
    page.get_by_label("Title").fill("Barn studies for the autumn catalogue, with night and snow variants")
    page.get_by_role("button", name="Rename").click()
    page.goto(f"{studio.url}/")
    page.get_by_role("link", name="Barns").click()
    expect(page.locator(".cover").first).to_be_visible()
    for url in (f"{studio.url}/", page.url, conversation_url, conversation_url.split("?")[0] + "versions"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
