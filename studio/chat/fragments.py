"""Render the conversation page's named partials. The page and the websocket both call these, so
what a reload shows and what the socket streams cannot drift apart."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from studio.accounts.models import Membership

from .models import Conversation, Response, Turn
from .selectors import conversation_turns, response_with_images, turn_with_responses

PAGE = "chat/conversation.html"


def _render(partial: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{PAGE}#{partial}", context)


def snapshot_html(*, conversation: Conversation, membership: Membership | None) -> str:
    """Everything the conversation shows now, swapped over whatever the page had."""
    context = {
        "conversation": conversation,
        "turns": conversation_turns(conversation=conversation),
        "can_write": bool(membership and membership.can_write),
        "oob": True,
    }
    return _render("turn-list", context)


def turn_html(*, turn: Turn, can_write: bool, append: bool) -> str:
    html = _render("turn", {"turn": turn, "can_write": can_write, "oob": False})
    if append:  # appended to the list; the page's script replaces it instead if it is already shown
        return f'<div hx-swap-oob="beforeend:#turns">{html}</div>'
    return html


def title_html(*, conversation: Conversation) -> str:
    return _render("title", {"conversation": conversation, "oob": True})


def response_html(*, response: Response, can_write: bool) -> str:
    return _render("response", {"response": response, "can_write": can_write, "oob": True})


def thoughts_html(*, response: Response) -> str:
    return _render("thoughts", {"response": response, "oob": True})


def event_html(event: dict[str, Any], *, conversation_id: int, can_write: bool) -> str:
    """The fragment for one studio event, read fresh from the database ('' if the row is gone)."""
    kind = event.get("kind")
    if kind == "turn":
        turn = turn_with_responses(turn_id=int(event["turn_id"]))
        if turn is None:
            return ""
        return turn_html(turn=turn, can_write=can_write, append=True) + title_html(conversation=turn.conversation)
    if kind == "conversation":
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        return title_html(conversation=conversation) if conversation else ""
    if kind in {"response", "thoughts"}:
        response = response_with_images(response_id=int(event["response_id"]))
        if response is None:
            return ""
        if kind == "thoughts" and response.status == "running":
            return thoughts_html(response=response)
        return response_html(response=response, can_write=can_write)
    return ""
