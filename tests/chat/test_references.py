"""Reference images: every bad upload gets a clear message, and nothing is stored."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from PIL import Image

from studio.chat.models import Reference, ReferenceRole, Response, Turn
from studio.chat.references import ReferenceInput
from studio.chat.services import ChatError
from tests.database_faults import REFUSAL, inserts_refused
from tests.studio_world import make_conversation, make_user, submit

pytestmark = pytest.mark.django_db


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims an enormous image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "ref.png", role: str = ReferenceRole.OBJECT) -> ReferenceInput:
    return ReferenceInput(role=role, upload=SimpleUploadedFile(name, data, content_type="image/png"))


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


BAD = [
    (
        "wrong type",
        [upload(b"%PDF-1.7 not an image", "brief.pdf")],
        "“brief.pdf” is not an image we accept. Use PNG, JPEG, WebP",
    ),
    ("empty", [upload(b"", "empty.png")], "“empty.png” is empty (0 bytes)."),
    (
        "truncated",
        [upload(png(400, 300)[:200], "cut.png")],
        "“cut.png” could not be read: the file is damaged or incomplete.",
    ),
    (
        "60 MB",
        [upload(b"\x89PNG\r\n\x1a\n" + bytes(60 * 1024 * 1024), "huge.png")],
        "“huge.png” is 60.0 MB; the limit is 20.0 MB",
    ),
    ("bomb", [upload(bomb_png(50_000, 50_000), "bomb.png")], "“bomb.png” has far too many pixels to open safely"),
    (
        "15 references",
        [upload(png()) for _ in range(15)],
        "You attached 15 reference images; Gemini 3 Pro Image takes at most 14. Remove 1.",
    ),
    (
        "7 people",
        [upload(png(), role=ReferenceRole.PERSON) for _ in range(7)],
        "7 references are labelled person; Gemini 3 Pro Image keeps at most 5 people consistent. Relabel or remove 2.",
    ),
    (
        "7 objects",
        [upload(png()) for _ in range(7)],
        "7 references are labelled object; Gemini 3 Pro Image keeps at most 6",
    ),
    ("bad role", [upload(png(), role="hat")], "Label each reference as person, object or style."),
]


@pytest.mark.parametrize(("case", "references", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_references_are_refused_and_nothing_is_stored(
    case: str, references: list[ReferenceInput], message: str, settings: object
) -> None:
    user = make_user("rhea")
    conversation = make_conversation(user)
    with pytest.raises(ChatError) as caught:
        submit(conversation, user, "use these", references=references)
    assert message in str(caught.value), case
    assert not Turn.objects.exists() and not Response.objects.exists() and not Reference.objects.exists()
    assert stored_files() == []


def test_good_references_are_stored_in_order_with_roles(settings: object) -> None:
    user = make_user("sol")
    conversation = make_conversation(user)
    webp = io.BytesIO()
    Image.new("RGB", (30, 60), (0, 90, 200)).save(webp, "WEBP")
    turn = submit(
        conversation,
        user,
        "combine",
        references=[
            upload(png(80, 40), "wide.png", ReferenceRole.PERSON),
            ReferenceInput(role=ReferenceRole.STYLE, upload=SimpleUploadedFile("tall.webp", webp.getvalue())),
        ],
    )
    first, second = turn.references.all()
    assert (first.position, first.role, first.mime_type, first.width, first.height) == (
        0,
        "person",
        "image/png",
        80,
        40,
    )
    assert (second.role, second.mime_type, second.original_name) == ("style", "image/webp", "tall.webp")
    assert len(stored_files()) == 4, "each upload and its thumbnail"


def test_limits_are_exactly_fourteen_five_and_six(settings: object) -> None:
    user = make_user("tam")
    conversation = make_conversation(user)
    roles = [ReferenceRole.PERSON] * 5 + [ReferenceRole.OBJECT] * 6 + [ReferenceRole.STYLE] * 3
    turn = submit(conversation, user, "fourteen", references=[upload(png(), role=role) for role in roles])
    assert turn.references.count() == 14


def test_a_turn_the_database_refuses_keeps_none_of_its_new_files(settings: object) -> None:
    """The uploads are written before their rows; when the database then fails, the rows roll back
    and the files written for them are deleted."""
    user = make_user("ursa")
    conversation = make_conversation(user)
    with inserts_refused(Reference._meta.db_table), pytest.raises(DatabaseError, match=REFUSAL):
        submit(conversation, user, "these two", references=[upload(png(), "a.png"), upload(png(30, 30), "b.png")])
    assert not Turn.objects.exists() and not Response.objects.exists() and not Reference.objects.exists()
    assert stored_files() == []
