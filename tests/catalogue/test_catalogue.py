"""The model catalogue drives the studio: defaults, shut-down models, per-model settings, limits and
prices, through the real services, the real SDK and the emulator."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client
from django.utils import timezone

from studio.catalogue.capabilities import reference_limits
from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import default_model, selectable_models
from studio.chat import services
from studio.chat.models import Conversation, Project, Response, ResponseStatus, Turn
from studio.chat.options import GenerationOptions, InvalidOptions
from studio.chat.references import ReferenceError, check_references
from tests.chat.test_references import png, upload
from tests.chat.test_views import COMPOSER, logged_in
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_project, make_user, personal_membership, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

PRO, PREVIEW, FLASH = "gemini-3-pro-image", "gemini-3-pro-image-preview", "gemini-3.1-flash-image"


def model(model_id: str) -> GeminiModel:
    return GeminiModel.objects.get(model_id=model_id)


def on_model(project: Project, model_id: str) -> Project:
    project.model = model(model_id)
    project.save(update_fields=["model"])
    return project


def staff_client(name: str) -> Client:
    """Logged in to the Django admin as a superuser."""
    admin = make_user(name)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


def generate_bodies(emulator: LiveEmulator) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in emulator.requests() if "GenerateContent" in r["path"]]


def test_the_seeded_default_is_the_ga_model_and_the_preview_is_shut_down() -> None:
    assert default_model().model_id == PRO
    preview = model(PREVIEW)
    assert preview.is_shut_down() and preview.replacement == model(PRO) and not preview.enabled
    assert preview.shutdown_on == dt.date(2026, 6, 25)
    assert PREVIEW not in set(selectable_models().values_list("model_id", flat=True))


def test_a_turn_on_a_shut_down_model_runs_on_its_replacement_with_a_note(gemini: LiveEmulator) -> None:
    user = make_user("sam")
    project = on_model(make_project(user), PREVIEW)
    conversation = make_conversation(user, project)
    turn = submit(conversation, user, "a lighthouse")
    assert turn.model_id == PRO
    assert turn.model_note == (
        "Gemini 3 Pro Image Preview (gemini-3-pro-image-preview) was shut down by Google on 2026-06-25; "
        "this ran on Gemini 3 Pro Image (gemini-3-pro-image)."
    )
    run_all()
    assert turn.responses.get().status == ResponseStatus.SUCCEEDED
    assert all(f"/models/{PRO}:" in r["path"] for r in generate_bodies(gemini))
    client = Client()
    client.force_login(user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "was shut down by Google on 2026-06-25" in page


def test_a_turn_queued_before_a_shutdown_never_calls_the_shut_down_model(gemini: LiveEmulator) -> None:
    user = make_user("tom")
    flash = model(FLASH)
    flash.replacement = model(PRO)
    flash.save()
    conversation = make_conversation(user, on_model(make_project(user), FLASH))
    turn = submit(conversation, user, "a cat")
    assert turn.model_id == FLASH
    flash.shutdown_on = timezone.localdate() - dt.timedelta(days=1)  # Google shuts it down while queued
    flash.save()
    run_all()
    assert turn.responses.get().status == ResponseStatus.SUCCEEDED
    assert [r["path"].rsplit("/", 1)[-1].split(":")[0] for r in generate_bodies(gemini)] == [PRO]


def test_flash_settings_reach_the_request_and_come_back_at_the_right_size(gemini: LiveEmulator) -> None:
    user = make_user("uma")
    conversation = make_conversation(user, on_model(make_project(user), FLASH))
    turn = submit(conversation, user, "a tall tower", image_size="512", aspect_ratio="1:8", thinking_level="HIGH")
    run_all()
    response = turn.responses.get()
    assert response.status == ResponseStatus.SUCCEEDED
    image = response.final_image
    assert image is not None and (image.width, image.height) == (176, 1408)
    config = generate_bodies(gemini)[0]["body"]["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "1:8", "imageSize": "512"}
    assert config["thinkingConfig"]["thinking_level"] == "HIGH"
    # Priced from Flash's entry: 747 image tokens at $60/1M, not Pro's 1120 at $120/1M.
    usage = response.usage
    text_out = usage["candidates_token_count"] - 747 + usage["thoughts_token_count"]
    expected = (usage["prompt_token_count"] * Decimal("0.5") + text_out * 3 + 747 * 60) / Decimal(1_000_000)
    assert response.cost_usd == expected.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def test_pro_refuses_flash_settings_in_the_service_and_the_composer() -> None:
    user = make_user("vic")
    conversation = make_conversation(user)
    with pytest.raises(InvalidOptions, match=r"Gemini 3 Pro Image does not make 512 images\. Choose 1K, 2K or 4K\."):
        submit(conversation, user, "x", image_size="512")
    with pytest.raises(InvalidOptions, match="does not make 1:8 images"):
        submit(conversation, user, "x", aspect_ratio="1:8")
    with pytest.raises(InvalidOptions, match="thinking level cannot be set"):
        submit(conversation, user, "x", thinking_level="HIGH")
    client = Client()
    client.force_login(user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'value="4K"' in page and 'value="512"' not in page and 'value="1:8"' not in page
    assert 'name="thinking_level"' not in page and "Gemini 3 Pro Image" in page
    refused = client.post(f"/c/{conversation.pk}/turns", {**COMPOSER, "prompt": "tiny", "image_size": "512"})
    assert refused.status_code == 422
    assert "Gemini 3 Pro Image does not offer 512 here" in refused.content.decode()
    assert not Turn.objects.exists()


def test_the_flash_composer_offers_flash_settings() -> None:
    client, user = logged_in("wes")
    conversation = make_conversation(user, on_model(make_project(user), FLASH))
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'value="512"' in page and 'value="1:8"' in page and 'name="thinking_level"' in page
    sent = client.post(
        f"/c/{conversation.pk}/turns",
        {**COMPOSER, "prompt": "tiny", "image_size": "512", "aspect_ratio": "8:1", "thinking_level": "MINIMAL"},
    )
    assert sent.status_code == 302
    assert Turn.objects.get().options.image_size == "512"


def test_reference_limits_come_from_the_model() -> None:
    seven_objects = [upload(png()) for _ in range(7)]
    assert len(check_references(seven_objects, reference_limits(model(FLASH)))) == 7
    with pytest.raises(ReferenceError, match="Gemini 3 Pro Image keeps at most 6 objects"):
        check_references(seven_objects, reference_limits(model(PRO)))


def test_changing_a_projects_model_adjusts_what_the_new_model_lacks() -> None:
    user = make_user("xia")
    project = make_project(user)
    membership = personal_membership(user)
    services.project_update(
        project=project,
        membership=membership,
        name="p",
        system_instruction="",
        options=GenerationOptions(image_size="512", aspect_ratio="1:8", thinking_level="HIGH"),
        model=model(FLASH),
    )
    assert project.options.image_size == "512"
    services.project_update(
        project=project, membership=membership, name="p", system_instruction="", options=project.options, model=None
    )
    assert (project.options.image_size, project.options.aspect_ratio, project.options.thinking_level) == (
        "1K",
        "auto",
        "",
    )


def test_an_over_long_turn_is_refused_before_anything_is_queued(gemini: LiveEmulator) -> None:
    pro = model(PRO)
    pro.input_token_limit = 500
    pro.save()
    user = make_user("yan")
    conversation = make_conversation(user)
    with pytest.raises(services.ChatError) as caught:
        submit(conversation, user, "word " * 600)  # 3,000 characters: 750 tokens by Gemini's count
    message = str(caught.value)
    assert "This turn is about 750 input tokens" in message and "accepts at most 500" in message
    assert "Shorten the prompt" in message and "Nothing was queued or charged" in message
    assert not Turn.objects.exists() and not Response.objects.exists()
    # Over the cheap bound (1,200 bytes) but under the limit by Gemini's own count (300 tokens): sent.
    turn = submit(conversation, user, "word " * 240)
    assert turn.responses.count() == 1
    counted = [r for r in gemini.requests() if r["path"].endswith(":countTokens")]
    assert len(counted) == 2
    # A short prompt needs no count at all.
    submit(conversation, user, "a cat")
    assert len([r for r in gemini.requests() if r["path"].endswith(":countTokens")]) == 2


def test_an_over_long_turn_is_refused_in_the_composer(gemini: LiveEmulator) -> None:
    pro = model(PRO)
    pro.input_token_limit = 500
    pro.save()
    client, user = logged_in("zed")
    conversation = make_conversation(user)
    refused = client.post(f"/c/{conversation.pk}/turns", {**COMPOSER, "prompt": "word " * 600}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    assert "accepts at most 500" in refused.content.decode()
    assert not Turn.objects.exists()


def test_admin_check_now_flags_models_gemini_no_longer_serves(gemini: LiveEmulator) -> None:
    gone = GeminiModel.objects.get(model_id=PRO)
    gone.pk = None
    gone.model_id, gone.display_name, gone.is_default = "gemini-2.0-gone-image", "Gone", False
    gone.save()
    client = staff_client("root")
    answer = client.post("/admin/catalogue/geminimodel/check-now/", follow=True)
    page = answer.content.decode()
    assert "Gemini no longer lists: gemini-2.0-gone-image" in page
    assert model("gemini-2.0-gone-image").served is False and model(PRO).served is True
    listing = client.get("/admin/catalogue/geminimodel/").content.decode()
    assert "Gemini-2.0-gone-image was not in Google&#x27;s model list" in listing
    assert "Not served by Gemini" in listing


def test_admin_is_warned_when_the_default_model_is_shut_down() -> None:
    preview = model(PREVIEW)
    GeminiModel.objects.update(is_default=False)
    preview.is_default = True
    preview.save()
    client = staff_client("boss")
    listing = client.get("/admin/catalogue/geminimodel/").content.decode()
    assert "Gemini-3-pro-image-preview was shut down on 2026-06-25; its turns run on gemini-3-pro-image." in listing
    # And turns on the studio default indeed run on the replacement.
    user = make_user("emp")
    assert submit(make_conversation(user), user, "x").model_id == PRO


def test_a_queued_turn_whose_model_is_shut_down_without_replacement_fails_in_words(gemini: LiveEmulator) -> None:
    user = make_user("fay")
    conversation = make_conversation(user, on_model(make_project(user), FLASH))
    turn = submit(conversation, user, "a cat")
    GeminiModel.objects.filter(model_id=FLASH).update(shutdown_on=timezone.localdate())
    run_all()
    response = turn.responses.get()
    assert (response.status, response.error_code) == (ResponseStatus.FAILED, "model_unavailable")
    assert "gemini-3.1-flash-image was shut down on" in response.error_message
    assert "has no replacement" in response.error_message and "Traceback" not in response.error_message
    assert generate_bodies(gemini) == []
    # New turns on it are refused at once, with the same explanation.
    with pytest.raises(services.ChatError, match="has no replacement"):
        submit(Conversation.objects.get(pk=conversation.pk), user, "another cat")
