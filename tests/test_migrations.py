"""Migrations are committed: the models and the migration files describe the same schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_need_no_migration_that_is_not_committed() -> None:
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit_:  # --check exits non-zero when a migration is missing
        pytest.fail(f"a model change has no migration (makemigrations exited {exit_.code}); run makemigrations")
