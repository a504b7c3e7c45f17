"""Build test data through the real services, and run queued work through the real pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from django.core.files.storage import default_storage

from studio.accounts.models import Membership, Role, Team, User
from studio.accounts.services import team_add_member, user_sign_up
from studio.billing.models import Quota
from studio.chat import services
from studio.chat.imagestore import response_folder
from studio.chat.models import Conversation, Project, Response, Turn
from studio.chat.options import GenerationOptions
from studio.chat.references import ReferenceInput
from studio.generation import records
from studio.generation.assembly import build_pipeline
from studio.generation.pipeline import Pipeline, db

PASSWORD = "correct horse battery staple"


def make_user(name: str) -> User:
    return user_sign_up(username=name, email=f"{name}@example.com", password=PASSWORD)


def personal_membership(user: User) -> Membership:
    return Membership.objects.select_related("team").get(user=user, team__is_personal=True)


def make_project(user: User, name: str = "Posters", **options: Any) -> Project:
    membership = personal_membership(user)
    return services.project_create(
        team=membership.team, membership=membership, user=user, name=name, options=GenerationOptions(**options)
    )


def make_conversation(user: User, project: Project | None = None) -> Conversation:
    project = project or make_project(user)
    membership = Membership.objects.get(user=user, team=project.team)
    return services.conversation_create(project=project, membership=membership, user=user)


def submit(
    conversation: Conversation,
    user: User,
    prompt: str,
    parent: Response | None = None,
    references: Sequence[ReferenceInput] = (),
    **options: Any,
) -> Turn:
    membership = Membership.objects.get(user=user, team=conversation.project.team)
    return services.turn_submit(
        conversation=conversation,
        membership=membership,
        user=user,
        prompt=prompt,
        options=GenerationOptions(**options),
        parent_response=parent,
        references=references,
    )


def join(team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    return team_add_member(team=team, user=user, role=role)


async def run_queued(worker_id: str = "test-worker", pipeline: Pipeline | None = None) -> list[int]:
    """Claim everything queued and run it concurrently, as one runner would."""
    pipeline = pipeline or build_pipeline(worker_id)
    worker_id = pipeline.worker_id
    ids = await db(records.response_claim)(worker_id=worker_id, limit=100, lease_seconds=60)
    await asyncio.gather(*(pipeline.run(response_id) for response_id in ids))
    return ids


def run_all(pipeline: Pipeline | None = None) -> list[int]:
    return asyncio.run(run_queued(pipeline=pipeline))


def response_files(conversation_id: int, response_id: int) -> list[str]:
    """The files stored for a response's images (the pipeline's storage folder for it)."""
    folder = response_folder(conversation_id, response_id)
    return default_storage.listdir(folder)[1] if default_storage.exists(folder) else []


def grow(conversation: Conversation, user: User, turns: int, images: int = 1, prompt: str = "step") -> list[Turn]:
    """A long conversation: `turns` turns of `images` images each, every one generated (the team's
    spend limit lifted, as hundreds of images would pass it)."""
    Quota.objects.filter(team=conversation.project.team).update(spend_limit_usd=None)
    made = [submit(conversation, user, f"{prompt} {n}: a harbour poster, take {n}", count=images) for n in range(turns)]

    async def drain() -> None:
        while await run_queued():
            pass

    asyncio.run(drain())
    return made
