"""Writes for share links: create (within the team's policy), revoke (open pages close at once),
count a view. Each ends in the audit log or an event sent on commit."""

from __future__ import annotations

import datetime as dt

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from studio.accounts.models import Membership, SharePolicy, User, new_token
from studio.accounts.services import audit
from studio.chat import fragments
from studio.chat.models import FINISHED, Conversation, Project, Response, Turn
from studio.chat.selectors import is_archived

from .models import ShareLink

EXPIRY_DAYS = {"1": 1, "7": 7, "30": 30, "never": None}
MIN_PASSWORD = 8


class ShareError(ValueError):
    """A share link we refuse to make or change, in words for the person."""


@transaction.atomic
def share_link_create(
    *,
    conversation: Conversation,
    membership: Membership,
    leaf: Turn | None,
    expiry: str,
    show_prompts: bool,
    show_thoughts: bool,
    allow_downloads: bool,
    password: str = "",
    ip: str | None = None,
) -> tuple[ShareLink, str]:
    """Returns the link and its secret token (shown once, never stored)."""
    if not membership.can_write:
        raise ShareError("Viewers cannot share conversations.")
    if is_archived(conversation):
        raise ShareError("Restore the conversation before sharing it.")
    policy = membership.team.share_links
    if policy == SharePolicy.OFF:
        raise ShareError(f"{membership.team.name} does not allow share links. Its admins can change that.")
    if policy == SharePolicy.PASSWORD and not password:
        raise ShareError(f"{membership.team.name} allows share links only with a password. Set one.")
    if password and len(password) < MIN_PASSWORD:
        raise ShareError(f"A link password needs at least {MIN_PASSWORD} characters.")
    if expiry not in EXPIRY_DAYS:
        raise ShareError("Choose when the link expires: 1, 7 or 30 days, or never.")
    if leaf is not None and leaf.conversation_id != conversation.pk:
        raise ShareError("That branch belongs to another conversation.")
    days = EXPIRY_DAYS[expiry]
    token, digest = new_token()
    link = ShareLink.objects.create(
        conversation=conversation,
        leaf_turn=leaf,
        token_hash=digest,
        created_by=membership.user,
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        show_prompts=show_prompts,
        show_thoughts=show_thoughts,
        allow_downloads=allow_downloads,
        password_hash=make_password(password) if password else "",
    )
    audit(
        team=membership.team,
        actor=membership.user,
        action="share_link.created",
        target=conversation.title,
        ip=ip,
        expires=expiry,
        password=bool(password),
    )
    return link, token


def _close_open_pages(link_id: int) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(f"share.{link_id}", {"type": "share.revoked"})


@transaction.atomic
def share_link_revoke(*, link: ShareLink, membership: Membership, ip: str | None = None) -> ShareLink:
    """The link's creator, or the team's admins and owners."""
    if not (membership.can_manage or link.created_by_id == membership.user_id):
        raise ShareError("Only the link's creator or the team's admins can revoke it.")
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit(
            team=membership.team,
            actor=membership.user,
            action="share_link.revoked",
            target=link.conversation.title,
            ip=ip,
        )
        transaction.on_commit(lambda: _close_open_pages(link.pk))
    return link


def share_link_viewed(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_access_at=timezone.now())


@transaction.atomic
def team_set_share_policy(*, membership: Membership, policy: str, ip: str | None = None) -> None:
    if not membership.can_manage:
        raise ShareError("Only the team's admins and owners set the link policy.")
    if policy not in SharePolicy.values:
        raise ShareError("Unknown link policy.")
    team = membership.team
    before, team.share_links = team.share_links, policy
    team.save(update_fields=["share_links"])
    audit(
        team=team,
        actor=membership.user,
        action="share_policy.changed",
        target=team.name,
        ip=ip,
        before=before,
        after=policy,
    )


def _copy_images(source: Response, target: Response, *, with_drafts: bool) -> dict[int, int]:
    """Copy a response's image rows (sharing the stored files) and return old id -> new id."""
    mapping: dict[int, int] = {}
    for image in source.images.all():
        if image.is_thought and not with_drafts:
            continue
        old = image.pk
        image.pk = None
        image.response = target
        image.files_api_uri, image.files_api_backend, image.files_api_expires_at = "", "", None
        image.save()
        mapping[old] = image.pk
    return mapping


def _copied_parts(
    parts: list[dict[str, object]], images: dict[int, int], *, with_thoughts: bool
) -> list[dict[str, object]]:
    copied = []
    for part in parts:
        if part.get("thought") and not with_thoughts:
            continue
        if "image" in part:
            new_id = images.get(int(str(part["image"])))
            if new_id is None:
                continue
            part = {**part, "image": new_id}
        copied.append(part)
    return copied


@transaction.atomic
def share_link_copy(
    *, link: ShareLink, project: Project, membership: Membership, user: User, ip: str | None = None
) -> Conversation:
    """Continue a shared branch as a copy in one of the visitor's projects: its turns, finished
    responses with their parts and signatures as received (so editing goes on), and images sharing
    the stored files. Only what the link shows is copied: no prompts, no copy."""
    if link.state != "live":
        raise ShareError("This link no longer works.")
    if not link.show_prompts:
        raise ShareError("This link does not share the prompts, so the conversation cannot be continued from it.")
    if not membership.can_write or project.team_id != membership.team_id:
        raise ShareError("Pick a project of a team where you can create.")
    if project.archived_at is not None:
        raise ShareError("That project is archived. Pick another.")
    steps = fragments.branch(conversation=link.conversation, leaf_id=link.leaf_turn_id)
    copy = Conversation.objects.create(project=project, created_by=user, title=f"{link.conversation.title}"[:200])
    turns: dict[int, Turn] = {}
    responses: dict[int, Response] = {}
    for step in steps:
        source_turn = step.turn
        turn = Turn.objects.create(
            conversation=copy,
            parent_turn=turns.get(source_turn.parent_turn_id or 0),
            parent_response=responses.get(source_turn.parent_response_id or 0),
            author=user,
            prompt=source_turn.prompt,
            settings=source_turn.settings,
            model_id=source_turn.model_id,
            model_note=source_turn.model_note,
        )
        turns[source_turn.pk] = turn
        for reference in source_turn.references.all():
            reference.pk, reference.turn, reference.source_version = None, turn, None
            reference.files_api_uri, reference.files_api_backend, reference.files_api_expires_at = "", "", None
            reference.save()
        for source in source_turn.responses.all():
            if source.status not in FINISHED:
                continue
            response = Response.objects.create(
                turn=turn,
                index=source.index,
                seed=source.seed,
                status=source.status,
                error_code=source.error_code,
                error_message=source.error_message,
                finish_reason=source.finish_reason,
                thoughts_text=source.thoughts_text if link.show_thoughts else "",
                text=source.text,
                usage=source.usage,
                grounding=source.grounding,
                model_version=source.model_version,
                finished_at=source.finished_at,
            )  # cost stays with the team that paid for the original
            images = _copy_images(source, response, with_drafts=link.show_thoughts)
            response.parts = _copied_parts(source.parts, images, with_thoughts=link.show_thoughts)
            response.save(update_fields=["parts"])
            responses[source.pk] = response
    audit(team=membership.team, actor=user, action="share_link.copied", target=link.conversation.title, ip=ip)
    return copy
