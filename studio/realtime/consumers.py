"""The conversation socket: authenticate, check membership, join the group, send a snapshot from the
database, then forward events as out-of-band fragments. Failures accept, then close with 4401/4403,
so the browser's htmx does not retry forever."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from studio.chat.fragments import event_html, snapshot_html
from studio.chat.selectors import conversation_for_member

from .events import conversation_group

UNAUTHENTICATED = 4401
FORBIDDEN = 4403


class ConversationConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    group: str = ""
    conversation_id: int = 0
    can_write: bool = False

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
        self.can_write = membership.can_write
        self.conversation_id = conversation_id
        self.group = conversation_group(conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # The snapshot is read after joining the group, so nothing in between is missed.
        snapshot = await database_sync_to_async(snapshot_html)(conversation=conversation, membership=membership)
        await self.send(text_data=snapshot)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Browsers only listen; writes go through HTTP with CSRF protection."""

    async def studio_event(self, event: dict[str, Any]) -> None:
        html = await database_sync_to_async(event_html)(
            event, conversation_id=self.conversation_id, can_write=self.can_write
        )
        if html:
            await self.send(text_data=html)
