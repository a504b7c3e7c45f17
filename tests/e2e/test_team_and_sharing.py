"""Teams and sharing in Chromium: the owner invites a member by link, the member signs up through it
and generates; the owner shares the conversation; an anonymous visitor watches the running
generation finish live; the owner revokes and the visitor's page says so without a reload."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.journeys import sign_up
from tests.e2e.live_studio import LiveStudio

EMULATOR_LATENCY = {"latency_first_ms": 300, "latency_event_ms": 100}


def test_invite_generate_share_watch_live_and_revoke(page: Page, browser: Browser, studio: LiveStudio) -> None:
    owner = page
    sign_up(owner, studio, username="e2e_owner")
    owner.goto(f"{studio.url}/teams/")
    owner.get_by_label("Team name").fill("Poster crew")
    owner.get_by_role("button", name="Create team").click()
    expect(owner.get_by_role("heading", name="Poster crew")).to_be_visible()
    owner.get_by_role("button", name="Invite").click()  # no email: a link to pass on
    invite = owner.locator("#new-link").input_value()
    assert "/invite/" in invite

    member_context = browser.new_context(viewport={"width": 1280, "height": 900})
    member = member_context.new_page()
    member.goto(invite)
    expect(member.get_by_role("heading", name="Join Poster crew")).to_be_visible()
    member.get_by_role("link", name="Create an account to join").click()
    start = member.url.removeprefix(studio.url)
    sign_up(member, studio, username="e2e_member", start=start)
    expect(member.get_by_role("heading", name="Join Poster crew")).to_be_visible()  # the link came back
    member.get_by_role("button", name="Accept and join Poster crew").click()
    expect(member.get_by_text("You joined Poster crew as member.")).to_be_visible()
    member.goto(f"{studio.url}/")
    member.get_by_label("Team", exact=True).select_option(label="Poster crew")
    member.get_by_label("Name", exact=True).fill("Spring posters")
    member.get_by_role("button", name="Create project").click()
    member.get_by_role("button", name="New conversation").click()
    expect(member.locator("#live-status")).to_have_text("Live")
    conversation_url = member.url
    prompt = member.get_by_label("Prompt")
    prompt.fill("a harbour poster [[emulator: latency=9000]]")  # slow enough to be watched while it runs
    prompt.press("Enter")
    expect(member.locator(".status-running, .status-queued").first).to_be_visible(timeout=15_000)

    owner.goto(conversation_url)  # the team's owner sees the member's conversation
    owner.get_by_role("link", name="Share").click()
    owner.get_by_role("button", name="Create link").click()
    shared = owner.locator("#new-share-link").input_value()
    assert "/s/" in shared

    visitor_context = browser.new_context(viewport={"width": 390, "height": 844})
    visitor = visitor_context.new_page()
    visitor.goto(shared)
    expect(visitor.locator("#live-status")).to_have_text("Live")
    expect(visitor.locator(".prompt-text")).to_contain_text("a harbour poster")
    expect(visitor.locator(".status-succeeded")).to_have_count(0)  # still running when the visitor arrives
    expect(visitor.locator(".status-succeeded")).to_have_count(1, timeout=30_000)
    expect(visitor.locator(".image-version img")).to_have_count(1)
    expect(visitor.locator("#composer")).to_have_count(0)

    owner.reload()
    owner.get_by_role("button", name="Revoke").click()
    expect(owner.get_by_text("Link revoked")).to_be_visible()
    expect(visitor.get_by_text("This link was revoked.")).to_be_visible(timeout=10_000)  # no reload
    visitor.reload()
    expect(visitor.get_by_role("heading", name="This link was revoked")).to_be_visible()
    member_context.close()
    visitor_context.close()
