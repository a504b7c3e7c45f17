"""Render the conversation page's named partials. The page and the websocket both call these, so
what a reload shows and what the socket streams cannot drift apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.template.loader import render_to_string

from .branches import BranchStep, ConversationTree, load_steps
from .models import Conversation, Response, ResponseStatus, Turn
from .selectors import response_with_images, tree_turns, turns_to_show

PAGE = "chat/conversation.html"


def _render(partial: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{PAGE}#{partial}", context)


NEWEST_SHOWN = 10  # turns a conversation page (and its socket snapshot) renders; older ones on scrolling up


def branch(
    *,
    conversation: Conversation,
    leaf_id: int | None,
    through: int | None = None,
    newest: int | None = None,
    before: int | None = None,
) -> list[BranchStep]:
    """The turns from the root to `leaf_id` (default: the newest, or the newest below the turn
    `through`), each with its sibling switcher. The steps to show are loaded whole: all by default,
    or those before the turn `before`, and of those the `newest` few; the rest are links only."""
    tree = ConversationTree(tree_turns(conversation=conversation))
    if leaf_id is None and through in tree.turns:
        leaf_id = tree.newest_leaf(through)
    steps = tree.path(leaf_id)
    ids = [step.turn.pk for step in steps]
    shown = steps[: ids.index(before)] if before in ids else steps
    if newest is not None:
        shown = shown[-newest:]
    return load_steps(steps, shown, _load_whole)


def _load_whole(turn_ids: set[int]) -> dict[int, Turn]:
    return turns_to_show(turn_ids=turn_ids)


def shown_steps(steps: list[BranchStep]) -> list[BranchStep]:
    return [step for step in steps if step.loaded]


def turn_list_context(steps: list[BranchStep]) -> dict[str, Any]:
    """The loaded steps to render, and how many turns of the branch come before them (the page's
    "Show N earlier turns", loaded on scrolling up)."""
    older = next((index for index, step in enumerate(steps) if step.loaded), 0)
    return {"steps": shown_steps(steps), "older": older}


def branch_turn_ids(*, conversation: Conversation, leaf_id: int | None) -> set[int]:
    """The turns of the branch ending at `leaf_id`, from the tree's links alone (no responses or images
    loaded): for checks on every request, such as a share link's media."""
    return {step.turn.pk for step in ConversationTree(tree_turns(conversation=conversation)).path(leaf_id)}


def default_parent(steps: list[BranchStep]) -> Response | None:
    """New turns continue from the newest finished image on the shown branch (the steps not loaded
    are asked in one query, when the loaded ones have none)."""
    for step in reversed(shown_steps(steps)):
        for response in step.turn.responses.all():
            if response.status == ResponseStatus.SUCCEEDED and response.final_images:
                return response
    older = [step.turn.pk for step in steps if not step.loaded]
    if not older:
        return None
    return (
        Response.objects.filter(turn_id__in=older, status=ResponseStatus.SUCCEEDED, images__is_thought=False)
        .order_by("-turn__created_at", "-turn_id", "index")
        .prefetch_related("images")
        .first()
    )


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


SNAPSHOT_MARGIN = timedelta(seconds=5)  # what happened while the page was being rendered is sent again


def _changed_since(turn: Turn, moment: datetime) -> bool:
    if turn.created_at >= moment:
        return True
    for response in turn.responses.all():
        if not response.is_finished:
            return True  # running or queued: always sent, its state moves on
        if any(at is not None and at >= moment for at in (response.started_at, response.finished_at)):
            return True
    return False


class BranchView:
    """What one open page shows: the branch ending at `leaf`, kept current as events arrive."""

    def __init__(
        self,
        *,
        conversation: Conversation,
        leaf_id: int | None,
        can_write: bool,
        share: Any = None,
        since: datetime | None = None,
    ) -> None:
        """`share`: a share link's view (read-only, the link's choices of what to show), or None.
        `since`: when the page was rendered; its snapshot then holds only what changed after that."""
        self.conversation = conversation
        self.can_write = can_write
        self.share = share
        self.since = since - SNAPSHOT_MARGIN if since is not None else None
        self.steps = branch(conversation=conversation, leaf_id=leaf_id, newest=NEWEST_SHOWN)
        self._elsewhere: set[int] = set()  # turns found on other branches: their events are not ours

    @property
    def shown(self) -> set[int]:
        return {step.turn.pk for step in self.steps}

    def snapshot(self) -> str:
        """The newest turns of the branch the page may lack or hold in an older state: each replaces
        its copy on the page, or is appended. Turns the page loaded by scrolling up stay as they are."""
        steps = shown_steps(self.steps)
        if self.since is not None:
            steps = [step for step in steps if _changed_since(step.turn, self.since)]
        turns = "".join(turn_html(step=step, can_write=self.can_write, append=True, share=self.share) for step in steps)
        return turns if self.share is not None else turns + title_html(conversation=self.conversation)

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
            if response is None or response.turn_id in self._elsewhere:
                return ""
            if response.turn_id not in self.shown:
                # Its turn's own event was lost (a Redis blip, a turn made where this layer cannot
                # hear): draw the turn now if it continues this branch, else stop asking about it.
                html = self._turn(response.turn_id)
                if response.turn_id not in self.shown:
                    self._elsewhere.add(response.turn_id)
                return html
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
        fresh = branch(conversation=self.conversation, leaf_id=turn_id, newest=1)  # only the new turn is drawn
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
        self.steps = branch(conversation=self.conversation, leaf_id=leaf, newest=NEWEST_SHOWN)
        step = next(step for step in self.steps if step.turn.pk == beside.turn.pk)
        if not step.loaded:  # above the newest turns: the page holds it only if the person scrolled up
            step = load_steps([step], [step], _load_whole)[0]
        return turn_html(step=step, can_write=self.can_write, append=False)
