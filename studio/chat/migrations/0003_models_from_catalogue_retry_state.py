"""Models come from the catalogue: projects may pick one, turns say when they ran on a replacement,
and the admin's model choice moves from StudioSettings to the catalogue's default flag. Responses
keep their retry state (why they wait, until when)."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def default_from_studio_settings(apps: Any, schema_editor: Any) -> None:
    StudioSettings = apps.get_model("chat", "StudioSettings")
    GeminiModel = apps.get_model("catalogue", "GeminiModel")
    row = StudioSettings.objects.exclude(model_id="").first()
    if row is not None:
        GeminiModel.objects.filter(model_id=row.model_id).update(is_default=True, enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_seed_models"),
        ("chat", "0002_references_branches_files"),
    ]

    operations = [
        migrations.RunPython(default_from_studio_settings, migrations.RunPython.noop),
        migrations.DeleteModel(
            name="StudioSettings",
        ),
        migrations.AddField(
            model_name="project",
            name="model",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: the studio's default model.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="projects",
                to="catalogue.geminimodel",
            ),
        ),
        migrations.AddField(
            model_name="response",
            name="retry_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="response",
            name="retry_note",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AddField(
            model_name="response",
            name="retry_number",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="turn",
            name="model_note",
            field=models.CharField(blank=True, help_text="Why it ran on another model than chosen.", max_length=300),
        ),
    ]
