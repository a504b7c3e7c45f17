"""Steps several browser tests share: a new person signs up and opens a fresh conversation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.live_studio import LiveStudio


def sign_up(page: Page, studio: LiveStudio, *, username: str, start: str = "/signup/") -> None:
    """Sign up, then follow the confirmation link the studio mailed (to var/mail/)."""
    page.goto(f"{studio.url}{start}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill("a long enough secret")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(studio.latest_link(f"{username}@example.com", "/signup/confirm/"))


def sign_up_and_open_conversation(page: Page, studio: LiveStudio, *, username: str, project: str) -> None:
    sign_up(page, studio, username=username)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    page.get_by_label("Name").fill(project)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name=project, exact=True)).to_be_visible()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#live-status")).to_have_text("Live")
