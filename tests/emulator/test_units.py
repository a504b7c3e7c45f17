"""Unit tests of the emulator's small pure parts: wire conventions, config, signatures, images."""

from __future__ import annotations

import base64

import pytest

from studio.emulator.config import EmulatorConfig, config_from_args, config_from_environ
from studio.emulator.errors import ApiError
from studio.emulator.imaging import ImageSpec, render
from studio.emulator.model_specs import MODELS, closest_aspect_ratio
from studio.emulator.scenario import Scenario, apply_directives
from studio.emulator.signatures import Signer, Verdict
from studio.emulator.wire import Base64Error, b64decode_any, normalize_keys


def test_normalize_keys_keeps_free_form_maps() -> None:
    body = {
        "generation_config": {"image_config": {"aspect_ratio": "1:1"}},
        "contents": [{"parts": [{"function_response": {"name": "f", "response": {"snake_key": 1}}}]}],
        "labels": {"my_label": "x"},
    }
    out = normalize_keys(body)
    assert out["generationConfig"]["imageConfig"]["aspectRatio"] == "1:1"
    assert out["contents"][0]["parts"][0]["functionResponse"]["response"] == {"snake_key": 1}
    assert out["labels"] == {"my_label": "x"}


def test_base64_both_alphabets_with_and_without_padding() -> None:
    raw = bytes(range(250, 256)) + b"\xfb\xff"
    for encoded in (
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ):
        assert b64decode_any(encoded) == raw
    with pytest.raises(Base64Error):
        b64decode_any("a$b")


def test_config_flags_env_and_defaults() -> None:
    assert config_from_args([], environ={}).latency_first_ms == 50
    env = {"GEMINI_EMULATOR_SEED": "9", "GEMINI_EMULATOR_THOUGHTS_WHEN_UNSET": "on"}
    config = config_from_args(["--backend", "vertex", "--seed", "11"], environ=env)
    assert config.backend == "vertex" and config.seed == 11 and config.thoughts_when_unset is True
    with pytest.raises(SystemExit):
        config_from_args(["--interim-images", "3"], environ={})


def test_directives() -> None:
    scenario = Scenario()
    apply_directives(scenario, "midstream_error=500@2, latency=10, thoughts=off, prompt_block=blocklist")
    assert (scenario.midstream_error, scenario.midstream_after) == (500, 2)
    assert scenario.latency_ms == 10 and scenario.thoughts is False
    assert scenario.outcome == "prompt_block" and scenario.block_reason == "BLOCKLIST"
    with pytest.raises(ApiError):
        apply_directives(Scenario(), "explode")


def test_signatures_bind_to_kind_and_payload() -> None:
    signer = Signer(b"key")
    signature = base64.b64encode(signer.sign("image", b"pixels", b"n")).decode()
    assert signer.verify(signature, "image", b"pixels") is Verdict.VALID
    assert signer.verify(signature, "image", b"pixelz") is Verdict.INVALID
    assert signer.verify(signature, "text", b"pixels") is Verdict.INVALID
    assert Signer(b"other").verify(signature, "image", b"pixels") is Verdict.INVALID
    assert signer.verify("AAAA", "image", b"pixels") is Verdict.CORRUPTED


def test_closest_aspect_ratio() -> None:
    pro, flash = MODELS["gemini-3-pro-image"], MODELS["gemini-3.1-flash-image"]
    assert closest_aspect_ratio(pro, 1920, 1080) == "16:9"
    assert closest_aspect_ratio(pro, 1000, 1000) == "1:1"
    assert closest_aspect_ratio(pro, 800, 1200) == "2:3"
    # A very tall input: Pro's nearest is 9:16, Flash has 1:4.
    assert closest_aspect_ratio(pro, 500, 2000) == "9:16"
    assert closest_aspect_ratio(flash, 500, 2000) == "1:4"


def test_render_is_deterministic_and_seed_sensitive() -> None:
    spec = ImageSpec(prompt="a", aspect_ratio="1:1", image_size="1K", turn=1, seed=5)
    assert render(spec).data == render(spec).data
    assert render(spec).data != render(ImageSpec(prompt="a", aspect_ratio="1:1", image_size="1K", turn=1, seed=6)).data


def test_an_embedded_emulator_takes_gemini_emulator_variables_over_its_own_defaults() -> None:
    base = EmulatorConfig(latency_first_ms=400, latency_event_ms=250)
    environ = {"GEMINI_EMULATOR_LATENCY_FIRST_MS": "50", "GEMINI_EMULATOR_THOUGHTS_WHEN_UNSET": "on"}
    config = config_from_environ(environ, base)
    assert (config.latency_first_ms, config.latency_event_ms, config.thoughts_when_unset) == (50, 250, True)
    assert config_from_environ({}, base) == base
    with pytest.raises(ValueError, match="GEMINI_EMULATOR_FAULT_429='often' is not valid"):
        config_from_environ({"GEMINI_EMULATOR_FAULT_429": "often"}, base)
