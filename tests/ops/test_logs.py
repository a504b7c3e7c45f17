"""Logs carry the request id, user id and path; malformed values are a 400, never a 500."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from studio.chat.models import Response
from studio.ops.logs import TEXT_FORMAT, JsonFormatter, RequestContext, RequestContextFilter, current
from tests.chat.test_views import COMPOSER, logged_in
from tests.database_faults import inserts_refused
from tests.studio_world import make_conversation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """What the console handler writes for django.request, with the studio's filter and format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_an_unhandled_error_is_logged_with_its_request_id(request_log: io.StringIO) -> None:
    client, user = logged_in("ola")
    client.raise_request_exception = False
    conversation = make_conversation(user)
    with inserts_refused(Response._meta.db_table):
        failed = client.post(f"/c/{conversation.pk}/turns", {"prompt": "a secret prompt", **COMPOSER})
    assert failed.status_code == 500
    request_id = failed["X-Request-ID"]
    logged = request_log.getvalue()
    assert f"[req={request_id} user={user.pk} POST /c/{conversation.pk}/turns]" in logged  # type: ignore[attr-defined]
    assert "Internal Server Error" in logged and "Traceback" in logged
    assert "a secret prompt" not in logged


def test_a_proxys_request_id_is_kept_when_sane() -> None:
    client = Client()
    assert client.get("/login/", HTTP_X_REQUEST_ID="edge-1234abcd")["X-Request-ID"] == "edge-1234abcd"
    made = client.get("/login/", HTTP_X_REQUEST_ID="bad id <script>")["X-Request-ID"]
    assert made != "bad id <script>" and len(made) == 16


def test_json_lines_for_log_shippers() -> None:
    record = logging.LogRecord("studio", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    token = current.set(RequestContext(request_id="r1", user_id="7", method="GET", path="/p/1/"))
    try:
        RequestContextFilter().filter(record)
    finally:
        current.reset(token)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "boom now" and entry["level"] == "ERROR"
    assert (entry["request_id"], entry["user_id"], entry["path"]) == ("r1", "7", "/p/1/")


@pytest.mark.parametrize(
    ("url", "data", "words"),
    [
        ("/", {"team": "abc", "name": "x", **COMPOSER}, "The team in this request is not a valid number."),
        ("/", {"team": "²", "name": "x", **COMPOSER}, "The team in this request is not a valid number."),
    ],
)
def test_malformed_form_values_are_a_400_in_words(url: str, data: dict[str, str], words: str) -> None:
    client, _ = logged_in("pia")
    client.raise_request_exception = False
    answer = client.post(url, data)
    assert answer.status_code == 400
    assert words in answer.content.decode() and "Traceback" not in answer.content.decode()


def test_odd_digits_in_ids_are_ignored_not_a_500() -> None:
    client, user = logged_in("quo")
    client.raise_request_exception = False
    conversation = make_conversation(user)
    assert client.get(f"/c/{conversation.pk}/?leaf=²").status_code == 200
    assert client.get(f"/c/{conversation.pk}/compare?v=²&v=³").status_code == 302
