"""Files API through the SDK: resumable upload, get/list/delete, fileData resolution, 48 h expiry."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.emulator.calls import MODEL, final_image, image_config, open_image, solid_png
from tests.live_emulator import LiveEmulator, StartEmulator


def upload(client: genai.Client, data: bytes, name: str = "ref") -> types.File:
    config = types.UploadFileConfig(mime_type="image/png", display_name=name)
    return client.files.upload(file=io.BytesIO(data), config=config)


def test_resumable_upload_from_bytes(client: genai.Client, emulator: LiveEmulator) -> None:
    data = solid_png(300, 200)
    uploaded = upload(client, data)
    assert uploaded.name and uploaded.name.startswith("files/")
    assert uploaded.uri == f"https://generativelanguage.googleapis.com/v1beta/files/{uploaded.name.split('/')[1]}"
    assert uploaded.size_bytes == len(data) and uploaded.mime_type == "image/png" and uploaded.display_name == "ref"
    assert uploaded.state == types.FileState.ACTIVE and uploaded.source == types.FileSource.UPLOADED
    assert uploaded.expiration_time and uploaded.create_time
    assert (uploaded.expiration_time - uploaded.create_time).total_seconds() == pytest.approx(48 * 3600)
    start, chunk = [r for r in emulator.requests() if "/upload/" in r["path"]]
    assert start["headers"]["x-goog-upload-command"] == "start"
    assert start["headers"]["x-goog-api-key"] == "<redacted>", "keys never reach the request log"
    assert "x-goog-api-key" not in chunk["headers"], "the upload URL needs no key"
    assert chunk["headers"]["x-goog-upload-command"] == "upload, finalize"


def test_upload_from_a_path_and_async(client: genai.Client, tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(solid_png(20, 20))
    uploaded = client.files.upload(file=path)
    assert uploaded.size_bytes == path.stat().st_size and uploaded.mime_type == "image/png"
    import asyncio

    async def go() -> types.File:
        return await client.aio.files.upload(
            file=io.BytesIO(solid_png(10, 10)), config=types.UploadFileConfig(mime_type="image/png")
        )

    assert asyncio.run(go()).size_bytes


def test_upload_url_is_absolute_on_the_emulators_origin(emulator: LiveEmulator) -> None:
    response = httpx.post(
        f"{emulator.url}/upload/v1beta/files",
        json={"file": {"display_name": "x", "mime_type": "image/png", "size_bytes": 3}},
        headers={
            "x-goog-api-key": "k",
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "3",
            "X-Goog-Upload-Header-Content-Type": "image/png",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-goog-upload-url"].startswith(f"{emulator.url}/upload/v1beta/files?upload_id=")
    assert response.headers["x-goog-upload-status"] == "active"


def test_get_list_delete(client: genai.Client) -> None:
    first = upload(client, solid_png(10, 10), "first")
    second = upload(client, solid_png(12, 12), "second")
    assert client.files.get(name=first.name).display_name == "first"
    names = {f.name for f in client.files.list()}
    assert {first.name, second.name} <= names
    client.files.delete(name=first.name)
    with pytest.raises(errors.ClientError) as caught:
        client.files.get(name=first.name)
    assert caught.value.code == 403
    assert {f.name for f in client.files.list()} == {second.name}


def test_file_data_in_a_request_resolves_to_the_stored_bytes(client: genai.Client) -> None:
    uploaded = upload(client, solid_png(640, 360, (10, 200, 30)))
    part = types.Part.from_uri(file_uri=uploaded.uri, mime_type="image/png")
    response = client.models.generate_content(model=MODEL, contents=[part, "recolour"], config=image_config(size="1K"))
    assert open_image(final_image(response)).size == (1376, 768), "aspect follows the uploaded 16:9 image"


def test_files_expire_after_48_hours(client: genai.Client, emulator: LiveEmulator) -> None:
    uploaded = upload(client, solid_png(10, 10))
    emulator.advance_clock(47 * 3600)
    assert client.files.get(name=uploaded.name).name == uploaded.name
    emulator.advance_clock(2 * 3600)
    with pytest.raises(errors.ClientError) as caught:
        client.files.get(name=uploaded.name)
    assert caught.value.code == 403
    part = types.Part.from_uri(file_uri=uploaded.uri, mime_type="image/png")
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents=[part, "x"])
    assert caught.value.message == (
        f"You do not have permission to access the File {uploaded.name.split('/')[1]} or it may not exist."
    )


def test_short_ttl_setting(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(file_ttl_s=60)
    server_client = server.client()
    uploaded = upload(server_client, solid_png(10, 10))
    assert uploaded.expiration_time and uploaded.create_time
    assert (uploaded.expiration_time - uploaded.create_time).total_seconds() == pytest.approx(60)


def test_uploaded_files_cannot_be_downloaded(client: genai.Client) -> None:
    uploaded = upload(client, solid_png(10, 10))
    with pytest.raises((errors.ClientError, ValueError)):
        client.files.download(file=uploaded)
