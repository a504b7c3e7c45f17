"""Render the conversation page's named partials. The page and the websocket both call these, so
what a reload shows and what the socket streams cannot drift apart."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.template.loader import render_to_string

from .branches import BranchStep, ConversationTree
from .models import Conversation, Response, ResponseStatus, Turn
from .selectors import conversation_turns, response_with_images

PAGE = "chat/conversation.html"


def _render(partial: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{PAGE}#{partial}", context)


def branch(*, conversation: Conversation, leaf_id: int | None, through: int | None = None) -> list[BranchStep]:
    """The turns from the root to `leaf_id` (default: the newest, or the newest below the turn
    `through`), each with its sibling switcher."""
    tree = ConversationTree(conversation_turns(conversation=conversation))
    if leaf_id is None and through in tree.turns:
        leaf_id = tree.newest_leaf(through)
    return tree.path(leaf_id)


def branch_turn_ids(*, conversation: Conversation, leaf_id: int | None) -> set[int]:
    """The turns of the branch ending at `leaf_id`, from the tree's links alone (no responses or images
    loaded): for checks on every request, such as a share link's media."""
    turns = list(Turn.objects.filter(conversation=conversation).only("pk", "parent_turn_id", "created_at"))
    return {step.turn.pk for step in ConversationTree(turns).path(leaf_id)}


def default_parent(steps: list[BranchStep]) -> Response | None:
    """New turns continue from the newest finished image on the shown branch."""
    for step in reversed(steps):
        for response in step.turn.responses.all():
            if response.status == ResponseStatus.SUCCEEDED and response.final_images:
                return response
    return None


def turn_html(*, step: BranchStep, can_write: bool, append: bool, share: Any = None) -> str:
    html = _render("turn", {"step": step, "turn": step.turn, "can_write": can_write, "oob": False, "share": share})
    if append:  # appended to the list; the page's script replaces it instead if it is already shown
        return f'<div hx-swap-oob="beforeend:#turns">{html}</div>'
    return html


def title_html(*, conversation: Conversation) -> str:
    return _render("title", {"conversation": conversation, "oob": True})


def response_html(*, response: Response, can_write: bool, share: Any = None) -> str:
    return _render("response", {"response": response, "can_write": can_write, "oob": True, "share": share})


def turn_cost_html(*, turn_id: int) -> str:
    """A turn's total once one of its responses finishes (what the turn's images cost together)."""
    total = Response.objects.filter(turn_id=turn_id).aggregate(total=Sum("cost_usd"))["total"]
    return _render("turn-cost", {"turn_id": turn_id, "total": total, "oob": True})


def thoughts_html(*, response: Response) -> str:
    return _render("thoughts", {"response": response, "oob": True})


class BranchView:
    """What one open page shows: the branch ending at `leaf`, kept current as events arrive."""

    def __init__(self, *, conversation: Conversation, leaf_id: int | None, can_write: bool, share: Any = None) -> None:
        """`share`: a share link's view (read-only, the link's choices of what to show), or None."""
        self.conversation = conversation
        self.can_write = can_write
        self.share = share
        self.steps = branch(conversation=conversation, leaf_id=leaf_id)

    @property
    def shown(self) -> set[int]:
        return {step.turn.pk for step in self.steps}

    def snapshot(self) -> str:
        context = {
            "conversation": self.conversation,
            "steps": self.steps,
            "can_write": self.can_write,
            "oob": True,
            "share": self.share,
        }
        return _render("turn-list", context)

    def event(self, event: dict[str, Any]) -> str:
        """The fragment for one studio event, read fresh from the database ('' when not on this branch)."""
        kind = event.get("kind")
        if kind == "conversation":
            self.conversation.refresh_from_db()
            return title_html(conversation=self.conversation)
        if kind == "turn":
            return self._turn(int(event["turn_id"]))
        if kind in {"response", "thoughts"}:
            response = response_with_images(response_id=int(event["response_id"]))
            if response is None or response.turn_id not in self.shown:
                return ""
            if kind == "thoughts" and response.status == ResponseStatus.RUNNING:
                hidden = self.share is not None and not self.share.link.show_thoughts
                return "" if hidden else thoughts_html(response=response)
            html = response_html(response=response, can_write=self.can_write, share=self.share)
            if response.is_finished and self.share is None:
                html += turn_cost_html(turn_id=response.turn_id)
            return html
        return ""

    def _turn(self, turn_id: int) -> str:
        leaf = self.steps[-1].turn.pk if self.steps else None
        fresh = branch(conversation=self.conversation, leaf_id=turn_id)
        if not fresh or fresh[-1].turn.pk != turn_id:
            return ""
        parent = fresh[-2].turn.pk if len(fresh) > 1 else None
        if turn_id in self.shown or parent == leaf:
            if self.share is not None and turn_id not in self.shown:
                return ""  # a share link shows the branch as shared, not turns added after it
            self.steps = fresh
            self.conversation.refresh_from_db()
            return turn_html(step=fresh[-1], can_write=self.can_write, append=True, share=self.share) + title_html(
                conversation=self.conversation
            )
        # A turn on another branch. If it forks beside a shown turn, that turn's switcher gains a branch.
        beside = next((step for step in self.steps if step.turn.parent_turn_id == parent), None)
        if beside is None or self.share is not None:
            return ""
        self.steps = branch(conversation=self.conversation, leaf_id=leaf)
        step = next(step for step in self.steps if step.turn.pk == beside.turn.pk)
        return turn_html(step=step, can_write=self.can_write, append=False)
