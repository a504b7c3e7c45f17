"""Writes: validation with clear messages, one transaction, nothing half-written."""

from __future__ import annotations

import pytest

from studio.accounts.models import Role
from studio.catalogue.models import GeminiModel
from studio.catalogue.services import catalogue_set_default
from studio.chat import services
from studio.chat.models import Conversation, Project, Response, ResponseStatus, Turn
from studio.chat.options import GenerationOptions, InvalidOptions
from tests.studio_world import join, make_conversation, make_project, make_user, personal_membership, submit

pytestmark = pytest.mark.django_db


def test_turn_submit_creates_the_turn_and_one_queued_response_per_image() -> None:
    user = make_user("amy")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "  a lighthouse  ", count=3, aspect_ratio="9:16", grounding=True)
    assert turn.prompt == "a lighthouse"
    assert [(r.index, r.status) for r in turn.responses.order_by("index")] == [
        (0, ResponseStatus.QUEUED),
        (1, ResponseStatus.QUEUED),
        (2, ResponseStatus.QUEUED),
    ]
    assert turn.options == GenerationOptions(aspect_ratio="9:16", count=3, grounding=True)
    assert turn.model_id == "gemini-3-pro-image"
    conversation.refresh_from_db()
    assert conversation.title == "a lighthouse", "the first prompt names the conversation"


def test_new_conversations_and_turns_count_as_project_activity() -> None:
    user = make_user("ava")
    older = make_project(user, "older")
    make_project(user, "newer")
    stamp = Project.objects.get(pk=older.pk).updated_at
    conversation = make_conversation(user, older)
    after_create = Project.objects.get(pk=older.pk).updated_at
    assert after_create > stamp
    submit(conversation, user, "a lighthouse")
    assert Project.objects.get(pk=older.pk).updated_at > after_create
    assert list(Project.objects.order_by("-updated_at").values_list("name", flat=True)) == ["older", "newer"]


def test_the_default_model_is_the_ga_id_and_admins_can_change_it() -> None:
    user = make_user("ali")
    conversation = make_conversation(user)
    assert submit(conversation, user, "x").model_id == "gemini-3-pro-image"
    catalogue_set_default(model=GeminiModel.objects.get(model_id="gemini-3.1-flash-image"))
    assert submit(conversation, user, "y").model_id == "gemini-3.1-flash-image"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("", "Write a prompt first"), ("   \n ", "Write a prompt first"), ("x" * 8001, "the limit is 8000")],
)
def test_bad_prompts_are_refused_and_nothing_is_written(prompt: str, message: str) -> None:
    user = make_user("bea")
    conversation = make_conversation(user)
    with pytest.raises(services.ChatError, match=message):
        submit(conversation, user, prompt)
    assert not Turn.objects.exists() and not Response.objects.exists()


def test_options_are_validated() -> None:
    with pytest.raises(InvalidOptions, match="1 to 4"):
        GenerationOptions(count=5)
    with pytest.raises(InvalidOptions, match="Aspect ratio"):
        GenerationOptions(aspect_ratio="wide")  # shape only: what a model supports is the catalogue's to say
    with pytest.raises(InvalidOptions, match="Image size"):
        GenerationOptions(image_size="huge")
    with pytest.raises(InvalidOptions, match="between 0 and 5"):
        GenerationOptions(retries=6)
    with pytest.raises(InvalidOptions, match="whole numbers"):
        GenerationOptions.from_dict({"count": "many"})
    assert GenerationOptions.from_dict({"count": "2", "grounding": "on", "unknown": 1}) == GenerationOptions(
        count=2, grounding=True
    )


def test_parent_must_belong_to_the_conversation_and_be_finished() -> None:
    user = make_user("cal")
    conversation, other = make_conversation(user), make_conversation(user)
    foreign = submit(other, user, "elsewhere").responses.get()
    with pytest.raises(services.ChatError, match="only continue from an image of this conversation"):
        submit(conversation, user, "edit", parent=foreign)
    unfinished = submit(conversation, user, "first").responses.get()
    with pytest.raises(services.ChatError, match="did not finish"):
        submit(conversation, user, "edit", parent=unfinished)
    assert Turn.objects.filter(conversation=conversation).count() == 1


def test_viewers_cannot_write() -> None:
    owner, viewer = make_user("dot"), make_user("vin")
    team = personal_membership(owner).team
    membership = join(team, viewer, Role.VIEWER)
    project = make_project(owner)
    with pytest.raises(services.ChatError, match="Viewers"):
        services.project_create(team=team, membership=membership, user=viewer, name="x")
    with pytest.raises(services.ChatError, match="Viewers"):
        services.conversation_create(project=project, membership=membership, user=viewer)
    conversation = make_conversation(owner, project)
    with pytest.raises(services.ChatError, match="Viewers"):
        services.turn_submit(
            conversation=conversation, membership=membership, user=viewer, prompt="x", options=GenerationOptions()
        )


def test_project_lifecycle() -> None:
    user = make_user("eva")
    membership = personal_membership(user)
    with pytest.raises(services.ChatError, match="name"):
        services.project_create(team=membership.team, membership=membership, user=user, name="  ")
    project = make_project(user, "Brand", image_size="2K")
    assert project.options.image_size == "2K"
    services.project_update(
        project=project,
        membership=membership,
        name="Brand 2026",
        system_instruction=" Flat colours. ",
        options=GenerationOptions(count=2),
    )
    project.refresh_from_db()
    assert (project.name, project.system_instruction, project.options.count) == ("Brand 2026", "Flat colours.", 2)
    services.project_archive(project=project, membership=membership)
    assert Project.objects.get(pk=project.pk).archived_at is not None


def test_conversation_rename_and_archive() -> None:
    user = make_user("fox")
    conversation = make_conversation(user)
    membership = personal_membership(user)
    with pytest.raises(services.ChatError):
        services.conversation_rename(conversation=conversation, membership=membership, title=" ")
    services.conversation_rename(conversation=conversation, membership=membership, title="Launch")
    services.conversation_archive(conversation=conversation, membership=membership)
    assert Conversation.objects.get(pk=conversation.pk).title == "Launch"
    assert Conversation.objects.get(pk=conversation.pk).archived_at is not None
