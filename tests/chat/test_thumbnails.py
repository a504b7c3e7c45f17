"""Thumbnails of generated images are made by their first view, once, and shared by a draft and a
final image that are the same bytes; an image that cannot be read says so instead of failing."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from studio.chat.imagestore import UnreadableImage, store_image
from studio.chat.models import ImageVersion
from studio.chat.thumbnails import thumbnail_key_for
from tests.chat.test_views import logged_in
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, response_files, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _generated(name: str) -> tuple[object, list[ImageVersion]]:
    client, user = logged_in(name)
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a lighthouse at dusk")
    assert run_all()
    return client, list(ImageVersion.objects.filter(response__turn=turn).order_by("part_index"))


def test_the_first_view_makes_the_thumbnail_and_later_views_reuse_it(gemini: LiveEmulator) -> None:
    client, images = _generated("wren")
    draft, final = images
    assert draft.is_thought and not final.is_thought
    assert draft.storage_key == final.storage_key, "the emulator's last draft is the final image, stored once"
    assert {draft.thumbnail_key, final.thumbnail_key} == {""}, "the worker made no thumbnail"
    answer = client.get(f"/media/v/{final.pk}/thumb")  # type: ignore[attr-defined]
    assert answer.status_code == 200 and answer["Content-Type"] == "image/webp"
    final.refresh_from_db()
    with Image.open(default_storage.open(final.thumbnail_key)) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == 512
    assert client.get(f"/media/v/{draft.pk}/thumb").status_code == 200  # type: ignore[attr-defined]
    draft.refresh_from_db()
    assert draft.thumbnail_key == final.thumbnail_key, "the same bytes share one thumbnail"
    files = response_files(final.response.turn.conversation_id, final.response_id)
    assert len(files) == 2, f"the original and one thumbnail: {files}"


def test_many_first_views_at_once_make_one_thumbnail(gemini: LiveEmulator) -> None:
    _client, images = _generated("yara")
    final = images[-1]
    keys: list[str] = []
    start = threading.Barrier(6)

    def view() -> None:
        start.wait()
        keys.append(thumbnail_key_for(ImageVersion.objects.get(pk=final.pk)))

    threads = [threading.Thread(target=view) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 6 and len(set(keys)) == 1 and keys[0]
    files = response_files(final.response.turn.conversation_id, final.response_id)
    assert sorted(name.endswith(".thumb.webp") for name in files) == [False, True], files


def test_an_image_whose_original_is_gone_answers_404_in_words(gemini: LiveEmulator) -> None:
    client, images = _generated("zoe")
    final = images[-1]
    default_storage.delete(final.storage_key)
    answer = client.get(f"/media/v/{final.pk}/thumb")  # type: ignore[attr-defined]
    assert answer.status_code == 404
    final.refresh_from_db()
    assert final.thumbnail_key == ""


def test_a_cut_off_image_is_refused_without_decoding_it() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "JPEG")
    whole = buffer.getvalue()
    stored = store_image(data=whole, folder="t", output_format="jpeg", thumbnail=False)
    assert stored.thumbnail_key == "" and (stored.width, stored.height) == (64, 64)
    with pytest.raises(UnreadableImage, match="cut off"):
        store_image(data=whole[: len(whole) // 2], folder="t", output_format="jpeg", thumbnail=False)
