"""The conversation socket: authenticate, check membership, join the group, send a snapshot from the
database, then forward events as out-of-band fragments. Failures accept, then close with 4401/4403,
so the browser's htmx does not retry forever."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from studio.chat.fragments import BranchView
from studio.chat.ids import parse_id
from studio.chat.selectors import conversation_for_member, is_archived

from .events import conversation_group

UNAUTHENTICATED = 4401
FORBIDDEN = 4403


def rendered_at(value: str) -> datetime | None:
    """The page's render time, sent as milliseconds since the epoch (None when absent or malformed)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 15):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class BranchEvents(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    """Forwards the group's studio events as fragments of the branch its `view` shows; takes no input."""

    view: BranchView | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Browsers only listen; writes go through HTTP with CSRF protection."""

    def page_rendered_at(self) -> datetime | None:
        """When the page opening this socket was rendered (its `since`), so the snapshot can leave out
        what the page already shows."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        return rendered_at(query.get("since", [""])[0])

    async def studio_event(self, event: dict[str, Any]) -> None:
        if self.view is None:
            return
        html = await database_sync_to_async(self.view.event)(event)
        if html:
            await self.send(text_data=html)


class ConversationConsumer(BranchEvents):
    group: str = ""

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        try:
            conversation, membership = await database_sync_to_async(conversation_for_member)(
                user=user, conversation_id=conversation_id
            )
        except Http404:
            await self.close(code=FORBIDDEN)
            return
        self.group = conversation_group(conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # The snapshot is read after joining the group, so nothing in between is missed.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        leaf = query.get("leaf", [""])[0]
        self.view = await database_sync_to_async(BranchView)(
            conversation=conversation,
            leaf_id=parse_id(leaf),
            can_write=membership.can_write and not is_archived(conversation),
            since=self.page_rendered_at(),
        )
        await self.send(text_data=await database_sync_to_async(self.view.snapshot)())

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
