"""Daily use in Chromium: the prompt has the focus when a conversation opens, Escape closes the
Settings panel and the Context card (which also has a Close button), and a cancelled image says
"Cancelled" in neutral words."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.journeys import sign_up_and_open_conversation
from tests.e2e.live_studio import LiveStudio

EMULATOR_LATENCY = {"latency_first_ms": 600, "latency_event_ms": 250}


def test_focus_escape_and_cancelled_wording(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_daily", project="Daily")
    prompt = page.get_by_label("Prompt")
    expect(prompt).to_be_focused()

    settings = page.locator("details.composer-options")
    settings.locator("summary").click()
    expect(settings).to_have_attribute("open", "")
    page.get_by_label("Size").focus()
    page.keyboard.press("Escape")
    expect(settings).not_to_have_attribute("open", "")
    expect(settings.locator("summary")).to_be_focused()

    page.get_by_role("button", name="Context").click()
    card = page.locator(".next-call-card")
    expect(card).to_be_visible()
    page.keyboard.press("Escape")
    expect(card).to_have_count(0)
    page.get_by_role("button", name="Context").click()
    page.get_by_role("button", name="Close the context card").click()
    expect(card).to_have_count(0)

    prompt.fill("a kite at dawn")
    prompt.press("Enter")
    expect(page.locator(".status-running")).to_be_visible(timeout=15_000)
    expect(page.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
    expect(page.locator("details.thoughts")).to_have_attribute("open", "")  # watched open, stays open
    page.locator("details.thoughts > summary").click()
    expect(page.locator("details.thoughts")).not_to_have_attribute("open", "")

    prompt.fill("a slow kite [[emulator: latency=20000]]")
    prompt.press("Enter")
    expect(page.locator(".status-queued, .status-running").first).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Cancel").click()
    outcome = page.locator(".response-cancelled .alert")
    expect(outcome).to_have_text("Cancelled. Retry to generate it again.")
    expect(outcome).to_have_class("alert alert-note")
    expect(page.get_by_text("Failed.")).to_have_count(0)
    expect(prompt).to_be_focused()


OUTSIDE = """(width) => [...document.querySelectorAll('body *')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width > 0 && (r.left < -0.5 || r.right > width + 0.5))
  .filter(([e]) => !e.closest('.visually-hidden, .skip-link, details:not([open]) > :not(summary)'))
  .map(([e, r]) => `${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`)"""


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a, button, summary, select, input:not([type=hidden]), textarea, [role=slider]')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter((e) => !e.closest('details:not([open]) > :not(summary), .visually-hidden, dialog:not([open])'))
  .filter((e) => !e.closest('p, .turn-meta, .version-branch-head .muted, .skip-link, .image-link'))
  .filter((e) => !(e.matches('input[type=checkbox]') && e.closest('label')?.getBoundingClientRect().height >= 44))
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.height < 43.5)
  .map(([e, r]) => `${e.tagName}.${e.className} "${(e.textContent || '').trim().slice(0, 24)}"`
    + ` ${Math.round(r.height)}px`)"""


def test_phone_menu_and_breadcrumbs_fit(browser: Browser, studio: LiveStudio) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    sign_up_and_open_conversation(phone, studio, username="e2e_phone", project="Pocket")
    phone.reload()  # measured at once, while the socket still says "Connecting…"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    crumbs = phone.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link", name="Pocket")).to_be_visible()
    assert phone.evaluate(OUTSIDE, 390) == []
    phone.get_by_text("Conversation", exact=True).click()
    expect(phone.get_by_label("Title")).to_be_visible()
    assert phone.evaluate(OUTSIDE, 390) == [], "the menu and its fields stay on screen"
    phone.keyboard.press("Escape")
    phone.get_by_text("Earlier versions", exact=True).click()
    assert phone.evaluate(OUTSIDE, 390) == [], "the version picker stays on screen"
    phone.keyboard.press("Escape")
    prompt = phone.get_by_label("Prompt")
    prompt.fill("a kite over the dunes")
    prompt.press("Enter")
    expect(phone.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
    for path in (phone.url, f"{studio.url}/", phone.url.split("?")[0].rstrip("/") + "/versions"):
        phone.goto(path)
        assert phone.evaluate(SMALL_TARGETS) == [], f"every target on {path} is at least 44 px tall"
        assert phone.evaluate(OUTSIDE, 390) == [], path
    context.close()


def test_sign_up_can_show_the_password(page: Page, studio: LiveStudio) -> None:
    page.goto(f"{studio.url}/signup/")
    password = page.get_by_label("Password")
    password.fill("a long enough secret")
    toggle = page.get_by_role("button", name="Show")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Hide").click()
    expect(password).to_have_attribute("type", "password")


def _png(colour: str = "red") -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _attach(page: Page, *files: dict[str, object]) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach images").click()
    chooser.value.set_files(list(files))


def test_the_tray_refuses_what_the_model_cannot_take_before_any_upload(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_tray", project="Tray")
    posts: list[tuple[str, int]] = []
    page.on("request", lambda r: posts.append((r.url, len(r.post_data_buffer or b""))) if r.method == "POST" else None)
    picture = _png()
    _attach(page, *({"name": f"ref{n}.png", "mimeType": "image/png", "buffer": picture} for n in range(14)))
    tray = page.locator("[data-tray]")
    expect(tray.locator(".tray-item")).to_have_count(14)
    expect(tray.locator(".tray-count")).to_have_text("14/14")
    expect(tray.locator(".tray-count")).to_have_class("tray-count tray-full")
    message = page.locator("[data-tray-message]")
    expect(message).to_be_hidden()

    _attach(page, {"name": "one-more.png", "mimeType": "image/png", "buffer": picture})
    expect(message).to_contain_text("takes at most 14 reference images. Remove one to add another.")
    expect(tray.locator(".tray-item")).to_have_count(14)

    page.get_by_role("button", name="Remove reference 14").click()
    expect(message).to_be_hidden()
    huge = {"name": "huge.png", "mimeType": "image/png", "buffer": b"\x89PNG" + bytes(21 * 1024 * 1024)}
    _attach(page, huge)
    expect(message).to_have_text("“huge.png” is 21.0 MB; the limit is 20.0 MB per reference. Resize or compress it.")
    _attach(page, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"})
    expect(message).to_contain_text("“notes.txt” is not an image the model reads. Use JPEG, PNG, WEBP")
    expect(tray.locator(".tray-item")).to_have_count(13)
    expect(tray.locator(".tray-count")).to_have_text("13/14")
    expect(tray.locator(".tray-count")).to_have_class("tray-count")

    # Six objects by default (the rest are styles); five may be people, a sixth person is refused.
    roles = [tray.get_by_label(f"Role of reference {n}", exact=True) for n in range(1, 14)]
    assert [r.input_value() for r in roles].count("object") == 6
    for role in roles[:5]:
        role.select_option("person")
    expect(message).to_be_hidden()
    roles[5].select_option("person")
    expect(message).to_contain_text("keeps at most 5 people consistent")
    expect(roles[5]).to_have_value("object")

    # A file the browser cannot draw gets a labelled placeholder, not a broken-image icon.
    _attach(page, {"name": "damaged.png", "mimeType": "image/png", "buffer": b"\x89PNG not really"})
    expect(tray.get_by_role("img", name="Reference 14: no preview")).to_have_text("No preview")

    assert not [url for url, _ in posts if "/turns" in url], "nothing was sent"
    assert max((size for _, size in posts), default=0) < 100_000, f"no upload left the browser: {posts}"


def test_shortcuts_a_second_browsers_branch_and_search(browser: Browser, page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_keys", project="Keys")
    prompt = page.get_by_label("Prompt")
    page.locator("#chat-title").click()  # the focus leaves the prompt: letters are shortcuts now
    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Previous or next branch")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    page.keyboard.press("p")
    expect(prompt).to_be_focused()

    for count, text in enumerate(["a lighthouse on a cliff", "make it night"], start=1):
        prompt.fill(text)
        prompt.press("Control+Enter")
        expect(page.locator(".status-succeeded")).to_have_count(count, timeout=30_000)
    conversation_url = page.url

    # The same person in a second browser (another context: its own cookies and socket) branches.
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    other.goto(f"{studio.url}/login/")
    other.get_by_label("Username").fill("e2e_keys")
    other.get_by_label("Password").fill("a long enough secret")
    other.get_by_role("button", name="Log in").click()
    other.goto(conversation_url)
    expect(other.locator("#live-status")).to_have_text("Live")
    other.locator("[data-edit-response]").first.click()
    other.get_by_label("Prompt").fill("a lighthouse in thick fog")
    other.get_by_label("Prompt").press("Enter")
    other.wait_for_url("**?leaf=*")
    other.context.close()

    switch = page.locator(".branch-switch")
    expect(switch).to_contain_text("1/2", timeout=15_000)  # live, no reload
    page.get_by_role("link", name="Next branch").hover()
    expect(page.locator(".branch-peek").first).to_be_visible()
    expect(page.locator(".branch-peek").first).to_contain_text("“a lighthouse in thick fog”")
    page.locator("#chat-title").click()
    page.keyboard.press("]")
    page.wait_for_url("**?leaf=*")
    expect(page.locator(".prompt-text")).to_have_text(["a lighthouse on a cliff", "a lighthouse in thick fog"])
    page.locator("#chat-title").click()
    page.keyboard.press("[")
    expect(page.locator(".prompt-text")).to_have_text(["a lighthouse on a cliff", "make it night"])

    page.locator("#chat-title").click()
    page.keyboard.press("n")
    expect(page.locator("#composer-parent")).to_have_text("Starts a new image")
    expect(prompt).to_be_focused()
    page.locator("#chat-title").click()
    page.keyboard.press("v")
    expect(page).to_have_url(re.compile(r"/versions$"))

    # Search from another conversation: "/" focuses the header's box; the prompt opens at its turn.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Keys").click()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".empty-chat")).to_be_visible()
    page.locator("#chat-title").click()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search everything in your teams")).to_be_focused()
    page.keyboard.type("fog")
    page.keyboard.press("Enter")
    hit = page.locator(".search-hit").filter(has_text="thick fog")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_text("fog")
    hit.click()
    expect(page).to_have_url(re.compile(conversation_url.split("?")[0].rstrip("/") + r"/\?turn=\d+#turn-\d+$"))
    expect(page.locator(".prompt-text").last).to_have_text("a lighthouse in thick fog")
    expect(page.locator(".branch-switch")).to_contain_text("2/2")


@pytest.mark.console_allows("status of 422")
def test_a_malformed_setting_shows_its_error(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_abc", project="Forms")
    page.evaluate("document.querySelector('#composer [name=count] option:checked').value = 'abc'")
    page.get_by_label("Prompt").fill("a teapot")
    page.get_by_label("Prompt").press("Enter")
    error = page.locator("#composer .composer-options .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("abc")
    expect(page.get_by_label("Prompt")).to_have_value("a teapot")


DRAWN = """() => {
  const stage = document.querySelector('[data-swipe]').getBoundingClientRect();
  const layers = [...document.querySelectorAll('[data-swipe] .swipe-layer')].map((img) => {
    const box = img.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    const [w, h] = [img.naturalWidth * scale, img.naturalHeight * scale];
    return { fit: getComputedStyle(img).objectFit, ratio: img.naturalWidth / img.naturalHeight,
      box: [box.left, box.top, box.width, box.height],
      drawn: [box.left + (box.width - w) / 2, box.top + (box.height - h) / 2, w, h] };
  });
  return { stage: [stage.left, stage.top, stage.width, stage.height], layers,
    viewport: [innerWidth, innerHeight] };
}"""


def _wide_and_tall_compared(page: Page) -> dict[str, Any]:
    """Make a 16:9 and a 9:16 image, compare them, and measure how the swipe frame draws them."""
    prompt = page.get_by_label("Prompt")
    page.locator("details.composer-options > summary").click()
    page.get_by_label("Aspect ratio").select_option("16:9")
    prompt.fill("a wide wheat field")
    prompt.press("Enter")
    expect(page.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
    expect(page.locator("details.composer-options")).to_have_attribute("open", "")  # stays open after a send
    page.get_by_label("Aspect ratio").select_option("9:16")
    page.get_by_role("button", name="New image").click()
    prompt.fill("a tall clock tower")
    prompt.press("Enter")
    expect(page.locator(".status-succeeded")).to_have_count(2, timeout=30_000)

    page.get_by_role("link", name="Versions").click()
    picks = page.locator("[data-compare-pick]")
    picks.nth(0).check()
    picks.nth(1).check()
    page.get_by_role("button", name="Compare").first.click()
    page.locator("[data-swipe]").scroll_into_view_if_needed()
    for layer in page.locator(".swipe-layer").all():  # (no wait_for_function: the CSP forbids eval)
        expect(layer).to_have_js_property("complete", True)
        assert layer.evaluate("img => img.naturalWidth") > 0
    seen: dict[str, Any] = page.evaluate(DRAWN)
    _, _, width, height = seen["stage"]
    wide, tall = (layer["ratio"] for layer in seen["layers"])
    assert wide > 1.7 and tall < 0.6, "Gemini's 16:9 and 9:16 sizes"
    assert width <= seen["viewport"][0] and height <= seen["viewport"][1] * 0.72 + 1
    left, top = seen["stage"][:2]
    for layer in seen["layers"]:
        assert layer["fit"] == "contain" and layer["box"] == seen["stage"], "both fill the same frame: nothing shifts"
        x, y, w, h = layer["drawn"]
        assert x >= left - 0.5 and y >= top - 0.5 and x + w <= left + width + 0.5 and y + h <= top + height + 0.5
        assert max(w / width, h / height) > 0.99, "each is as large as the frame allows, and whole"
    return seen


def test_swipe_compare_shows_a_wide_and_a_tall_image_whole(page: Page, studio: LiveStudio) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_swipe", project="Shapes")
    seen = _wide_and_tall_compared(page)
    left, top, width, height = seen["stage"]
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link", name="a wide wheat field")).to_be_visible()  # the conversation's title

    divider = page.get_by_role("slider", name="Reveal B")
    page.mouse.move(left + width * 0.25, top + height / 2)
    page.mouse.down()
    page.mouse.move(left + width * 0.30, top + height / 2, steps=3)
    page.mouse.up()
    expect(divider).to_have_attribute("aria-valuenow", "30")
    expect(page.locator("[data-swipe-top]")).to_have_attribute("style", re.compile(r"inset\(0px 70% 0px 0px\)"))
    expect(divider).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(divider).to_have_attribute("aria-valuenow", "28")
    page.keyboard.press("End")
    expect(divider).to_have_attribute("aria-valuenow", "100")


def test_phone_search_shortcuts_and_compare_fit(browser: Browser, studio: LiveStudio) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    sign_up_and_open_conversation(phone, studio, username="e2e_pocket", project="Pocket search")
    phone.locator("#chat-title").click()
    phone.keyboard.press("?")
    expect(phone.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert phone.evaluate(OUTSIDE, 390) == [], "the shortcut list fits the phone"
    phone.keyboard.press("Escape")

    seen = _wide_and_tall_compared(phone)
    assert seen["stage"][2] <= 390 - 2 * 16, "the swipe frame fits inside the page's padding"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate(OUTSIDE, 390) == []

    phone.get_by_role("link", name="Search", exact=True).click()  # the header's search icon
    box = phone.get_by_role("searchbox", name="Search everything in your teams")
    expect(box).to_be_focused()
    box.fill("clock tower")
    box.press("Enter")
    hit = phone.locator(".search-hit").filter(has_text="a tall clock tower")
    expect(hit).to_have_count(1)
    assert phone.evaluate(OUTSIDE, 390) == []
    hit.click()
    expect(phone.locator(".prompt-text").last).to_have_text("a tall clock tower")
    context.close()


def test_scrolling_up_loads_older_turns_here_and_on_a_share_link(
    page: Page, browser: Browser, studio: LiveStudio
) -> None:
    sign_up_and_open_conversation(page, studio, username="e2e_long", project="Long reads")
    prompt = page.get_by_label("Prompt")
    for number in range(1, 13):
        prompt.fill(f"poster number {number}")
        prompt.press("Enter")
        expect(page.locator(".turn")).to_have_count(number)
        expect(page.locator("#composer .composer-send")).to_be_enabled()  # the answer has swapped the composer in
        expect(prompt).to_have_value("")
    expect(page.locator(".response-queued, .response-running")).to_have_count(0, timeout=60_000)

    page.reload()
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator(".turn")).to_have_count(10)
    expect(page.locator(".prompt-text").first).to_have_text("poster number 3")
    more = page.get_by_role("button", name="Show 2 earlier turns")
    expect(more).to_be_attached()
    third = page.locator(f"#{page.locator('.turn').first.get_attribute('id')}")
    # Where that turn will be once the list is scrolled to its top, before older turns arrive.
    top_before = third.evaluate(
        "el => { const box = document.getElementById('chat-scroll');"
        " return el.getBoundingClientRect().top + box.scrollTop; }"
    )
    page.locator("#chat-scroll").evaluate("box => { box.scrollTop = 0; }")
    expect(page.locator(".turn")).to_have_count(12)
    expect(page.locator(".prompt-text").first).to_have_text("poster number 1")
    expect(more).to_have_count(0)
    top_after = third.evaluate("el => el.getBoundingClientRect().top")
    assert abs(top_after - top_before) < 80, f"the turn that was on top stays put: {top_before} -> {top_after}"
    first_turn = page.locator(".turn").first.get_attribute("id")

    # A share link of it is as light: the newest turns, the rest as the visitor scrolls up.
    page.get_by_role("link", name="Share").click()
    page.get_by_role("button", name="Create link").click()
    shared = page.locator("#new-share-link").input_value()
    visitor = browser.new_context().new_page()
    visitor.goto(shared)
    expect(visitor.locator("#live-status")).to_have_text("Live")
    expect(visitor.locator(".turn")).to_have_count(10)
    expect(visitor.get_by_role("button", name="Show 2 earlier turns")).to_be_attached()
    visitor.locator("#chat-scroll").evaluate("box => { box.scrollTop = 0; }")
    expect(visitor.locator(".turn")).to_have_count(12)
    assert visitor.locator(".turn").first.get_attribute("id") == first_turn
    expect(visitor.get_by_role("button", name=re.compile("earlier turn"))).to_have_count(0)
    visitor.context.close()
