from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings
from google import genai

from tests import live_emulator
from tests.live_emulator import LiveEmulator, StartEmulator


@pytest.fixture(scope="session")
def _shared_emulator() -> Iterator[LiveEmulator]:
    server = live_emulator.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(_shared_emulator: LiveEmulator) -> LiveEmulator:
    """The shared emulator, reset (files, batches, log, clock) before each test."""
    _shared_emulator.reset()
    return _shared_emulator


@pytest.fixture
def client(emulator: LiveEmulator) -> genai.Client:
    """A real google-genai client talking HTTP to the emulator."""
    return emulator.client()


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Start a private emulator with other settings (strictness, limits, latency...)."""
    started: list[LiveEmulator] = []

    def factory(**overrides: Any) -> LiveEmulator:
        server = live_emulator.start(**overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def gemini(emulator: LiveEmulator, settings: Any) -> LiveEmulator:
    """Point the studio at the shared emulator (fast retries), for tests that generate."""
    settings.GEMINI_BASE_URL = emulator.url
    settings.GEMINI_API_KEY = ""
    settings.STUDIO_RETRY_BASE_S = 0.01
    settings.STUDIO_RETRY_MAX_S = 0.05
    return emulator


@pytest.fixture(autouse=True)
def _redis_layer_per_test() -> Iterator[None]:
    """Each test runs its own event loops. channels_redis keeps per-channel asyncio locks on its
    layer object, released by a cleaner task; a test whose loop ends before that task runs leaves
    the lock held and bound to a dead loop, and the next test's receive fails on it ("bound to a
    different event loop"). One process has one loop in production, so only tests need this: a
    fresh layer object per test (the messages are in Redis, shared by every object)."""
    yield
    if "redis" in str(django_settings.CHANNEL_LAYERS["default"]["BACKEND"]):
        channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Images written by a test go to a private folder, never the developer's var/media."""
    if "settings" in request.fixturenames or request.node.get_closest_marker("django_db"):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": settings.MEDIA_ROOT},
            },
        }


@pytest.fixture(autouse=True)
def _private_cache(settings: Any) -> None:
    """Each test counts throttles afresh: the cache (Redis in CI's second run) outlives tests and runs."""
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"} for alias, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _catalogue_seeded(request: pytest.FixtureRequest) -> None:
    """The migration seeds the model catalogue; transactional tests flush every table afterwards, so
    the next test gets the same seed back."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    from studio.billing.models import PriceVersion
    from studio.catalogue.models import GeminiModel
    from studio.catalogue.seed import seed_catalogue

    if not GeminiModel.objects.exists():
        seed_catalogue(GeminiModel, PriceVersion)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The pipeline's DB calls run in a thread pool whose threads keep their connections; close them
    before pytest-django drops the test database (PostgreSQL refuses while sessions remain)."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
