"""Server-wide settings of the emulator: CLI flags, each mirrored by a GEMINI_EMULATOR_* variable."""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Literal

Backend = Literal["gemini", "vertex"]
ImageFormat = Literal["jpeg", "png", "mislabelled"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    public_origin: str = ""  # absolute origin for X-Goog-Upload-URL; empty: from the request's Host
    seed: int = 0
    signing_key: str = ""  # empty: derived from the seed, so restarts keep old history valid
    backend: Backend = "gemini"  # gemini: strict thought signatures; vertex: lenient
    latency_first_ms: int = 50
    latency_event_ms: int = 20
    latency_jitter_ms: int = 0
    fault_429: float = 0.0
    fault_503: float = 0.0
    fault_500: float = 0.0
    fault_midstream: float = 0.0
    thoughts_when_unset: bool = False
    interim_images: int = 1
    image_format: ImageFormat = "jpeg"
    signature_pad_bytes: int = 0
    batch_step_s: float = 1.0
    file_ttl_s: float = 172800.0
    max_request_mb: float = 100.0  # the inline request limit since January 2026 (20 before)
    prompt_markers: bool = True  # honour [[emulator: ...]] directives inside prompts
    retry_delay_s: int = 17  # RetryInfo.retryDelay on 429 answers
    retry_after_s: int = 0  # a Retry-After header on 429 and 503 answers (0: none)
    api_keys: str = ""  # comma-separated keys to accept; empty accepts any key
    render_cache_mb: int = 256
    drawing_threads: int = 4
    log_requests: int = 100  # how many recent requests /_emulator/requests keeps
    log_bodies_mb: int = 64  # past this, older logged bodies lose their inline images
    help: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def max_request_bytes(self) -> int:
        return int(self.max_request_mb * MIB)

    @property
    def hmac_key(self) -> bytes:
        if self.signing_key:
            return self.signing_key.encode()
        return hashlib.sha256(f"studio-emulator-signing:{self.seed}".encode()).digest()


FLAG_HELP = {
    "host": "bind address",
    "port": "bind port",
    "public_origin": "absolute origin written into X-Goog-Upload-URL (default: the request's Host)",
    "seed": "base seed for images, text, sources, ids and signature nonces",
    "signing_key": "HMAC key for thought signatures (default: derived from the seed)",
    "backend": "gemini = strict thought-signature checks, vertex = lenient",
    "latency_first_ms": "delay before the first byte of an answer",
    "latency_event_ms": "delay between stream events",
    "latency_jitter_ms": "random spread added to each delay",
    "fault_429": "probability (0-1) of a 429 RESOURCE_EXHAUSTED answer",
    "fault_503": "probability (0-1) of a 503 UNAVAILABLE answer",
    "fault_500": "probability (0-1) of a 500 INTERNAL answer",
    "fault_midstream": "probability (0-1) that a stream breaks with an error event",
    "thoughts_when_unset": "emit thoughts when includeThoughts is absent",
    "interim_images": "interim thought images (0-2) when thoughts are on",
    "image_format": "jpeg (like Google), png, or mislabelled (JPEG bytes labelled image/png)",
    "signature_pad_bytes": "pad thought signatures to this many extra bytes (real ones reach ~1 MB)",
    "batch_step_s": "seconds between batch state changes (PENDING, RUNNING, SUCCEEDED)",
    "file_ttl_s": "Files API expiry in seconds (Google: 48 h)",
    "max_request_mb": "request size limit in MiB (Google: 100 since Jan 2026, 20 before)",
    "prompt_markers": "honour [[emulator: ...]] directives written inside prompts",
    "retry_delay_s": "RetryInfo.retryDelay sent with 429 answers",
    "retry_after_s": "Retry-After header (seconds) on 429 and 503 answers; 0 sends none",
    "api_keys": "comma-separated API keys to accept (others get 400 API_KEY_INVALID); empty accepts any",
    "render_cache_mb": "memory for caching rendered images of identical requests",
    "drawing_threads": "images drawn at once (each 4K drawing holds about 150 MB while it runs)",
    "log_requests": "how many recent requests GET /_emulator/requests keeps",
    "log_bodies_mb": "memory for logged request bodies; past it, older ones lose long strings (images)",
}

ENV_PREFIX = "GEMINI_EMULATOR_"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "on", "yes"}:
        return True
    if lowered in {"0", "false", "off", "no"}:
        return False
    raise argparse.ArgumentTypeError(f"expected on/off, got {text!r}")


def _parser_for(kind: type) -> Callable[[str], object]:
    return _parse_bool if kind is bool else kind


def config_from_environ(environ: Mapping[str, str], base: EmulatorConfig) -> EmulatorConfig:
    """`base` with every GEMINI_EMULATOR_* variable applied (for an emulator embedded in another
    process, whose own defaults differ); a bad value raises ValueError naming the variable."""
    values: dict[str, object] = {}
    for item in fields(EmulatorConfig):
        env_name = ENV_PREFIX + item.name.upper()
        if item.name == "help" or env_name not in environ:
            continue
        try:
            values[item.name] = _parser_for(type(getattr(base, item.name)))(environ[env_name])
        except (ValueError, argparse.ArgumentTypeError) as error:
            raise ValueError(f"{env_name}={environ[env_name]!r} is not valid: {error}") from None
    return replace(base, **values)  # type: ignore[arg-type]


def config_from_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
    """Flags win over GEMINI_EMULATOR_* variables, which win over the defaults."""
    environ = os.environ if environ is None else environ
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m studio.emulator",
        description="An offline twin of the Gemini image API (Gemini 3 Pro Image and a Flash-tier image model).",
    )
    for item in fields(EmulatorConfig):
        if item.name == "help":
            continue
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        parse = _parser_for(type(default))
        env_name = ENV_PREFIX + item.name.upper()
        if env_name in environ:
            default = parse(environ[env_name])
        choices = None
        if item.name == "backend":
            choices = ["gemini", "vertex"]
        elif item.name == "image_format":
            choices = ["jpeg", "png", "mislabelled"]
        parser.add_argument(
            flag,
            type=parse,
            default=default,
            choices=choices,
            help=f"{FLAG_HELP[item.name]} (env {env_name}; default {default})",
        )
    args = parser.parse_args(argv)
    values = {k: v for k, v in vars(args).items()}
    if not 0 <= values["interim_images"] <= 2:
        parser.error("--interim-images must be 0, 1 or 2")
    if values["drawing_threads"] < 1:
        parser.error("--drawing-threads must be at least 1")
    return replace(defaults, **values)
