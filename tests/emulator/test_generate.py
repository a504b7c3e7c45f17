"""generateContent through the real SDK: part order, signatures, exact sizes, usage, determinism."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import types

from studio.emulator.imaging import PIXEL_SIZES, ImageSpec, render
from tests.emulator.calls import (
    MODEL,
    final_image,
    final_parts,
    image_config,
    mean_difference,
    open_image,
    sniff,
    solid_png,
    thought_parts,
)
from tests.live_emulator import LiveEmulator, StartEmulator

SIZES = [(aspect, size) for aspect in PIXEL_SIZES for size in ("1K", "2K", "4K")]


def test_thoughts_then_signed_text_and_image(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="a lighthouse at dusk", config=image_config())
    parts = response.candidates[0].content.parts
    assert parts is not None
    thoughts = thought_parts(response)
    assert thoughts[0].text and thoughts[0].text.startswith("**")
    assert all(p.thought_signature is None for p in thoughts), "thought parts are never signed"
    finals = final_parts(response)
    assert [bool(p.text) for p in finals] == [True, False]
    assert all(p.thought_signature for p in finals), "first final part and every final image are signed"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == MODEL
    assert response.response_id and 20 <= len(response.response_id) <= 27


def test_interim_thought_image_equals_final_image(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="a red kite", config=image_config())
    interim = [p.inline_data.data for p in thought_parts(response) if p.inline_data]
    assert len(interim) == 1
    assert interim[-1] == final_image(response)


def test_two_interim_images_the_first_a_draft(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(interim_images=2)
    server_client = server.client()
    response = server_client.models.generate_content(model=MODEL, contents="a kite", config=image_config())
    interim = [p.inline_data.data for p in thought_parts(response) if p.inline_data and p.inline_data.data]
    assert len(interim) == 2
    assert interim[0] != interim[1]
    assert interim[1] == final_image(response)


def test_no_thoughts_unless_asked(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="a kite", config=image_config(thoughts=None))
    assert thought_parts(response) == []
    assert response.usage_metadata and response.usage_metadata.thoughts_token_count, "thinking is still billed"


def test_thoughts_when_unset_switch(start_emulator: StartEmulator) -> None:
    server: LiveEmulator = start_emulator(thoughts_when_unset=True)
    server_client = server.client()
    response = server_client.models.generate_content(model=MODEL, contents="a kite", config=image_config(thoughts=None))
    assert thought_parts(response)


@pytest.mark.parametrize(("aspect", "size"), SIZES)
def test_exact_pixel_size_for_every_aspect_and_size(client: genai.Client, aspect: str, size: str) -> None:
    config = image_config(aspect, size, thoughts=False, modalities=["IMAGE"])
    response = client.models.generate_content(model=MODEL, contents=f"test card {aspect} {size}", config=config)
    data = final_image(response)
    assert open_image(data).size == PIXEL_SIZES[aspect][size]
    assert sniff(data) == "image/jpeg"


def test_default_is_1k_square_jpeg(client: genai.Client) -> None:
    response = client.models.generate_content(model=MODEL, contents="a cat", config=image_config(thoughts=False))
    part = final_parts(response)[-1]
    assert part.inline_data and part.inline_data.mime_type == "image/jpeg"
    assert open_image(final_image(response)).size == (1024, 1024)


def test_without_aspect_ratio_the_output_matches_the_input_image(client: genai.Client) -> None:
    wide = types.Part.from_bytes(data=solid_png(320, 180), mime_type="image/png")
    response = client.models.generate_content(
        model=MODEL, contents=[wide, "make it blue"], config=image_config(size="1K", thoughts=False)
    )
    assert open_image(final_image(response)).size == PIXEL_SIZES["16:9"]["1K"]


def test_image_only_modality_signs_the_image_first(client: genai.Client) -> None:
    config = image_config(thoughts=False, modalities=["IMAGE"])
    response = client.models.generate_content(model=MODEL, contents="a cat", config=config)
    finals = final_parts(response)
    assert len(finals) == 1 and finals[0].inline_data and finals[0].thought_signature


def test_png_and_mislabelled_modes(start_emulator: StartEmulator) -> None:
    png: LiveEmulator = start_emulator(image_format="png")
    png_client = png.client()
    response = png_client.models.generate_content(model=MODEL, contents="a cat", config=image_config(thoughts=False))
    part = final_parts(response)[-1]
    assert (
        part.inline_data and part.inline_data.mime_type == "image/png" and sniff(final_image(response)) == "image/png"
    )

    mislabelled: LiveEmulator = start_emulator(image_format="mislabelled")
    mislabelled_client = mislabelled.client()
    response = mislabelled_client.models.generate_content(
        model=MODEL, contents="a cat", config=image_config(thoughts=False)
    )
    part = final_parts(response)[-1]
    assert part.inline_data and part.inline_data.mime_type == "image/png"
    assert sniff(final_image(response)) == "image/jpeg", "JPEG bytes under a PNG label, as Google sometimes sends"


def test_per_request_mime_directive(client: genai.Client) -> None:
    config = image_config(thoughts=False, scenario="mime=png")
    response = client.models.generate_content(model=MODEL, contents="a cat", config=config)
    assert sniff(final_image(response)) == "image/png"


@pytest.mark.parametrize(("size", "image_tokens"), [("1K", 1120), ("2K", 1120), ("4K", 2000)])
def test_usage_follows_the_token_table(client: genai.Client, size: str, image_tokens: int) -> None:
    response = client.models.generate_content(model=MODEL, contents="a blue whale", config=image_config("1:1", size))
    usage = response.usage_metadata
    assert usage is not None and usage.candidates_tokens_details and usage.prompt_tokens_details
    by_modality = {d.modality.value: d.token_count for d in usage.candidates_tokens_details if d.modality}
    assert by_modality["IMAGE"] == image_tokens, "interim thought images are not counted"
    assert usage.candidates_token_count == image_tokens + by_modality["TEXT"]
    assert usage.thoughts_token_count and usage.thoughts_token_count > 0
    assert (
        usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    )
    assert [d.modality.value for d in usage.prompt_tokens_details if d.modality] == ["TEXT"]


def test_input_images_are_counted_in_the_prompt(client: genai.Client) -> None:
    picture = types.Part.from_bytes(data=solid_png(64, 64), mime_type="image/png")
    response = client.models.generate_content(model=MODEL, contents=[picture, "recolour"], config=image_config())
    details = {
        d.modality.value: d.token_count for d in response.usage_metadata.prompt_tokens_details or [] if d.modality
    }
    assert details["IMAGE"] == 560


def test_same_request_same_bytes_and_seed_changes_them(client: genai.Client, start_emulator: StartEmulator) -> None:
    config = image_config("4:3", "1K")
    first = client.models.generate_content(model=MODEL, contents="a paper boat", config=config)
    second = client.models.generate_content(model=MODEL, contents="a paper boat", config=config)
    assert final_image(first) == final_image(second)
    assert first.response_id == second.response_id
    assert [p.thought_signature for p in final_parts(first)] == [p.thought_signature for p in final_parts(second)]

    other_prompt = client.models.generate_content(model=MODEL, contents="a paper plane", config=config)
    assert final_image(other_prompt) != final_image(first)

    reseeded = client.models.generate_content(
        model=MODEL, contents="a paper boat", config=image_config("4:3", "1K", scenario="seed=99")
    )
    assert final_image(reseeded) != final_image(first)

    other_server: LiveEmulator = start_emulator()
    other_server_client = other_server.client()
    again = other_server_client.models.generate_content(model=MODEL, contents="a paper boat", config=config)
    assert final_image(again) == final_image(first), "a restart with the same seed gives the same bytes"


def test_an_edit_visibly_derives_from_the_image_it_edits(client: genai.Client) -> None:
    config = image_config("1:1", "1K", thoughts=False)
    base = final_image(client.models.generate_content(model=MODEL, contents="a green field", config=config))
    unrelated = final_image(client.models.generate_content(model=MODEL, contents="a city at night", config=config))
    edited = final_image(
        client.models.generate_content(
            model=MODEL,
            contents=[types.Part.from_bytes(data=base, mime_type="image/jpeg"), "add a red barn"],
            config=config,
        )
    )
    assert edited != base
    # Compared above the caption band, which an edit repaints with its own caption.
    picture = (0.0, 0.0, 1.0, 0.7)
    assert mean_difference(edited, base, picture) < mean_difference(unrelated, base, picture) / 2


def test_an_edits_caption_hides_the_caption_it_covers() -> None:
    long_prompt = "a lighthouse on a cliff at dusk with fishing boats, gulls, a harbour wall and festival lights"
    base = render(ImageSpec(prompt=long_prompt, aspect_ratio="1:1", image_size="1K", turn=1, seed=7, fmt="png"))
    edit = render(ImageSpec(prompt="add snow", aspect_ratio="1:1", image_size="1K", turn=2, seed=8, base=base.data))
    size = edit.width
    text, small = size // 26, size // 40
    three_lines = int(3 * text * 1.3 + small * 2.6)
    one_line = int(1 * text * 1.3 + small * 2.6)
    # Where the base's caption was and the edit writes nothing: uniformly dark, no old words.
    above_new_text = open_image(edit.data).convert("L").crop((0, size - three_lines + 4, size, size - one_line - 4))
    assert max(above_new_text.getextrema()) < 40, above_new_text.getextrema()


def test_async_client(client: genai.Client) -> None:
    import asyncio

    async def call() -> types.GenerateContentResponse:
        return await client.aio.models.generate_content(model=MODEL, contents="a teapot", config=image_config())

    response = asyncio.run(call())
    assert open_image(final_image(response)).size == (1024, 1024)


def test_models_list_and_get(client: genai.Client) -> None:
    names = [m.name for m in client.models.list()]
    assert "models/gemini-3-pro-image-preview" in names and "models/gemini-3-pro-image" in names
    model = client.models.get(model="gemini-3-pro-image")
    assert model.input_token_limit == 65536 and model.output_token_limit == 32768


def test_count_tokens(client: genai.Client) -> None:
    picture = types.Part.from_bytes(data=solid_png(32, 32), mime_type="image/png")
    result = client.models.count_tokens(model=MODEL, contents=[picture, "twelve chars"])
    assert result.total_tokens == 3 + 560
