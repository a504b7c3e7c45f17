"""Sign up (confirmed by email, never saying who has an account), log in and out, throttles,
password change and reset, the profile page; a personal team for everyone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from studio.accounts.models import Membership, Role, SitePolicy, User
from tests.studio_world import PASSWORD, make_user

pytestmark = pytest.mark.django_db

SECRET = "a much longer secret"


def link_in(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://[^\s]+", str(message.body))
    assert found, message.body
    return found.group(0).removeprefix("http://testserver")


def main_of(html: bytes) -> str:
    """The page's <main>: what it says, without the per-response nonce and CSRF token around it."""
    text = html.decode()
    return text[text.index("<main") : text.index("</main>")]


def sign_up(client: Client, username: str, email: str) -> Any:
    return client.post("/signup/", {"username": username, "email": email, "password": SECRET})


def test_sign_up_confirms_the_address_then_logs_in(mailoutbox: list[mail.EmailMessage]) -> None:
    client = Client()
    answer = sign_up(client, "nora", "Nora@Example.com")
    assert answer.status_code == 200 and b"Check your email" in answer.content
    user = User.objects.get(username="nora")
    assert user.email == "nora@example.com" and not user.is_active
    assert client.get("/").status_code == 302, "not signed in before confirming"
    (message,) = mailoutbox
    assert message.to == ["nora@example.com"] and message.subject == "Confirm your Studio account"
    confirmed = client.get(link_in(message))
    assert confirmed.status_code == 302 and confirmed["Location"] == "/"
    assert User.objects.get(username="nora").is_active
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.is_personal
    assert client.get("/").status_code == 200


def test_sign_up_never_says_whether_an_email_has_an_account(mailoutbox: list[mail.EmailMessage]) -> None:
    make_user("owen")  # owen@example.com
    taken = sign_up(Client(), "someone", "OWEN@example.com")
    fresh = sign_up(Client(), "another", "fresh@example.com")
    assert taken.status_code == fresh.status_code == 200
    assert main_of(taken.content).replace("owen@", "X@") == main_of(fresh.content).replace("fresh@", "X@")
    assert not User.objects.filter(username="someone").exists()
    reminder = next(m for m in mailoutbox if m.to == ["owen@example.com"])
    assert reminder.subject == "You already have a Studio account" and "/password/reset/" in reminder.body


def test_a_bad_confirmation_link_says_so() -> None:
    answer = Client().get("/signup/confirm/not-a-token/", follow=True)
    assert b"not valid or has expired" in answer.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "x", "email": "x@example.com", "password": SECRET}, b"Use 3 to 40"),
        ({"username": "pat", "email": "not-an-email", "password": SECRET}, b"valid email"),
        ({"username": "pat", "email": "p@example.com", "password": "short"}, b"too short"),
        ({"username": "pat", "email": "p@example.com", "password": "password1234"}, b"too common"),
    ],
)
def test_sign_up_errors_are_clear(data: dict[str, str], message: bytes) -> None:
    response = Client().post("/signup/", data)
    assert response.status_code == 200 and message in response.content
    assert not User.objects.exists()


def test_duplicate_username_is_named() -> None:
    make_user("quin")
    again = sign_up(Client(), "QUIN", "other@example.com")
    assert b"That username is taken." in again.content


def test_admins_can_close_open_sign_up() -> None:
    SitePolicy.objects.update_or_create(pk=1, defaults={"open_sign_up": False})
    closed = Client().get("/signup/")
    assert closed.status_code == 403 and b"Sign-up is by invitation" in closed.content
    assert sign_up(Client(), "pete", "pete@example.com").status_code == 403
    assert not User.objects.filter(username="pete").exists()


def test_log_in_and_out() -> None:
    make_user("rae")
    client = Client()
    bad = client.post("/login/", {"username": "rae", "password": "wrong"})
    assert bad.status_code == 200 and b"Please enter a correct username and password" in bad.content
    good = client.post("/login/", {"username": "rae", "password": PASSWORD})
    assert good.status_code == 302
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


class FakeClock:
    """The rate limiter's clock, moved by the test instead of slept through."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now


def test_login_is_throttled_per_account_then_works_after_the_window(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    import django_ratelimit.core

    clock = FakeClock()
    monkeypatch.setattr(django_ratelimit.core, "time", clock)
    settings.STUDIO_THROTTLE_LOGIN_ACCOUNT = "5/15m"
    make_user("sal")
    client = Client()
    for _ in range(5):
        assert client.post("/login/", {"username": "sal", "password": "wrong"}).status_code == 200
    refused = client.post("/login/", {"username": "SAL", "password": PASSWORD})  # the right one, any case
    assert refused.status_code == 429
    assert b"Too many attempts. Try again in" in refused.content and b"minutes" in refused.content
    other = Client(REMOTE_ADDR="10.9.9.9")  # another address: the account's limit still holds
    assert other.post("/login/", {"username": "sal", "password": PASSWORD}).status_code == 429
    clock.now += 16 * 60
    assert client.post("/login/", {"username": "sal", "password": PASSWORD}).status_code == 302


def test_login_is_throttled_per_address(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "time", FakeClock())
    settings.STUDIO_THROTTLE_LOGIN_IP = "3/15m"
    make_user("tia")
    client = Client()
    for name in ("a1", "a2", "a3"):  # different accounts, one address
        client.post("/login/", {"username": name, "password": "wrong"})
    assert client.post("/login/", {"username": "tia", "password": PASSWORD}).status_code == 429


def test_sign_up_and_password_reset_are_throttled(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "time", FakeClock())
    settings.STUDIO_THROTTLE_SIGNUP_IP = "2/h"
    settings.STUDIO_THROTTLE_RESET_EMAIL = "2/h"
    client = Client()
    sign_up(client, "uno", "u1@example.com")
    sign_up(client, "dos", "u2@example.com")
    third = sign_up(client, "tres", "u3@example.com")
    assert third.status_code == 429 and b"Too many attempts" in third.content
    assert not User.objects.filter(username="tres").exists()
    make_user("vic")
    for _ in range(2):
        client.post("/password/reset/", {"email": "vic@example.com"})
    refused = client.post("/password/reset/", {"email": "VIC@example.com"}, follow=True)
    assert b"Too many attempts" in refused.content


def test_password_reset_by_email_and_change(mailoutbox: list[mail.EmailMessage]) -> None:
    make_user("wes")
    client = Client()
    sent = client.post("/password/reset/", {"email": "wes@example.com"}, follow=True)
    assert b"If an account uses that address" in sent.content
    nobody = client.post("/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert main_of(nobody.content) == main_of(sent.content)  # no disclosure
    (message,) = mailoutbox
    form = client.get(link_in(message), follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new secret", "new_password2": "a brand new secret"},
        follow=True,
    )
    assert b"Password set" in done.content
    assert client.login(username="wes", password="a brand new secret")
    changed = client.post(
        "/password/change/",
        {
            "old_password": "a brand new secret",
            "new_password1": "another new secret",
            "new_password2": "another new secret",
        },
        follow=True,
    )
    assert b"Password changed" in changed.content
    assert Client().login(username="wes", password="another new secret")


def test_profile_shows_teams_and_saves_a_display_name() -> None:
    user = make_user("xan")
    client = Client()
    client.force_login(user)
    page = client.get("/profile/").content.decode()
    assert "xan&#x27;s team" in page and "Owner" in page and "xan@example.com" in page
    client.post("/profile/", {"display_name": "Xan Smith"})
    assert User.objects.get(pk=user.pk).display_name == "Xan Smith"
