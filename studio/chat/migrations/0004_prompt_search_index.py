"""Full-text search over prompts in scaled mode: a GIN index on the expression `chat.search`
queries. SQLite has no such index; the embedded studio searches its few prompts by scanning."""

from typing import Any

from django.db import migrations

INDEX = "chat_turn_prompt_fts"


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON chat_turn "
            "USING gin (to_tsvector('english'::regconfig, COALESCE(prompt, '')))"
        )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("chat", "0003_models_from_catalogue_retry_state")]

    operations = [migrations.RunPython(create_index, drop_index)]
