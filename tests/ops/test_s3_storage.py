"""Object storage against a real S3-compatible server (moto's, started here): a private bucket, keys
never overwritten, originals and downloads answered with short-lived signed redirects (content
type, disposition and caching signed in), thumbnails streamed by us, deletion, the sweep, and the
command that copies a local media folder into the bucket and verifies it by sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from moto.server import ThreadedMotoServer

from studio.chat import mediafiles
from studio.chat.models import ImageVersion
from studio.ops import chores
from tests.live_emulator import LiveEmulator
from tests.studio_world import PASSWORD, make_conversation, make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "studio-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The studio's default storage is a fresh private bucket on the S3 server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    options = {**settings.S3_OPTIONS, "bucket_name": BUCKET, "endpoint_url": s3_server, "region_name": "us-east-1"}
    settings.S3_OPTIONS = options
    settings.S3_PUBLIC_ENDPOINT_URL = s3_server
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    mediafiles._signer.cache_clear()
    yield client
    mediafiles._signer.cache_clear()
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_round_trip_never_overwrites_and_deletes(bucket: Any) -> None:
    first = default_storage.save("conversations/1/a.png", ContentFile(b"one"))
    second = default_storage.save("conversations/1/a.png", ContentFile(b"two"))
    assert first == "conversations/1/a.png" and second != first, "file_overwrite is off"
    with default_storage.open(first, "rb") as handle:
        assert handle.read() == b"one"
    head = bucket.head_object(Bucket=BUCKET, Key=first)
    assert head["CacheControl"] == "private, max-age=31536000, immutable"
    acl = bucket.get_object_acl(Bucket=BUCKET, Key=first)
    assert not [g for g in acl["Grants"] if "AllUsers" in str(g.get("Grantee", {}))], "nothing public"
    default_storage.delete(first)
    assert not default_storage.exists(first) and default_storage.exists(second)


def test_originals_redirect_to_signed_urls_and_thumbnails_stream(bucket: Any, gemini: LiveEmulator) -> None:
    user = make_user("sia")
    conversation = make_conversation(user)
    submit(conversation, user, "a lighthouse", output_format="png")
    run_all()
    image = ImageVersion.objects.get(is_thought=False)
    assert bucket.head_object(Bucket=BUCKET, Key=image.storage_key)["ContentLength"] == image.byte_size
    client = Client()
    client.login(username="sia", password=PASSWORD)

    inline = client.get(f"/media/v/{image.pk}")
    assert inline.status_code == 302 and inline["Cache-Control"] == "private, no-store"
    location = inline["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == image.sha256
    assert fetched.headers["content-type"] == image.mime_type and fetched.headers["content-disposition"] == "inline"
    assert fetched.headers["cache-control"] == "private, max-age=300"

    download = client.get(f"/media/v/{image.pk}", {"download": "1"})
    saved = httpx.get(download["Location"])
    assert saved.headers["content-disposition"].startswith('attachment; filename="studio-')
    unsigned = location.split("?")[0]
    assert httpx.get(unsigned).status_code == 403, "the bucket is private: no URL works unsigned"

    thumb = client.get(f"/media/v/{image.pk}/thumb")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp", "thumbnails stream through us"
    stranger = make_user("tom")
    other = Client()
    other.force_login(stranger)
    assert other.get(f"/media/v/{image.pk}").status_code == 404, "no redirect for people without access"


def test_the_sweep_works_on_a_bucket(bucket: Any, gemini: LiveEmulator) -> None:
    user = make_user("swa")
    conversation = make_conversation(user)
    submit(conversation, user, "a kite")
    run_all()
    image = ImageVersion.objects.get(is_thought=False)
    orphan = default_storage.save(f"conversations/{conversation.pk}/responses/424242/lost.png", ContentFile(b"x"))
    assert orphan in set(chores.stored_files())
    later = timezone.now() + dt.timedelta(hours=2)  # everything is older than an hour by then
    assert chores.sweep(grace=dt.timedelta(hours=1), now=later) == [orphan]
    assert default_storage.exists(image.storage_key) and not default_storage.exists(orphan)


def test_the_copy_command_moves_a_local_folder_and_verifies_it(bucket: Any, tmp_path: Path) -> None:
    local = FileSystemStorage(location=tmp_path)
    keys = [local.save(f"conversations/7/responses/{n}/image.png", ContentFile(bytes([n]) * 1000)) for n in range(3)]
    call_command("studio_storage_copy", "--from", str(tmp_path), stdout=(out := _Out()))
    assert "copied 3, already there 0, problems 0" in out.text
    for key in keys:
        body = bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(local.open(key).read()).digest()
    call_command("studio_storage_copy", "--from", str(tmp_path), stdout=(again := _Out()))
    assert "copied 0, already there 3" in again.text
    bucket.put_object(Bucket=BUCKET, Key=keys[0], Body=b"tampered")
    with pytest.raises(CommandError, match="1 files did not verify"):
        call_command("studio_storage_copy", "--from", str(tmp_path), stdout=_Out(), stderr=_Out())


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, value: str) -> None:
        self.text += value

    def flush(self) -> None:
        pass
