"""Before "New conversation" reused the person's empty conversation, each click left one behind.
Remove those leftovers: conversations with no turn, no share link and the default title, keeping
each person's newest one per project (the one the button now reopens)."""

from typing import Any

from django.db import migrations

DEFAULT_TITLE = "New conversation"


def remove_leftovers(apps: Any, schema_editor: Any) -> None:
    Conversation = apps.get_model("chat", "Conversation")
    empty = Conversation.objects.filter(
        turns__isnull=True, share_links__isnull=True, title=DEFAULT_TITLE, archived_at__isnull=True
    ).order_by("project_id", "created_by_id", "-created_at", "-pk")
    kept: set[tuple[int, int | None]] = set()
    leftovers = []
    for conversation in empty.only("pk", "project_id", "created_by_id"):
        owner = (conversation.project_id, conversation.created_by_id)
        if owner in kept:
            leftovers.append(conversation.pk)
        else:
            kept.add(owner)
    Conversation.objects.filter(pk__in=leftovers).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_prompt_search_index"),
        ("sharing", "0001_initial"),
    ]

    operations = [migrations.RunPython(remove_leftovers, migrations.RunPython.noop)]
