"""Marks shared by tests that need a real service."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from django.db import connection


def postgres_only[Test: Callable[..., object]](test: Test) -> Test:
    """Runs on PostgreSQL only (CI's second run), and says so loudly when skipped elsewhere."""
    skip = pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SKIPPED LOUDLY: needs DATABASE_URL=PostgreSQL (CI's second run)"
    )
    return cast(Test, pytest.mark.postgres(skip(test)))
