"""Seed the catalogue (see studio/catalogue/seed.py for the figures and where they come from)."""

from typing import Any

from django.db import migrations

from studio.catalogue.seed import seed_catalogue


def seed(apps: Any, schema_editor: Any) -> None:
    seed_catalogue(apps.get_model("catalogue", "GeminiModel"), price_columns=True)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
