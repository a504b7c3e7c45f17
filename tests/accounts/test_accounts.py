"""Sign up, log in, log out; a personal team for everyone."""

from __future__ import annotations

import pytest
from django.test import Client

from studio.accounts.models import Membership, Role, User

pytestmark = pytest.mark.django_db


def test_sign_up_creates_user_personal_team_and_logs_in() -> None:
    client = Client()
    response = client.post(
        "/signup/", {"username": "nora", "email": "Nora@Example.com", "password": "a much longer secret"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="nora")
    assert user.email == "nora@example.com"
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.is_personal
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "x", "email": "x@example.com", "password": "a much longer secret"}, b"Use 3 to 40"),
        ({"username": "pat", "email": "not-an-email", "password": "a much longer secret"}, b"valid email"),
        ({"username": "pat", "email": "p@example.com", "password": "short"}, b"too short"),
        ({"username": "pat", "email": "p@example.com", "password": "password1234"}, b"too common"),
    ],
)
def test_sign_up_errors_are_clear(data: dict[str, str], message: bytes) -> None:
    response = Client().post("/signup/", data)
    assert response.status_code == 200 and message in response.content
    assert not User.objects.exists()


def test_duplicate_username_and_email() -> None:
    Client().post("/signup/", {"username": "quin", "email": "q@example.com", "password": "a much longer secret"})
    again = Client().post(
        "/signup/", {"username": "QUIN", "email": "Q@example.com", "password": "a much longer secret"}
    )
    assert b"That username is taken." in again.content and b"Log in instead" in again.content


def test_log_in_and_out() -> None:
    Client().post("/signup/", {"username": "rae", "email": "r@example.com", "password": "a much longer secret"})
    client = Client()
    bad = client.post("/login/", {"username": "rae", "password": "wrong"})
    assert bad.status_code == 200 and b"Please enter a correct username and password" in bad.content
    good = client.post("/login/", {"username": "rae", "password": "a much longer secret"})
    assert good.status_code == 302
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
