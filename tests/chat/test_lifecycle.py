"""Archive (confirmed, undoable, read-only, restorable) and delete (admins, typed, files gone)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from studio.accounts.models import AuditEvent, Role
from studio.accounts.services import team_add_member
from studio.chat import services
from studio.chat.models import Conversation, ImageVersion, Project, Response, Turn
from studio.chat.references import ReferenceInput
from tests.chat.test_views import COMPOSER
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_conversation, make_user, personal_membership, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_archive_asks_offers_undo_and_the_archived_conversation_is_read_only() -> None:
    user = make_user("ann")
    conversation = make_conversation(user)
    submit(conversation, user, "a lighthouse")
    client = client_for(user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'data-confirm="Archive this conversation?' in page
    listing = client.post(f"/c/{conversation.pk}/archive", follow=True).content.decode()
    assert "Archived “a lighthouse”." in listing and ">Undo</button>" in listing
    assert "Archived conversations (1)" in listing
    shown = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "read-only until restored" in shown and 'id="composer"' not in shown
    refused = client.post(f"/c/{conversation.pk}/turns", {**COMPOSER, "prompt": "more"})
    assert (
        refused.status_code == 422
        and "This conversation is archived. Restore it to continue." in refused.content.decode()
    )
    assert Turn.objects.count() == 1
    with pytest.raises(services.ChatError, match="archived"):
        services.response_regenerate(response=Response.objects.get(), membership=personal_membership(user))
    undone = client.post(f"/c/{conversation.pk}/restore", {"action": "restore"}, follow=True).content.decode()
    assert "Restored “a lighthouse”." in undone and 'id="composer"' in undone
    assert Conversation.objects.get().archived_at is None


def test_an_archived_project_lists_restores_and_refuses_changes() -> None:
    user = make_user("ben")
    conversation = make_conversation(user)
    project = conversation.project
    client = client_for(user)
    home = client.post(f"/p/{project.pk}/", {"action": "archive"}, follow=True).content.decode()
    assert f"Archived “{project.name}”." in home and "Archived projects (1)" in home
    with pytest.raises(services.ChatError, match="is archived"):
        submit(Conversation.objects.get(pk=conversation.pk), user, "x")
    page = client.get(f"/p/{project.pk}/").content.decode()
    assert "read-only until restored" in page and 'value="new-conversation"' not in page
    client.post(f"/p/{project.pk}/", {"action": "restore"})
    assert Project.objects.get().archived_at is None
    assert submit(Conversation.objects.get(pk=conversation.pk), user, "x").pk


def test_only_admins_delete_and_only_with_the_title_typed(gemini: LiveEmulator) -> None:
    owner = make_user("cal")
    conversation = make_conversation(owner)
    team = conversation.project.team
    member = make_user("dee")
    team_add_member(team=team, user=member, role=Role.MEMBER)
    submit(conversation, owner, "a red barn")
    run_all()
    answer = client_for(member).post(f"/c/{conversation.pk}/delete", {"confirm": "a red barn"}, follow=True)
    assert "Only the team&#x27;s admins and owners can delete." in answer.content.decode()
    wrong = client_for(owner).post(f"/c/{conversation.pk}/delete", {"confirm": "a red"}, follow=True)
    assert "type the conversation&#x27;s title exactly" in wrong.content.decode()
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_deleting_removes_rows_and_files_but_keeps_files_other_rows_share(gemini: LiveEmulator) -> None:
    user = make_user("eve")
    doomed = make_conversation(user)
    submit(doomed, user, "a red barn")
    run_all()
    image = ImageVersion.objects.get(is_thought=False)
    kept = make_conversation(user, doomed.project)
    submit(kept, user, "in this style", references=[ReferenceInput(role="style", version=image)])  # shares the file
    edit = submit(doomed, user, "make it blue", parent=image.response)
    run_all()
    doomed_files = {
        key
        for row in ImageVersion.objects.filter(response__turn__conversation=doomed).values_list(
            "storage_key", "thumbnail_key", "rendition_key"
        )
        for key in row
        if key
    }
    assert doomed_files and all(default_storage.exists(key) for key in doomed_files)
    client_for(user).post(f"/c/{doomed.pk}/delete", {"confirm": "a red barn"})
    assert not Conversation.objects.filter(pk=doomed.pk).exists()
    assert not Turn.objects.filter(pk=edit.pk).exists() and not ImageVersion.objects.filter(pk=image.pk).exists()
    shared = {image.storage_key, image.thumbnail_key}
    assert all(default_storage.exists(key) for key in shared), "the other conversation's reference uses them"
    assert not any(default_storage.exists(key) for key in doomed_files - shared)
    assert AuditEvent.objects.filter(action="conversation.deleted", target="a red barn").exists()


def test_deleting_a_project_takes_its_conversations(gemini: LiveEmulator) -> None:
    user = make_user("fin")
    conversation = make_conversation(user)
    submit(conversation, user, "a lighthouse")
    run_all()
    keys = list(ImageVersion.objects.values_list("storage_key", flat=True))
    project = conversation.project
    client_for(user).post(f"/p/{project.pk}/", {"action": "delete", "confirm": project.name})
    assert not Project.objects.exists() and not Conversation.objects.exists() and not ImageVersion.objects.exists()
    assert keys and not any(default_storage.exists(key) for key in keys)
