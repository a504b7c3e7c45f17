"""Reads shaped for the pages, with team isolation built in: every lookup goes through membership."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from studio.accounts.models import Membership, User

from .models import Conversation, ImageVersion, Project, Reference, Response, Turn


def _newest(images: QuerySet[ImageVersion]) -> Subquery:
    return Subquery(images.order_by("-created_at", "-pk").values("pk")[:1])


def projects_for_user(*, user: User) -> QuerySet[Project]:
    """Newest first, each with `cover_image_id`: the newest final image of its open conversations."""
    covers = ImageVersion.objects.finished().filter(
        response__turn__conversation__project=OuterRef("pk"), response__turn__conversation__archived_at__isnull=True
    )
    return (
        Project.objects.filter(team__memberships__user=user, archived_at__isnull=True)
        .select_related("team")
        .annotate(cover_image_id=_newest(covers))
        .order_by("-updated_at")
    )


def project_for_member(*, user: User, project_id: int) -> tuple[Project, Membership]:
    project = Project.objects.filter(pk=project_id).select_related("team").first()
    membership = (
        Membership.objects.filter(user=user, team_id=project.team_id).first()
        if project and user.is_authenticated
        else None
    )
    if project is None or membership is None:
        raise Http404("No such project")  # the same answer for "missing" and "not yours"
    return project, membership


def conversations_for_project(*, project: Project, viewer: User) -> QuerySet[Conversation]:
    """Newest first, each with `cover_image_id` (its newest final image) and `image_count`. Someone
    else's conversation that has no turn yet is their draft, not shown to the team."""
    finals = ImageVersion.objects.finished().filter(response__turn__conversation=OuterRef("pk"))
    counted = finals.order_by().values("response__turn__conversation").annotate(n=Count("pk")).values("n")
    started = Exists(Turn.objects.filter(conversation=OuterRef("pk")))
    return (
        project.conversations.filter(archived_at__isnull=True)
        .filter(started | Q(created_by=viewer))
        .annotate(
            cover_image_id=_newest(finals),
            image_count=Coalesce(Subquery(counted[:1], output_field=IntegerField()), 0),
        )
        .order_by("-updated_at")
    )


def is_archived(conversation: Conversation) -> bool:
    """Archived itself or in an archived project: read-only until restored."""
    return conversation.archived_at is not None or conversation.project.archived_at is not None


def archived_projects_for_user(*, user: User, team_id: int | None = None) -> QuerySet[Project]:
    projects = Project.objects.filter(team__memberships__user=user, archived_at__isnull=False).select_related("team")
    return (projects.filter(team_id=team_id) if team_id is not None else projects).order_by("-archived_at")


def archived_conversations(*, project: Project) -> QuerySet[Conversation]:
    return project.conversations.filter(archived_at__isnull=False).order_by("-archived_at")


def conversation_for_member(*, user: User, conversation_id: int) -> tuple[Conversation, Membership]:
    conversation = Conversation.objects.filter(pk=conversation_id).select_related("project__team").first()
    membership = (
        Membership.objects.filter(user=user, team_id=conversation.project.team_id).first()
        if conversation and user.is_authenticated
        else None
    )
    if conversation is None or membership is None:
        raise Http404("No such conversation")
    return conversation, membership


def _responses_with_images() -> Any:
    return Prefetch(
        "responses",
        queryset=Response.objects.order_by("index").prefetch_related(
            Prefetch("images", queryset=ImageVersion.objects.order_by("part_index"))
        ),
    )


def tree_turns(*, conversation: Conversation) -> list[Turn]:
    """Every turn of a conversation with only what the tree needs (links and order): one query, and
    small whatever the conversation's length."""
    return list(
        Turn.objects.filter(conversation=conversation).only("pk", "conversation_id", "parent_turn_id", "created_at")
    )


def turns_to_show(*, turn_ids: set[int]) -> dict[int, Turn]:
    """The turns a page renders, with everything their partials read, in a fixed number of queries."""
    turns = (
        Turn.objects.filter(pk__in=turn_ids)
        .select_related("author", "parent_response__turn")
        .prefetch_related(
            _responses_with_images(), Prefetch("references", queryset=Reference.objects.order_by("position"))
        )
    )
    return {turn.pk: turn for turn in turns}


def response_with_images(*, response_id: int) -> Response | None:
    return (
        Response.objects.filter(pk=response_id)
        .select_related("turn")
        .prefetch_related(Prefetch("images", queryset=ImageVersion.objects.order_by("part_index")))
        .first()
    )


def _require_member(user: User, team_id: int | None, what: str) -> None:
    """Other teams' rows answer exactly like missing ones."""
    if (
        team_id is None
        or not user.is_authenticated
        or not Membership.objects.filter(user=user, team_id=team_id).exists()
    ):
        raise Http404(f"No such {what}")


def image_for_member(*, user: User, image_id: int) -> ImageVersion:
    image = ImageVersion.objects.filter(pk=image_id).select_related("response__turn__conversation__project").first()
    _require_member(user, image.response.turn.conversation.project.team_id if image else None, "image")
    assert image is not None
    return image


def response_for_member(*, user: User, response_id: int) -> Response:
    response = Response.objects.filter(pk=response_id).select_related("turn__conversation__project").first()
    _require_member(user, response.turn.conversation.project.team_id if response else None, "response")
    assert response is not None
    return response


def project_versions(*, project_id: int, limit: int = 24) -> list[ImageVersion]:
    """Recent final images of a project, for picking earlier versions as references."""
    return list(
        ImageVersion.objects.finished()
        .filter(response__turn__conversation__project_id=project_id)
        .select_related("response__turn")
        .order_by("-created_at")[:limit]
    )


def version_for_member(*, user: User, image_id: int) -> ImageVersion:
    image = image_for_member(user=user, image_id=image_id)
    if image.is_thought:
        raise Http404("Drafts cannot be referenced")
    return image


def reference_for_member(*, user: User, reference_id: int) -> Reference:
    reference = Reference.objects.filter(pk=reference_id).select_related("turn__conversation__project").first()
    _require_member(user, reference.turn.conversation.project.team_id if reference else None, "reference")
    assert reference is not None
    return reference
