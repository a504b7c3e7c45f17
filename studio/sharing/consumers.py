"""The share page's socket: read-only, on the conversation's group with the same partials as the
team's page (without controls, and only what the link shows). A revoked or expired link closes it,
after telling the page."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from django.template.loader import render_to_string
from django.utils import timezone

from studio.chat.fragments import BranchView
from studio.realtime.consumers import BranchEvents
from studio.realtime.events import conversation_group

from . import selectors
from .models import ShareLink
from .views import SESSION_KEY, ShareView

GONE = 4410


def _closed_notice(state: str) -> str:
    return render_to_string("sharing/shared.html#share-state", {"state": state, "oob": True})


class ShareConsumer(BranchEvents):
    groups_joined: tuple[str, ...] = ()
    link: ShareLink | None = None
    expiry: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        await self.accept()
        token = str(self.scope["url_route"]["kwargs"]["token"])
        link = await database_sync_to_async(selectors.link_by_token)(token)
        session = self.scope.get("session") or {}
        if link is None or (link.has_password and not session.get(SESSION_KEY.format(link.pk))):
            await self.close(code=4403)
            return
        if link.state != "live":
            await self._end(link.state)
            return
        self.link = link
        self.groups_joined = (conversation_group(link.conversation_id), link.group_name)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.view = await database_sync_to_async(BranchView)(
            conversation=link.conversation,
            leaf_id=link.leaf_turn_id,
            can_write=False,
            share=ShareView(token=token, link=link),
            since=self.page_rendered_at(),
        )
        await self.send(text_data=await database_sync_to_async(self.view.snapshot)())
        if link.expires_at is not None:
            delay = max(0.0, (link.expires_at - timezone.now()).total_seconds())
            self.expiry = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self._end("expired"))
            )

    async def _end(self, state: str) -> None:
        with contextlib.suppress(Exception):  # the socket may already be closing
            await self.send(text_data=_closed_notice(state))
        await self.close(code=GONE)

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def share_revoked(self, event: dict[str, Any]) -> None:
        await self._end("revoked")
