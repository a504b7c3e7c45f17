"""The conversation as a tree: which turns form the branch a person is looking at, and how to move
between sibling branches (the 1/3 ‹ › switcher)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from .models import Turn


@dataclass(frozen=True)
class BranchPeek:
    """What a switcher arrow leads to: the sibling's prompt and the newest image on that branch."""

    prompt: str
    image_id: int | None
    turns: int  # how many turns that branch holds from the fork


@dataclass(frozen=True)
class BranchStep:
    """One turn on the shown branch, with where its switcher arrows lead."""

    turn: Turn
    position: int  # 1-based among its siblings
    siblings: int
    previous_leaf: int | None  # the newest turn of the previous sibling's branch
    next_leaf: int | None
    previous_chain: tuple[Turn, ...] = ()  # sibling first, that branch's newest turn last
    next_chain: tuple[Turn, ...] = ()
    loaded: bool = False  # its turns were loaded whole (responses, images, references) to be shown

    # Read only by the page's switcher, so the tree built for access checks loads no images.
    @property
    def previous_peek(self) -> BranchPeek | None:
        return _peek(self.previous_chain)

    @property
    def next_peek(self) -> BranchPeek | None:
        return _peek(self.next_chain)


def load_steps(
    steps: list[BranchStep], shown: list[BranchStep], load: Callable[[set[int]], dict[int, Turn]]
) -> list[BranchStep]:
    """`steps` with the turns of `shown` (and the branches their switchers preview) loaded whole by
    one call of `load`, so a page's queries do not grow with the conversation's length."""
    wanted = {step.turn.pk for step in shown}
    for step in shown:
        wanted.update(turn.pk for turn in (*step.previous_chain, *step.next_chain))
    full = load(wanted) if wanted else {}
    picked = {step.turn.pk for step in shown}

    def whole(chain: tuple[Turn, ...]) -> tuple[Turn, ...]:
        return tuple(full.get(turn.pk, turn) for turn in chain)

    return [
        replace(
            step,
            turn=full.get(step.turn.pk, step.turn),
            previous_chain=whole(step.previous_chain),
            next_chain=whole(step.next_chain),
            loaded=True,
        )
        if step.turn.pk in picked
        else step
        for step in steps
    ]


def _peek(chain: tuple[Turn, ...]) -> BranchPeek | None:
    if not chain:
        return None
    image_id = None
    for turn in reversed(chain):
        image = next((r.final_image for r in turn.responses.all() if r.final_image is not None), None)
        if image is not None:
            image_id = image.pk
            break
    return BranchPeek(prompt=chain[0].prompt, image_id=image_id, turns=len(chain))


def _parent_turn(turn: Turn) -> int | None:
    return turn.parent_turn_id


class ConversationTree:
    """Built from every turn of a conversation (they are few); answers branch questions in memory."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = {turn.pk: turn for turn in turns}
        self.children: dict[int | None, list[Turn]] = defaultdict(list)
        for turn in sorted(turns, key=lambda t: (t.created_at, t.pk)):
            self.children[_parent_turn(turn)].append(turn)

    def newest_leaf(self, turn_id: int | None = None) -> int | None:
        """The newest turn in the subtree under `turn_id` (the whole tree when None)."""
        stack = [self.turns[turn_id]] if turn_id is not None else list(self.children[None])
        newest: Turn | None = None
        while stack:
            turn = stack.pop()
            if newest is None or (turn.created_at, turn.pk) > (newest.created_at, newest.pk):
                newest = turn
            stack.extend(self.children[turn.pk])
        return newest.pk if newest else None

    def leaves(self) -> list[int]:
        """Every branch's newest turn, in the switcher's order: oldest sibling first, depth first."""
        found: list[int] = []
        stack = list(reversed(self.children[None]))
        while stack:
            turn = stack.pop()
            below = self.children[turn.pk]
            if not below:
                found.append(turn.pk)
            stack.extend(reversed(below))
        return found

    def _upward(self, leaf_id: int | None, top: int | None = None) -> tuple[Turn, ...]:
        """The turns from `top` (default: the root) down to `leaf_id`."""
        chain: list[Turn] = []
        current = self.turns.get(leaf_id) if leaf_id is not None else None
        while current is not None:
            chain.append(current)
            if current.pk == top:
                break
            parent = _parent_turn(current)
            current = self.turns.get(parent) if parent is not None else None
        return tuple(reversed(chain))

    def _branch_of(self, top: Turn) -> tuple[Turn, ...]:
        """From `top` down to the newest turn under it: where a switcher arrow leads."""
        return self._upward(self.newest_leaf(top.pk), top.pk)

    def path(self, leaf_id: int | None) -> list[BranchStep]:
        """Root to `leaf_id` (default: the newest turn), each step with its sibling switcher."""
        if leaf_id not in self.turns:
            leaf_id = self.newest_leaf()
        steps = []
        for turn in self._upward(leaf_id):
            siblings = self.children[_parent_turn(turn)]
            index = siblings.index(turn)
            previous = self._branch_of(siblings[index - 1]) if index > 0 else ()
            following = self._branch_of(siblings[index + 1]) if index + 1 < len(siblings) else ()
            steps.append(
                BranchStep(
                    turn=turn,
                    position=index + 1,
                    siblings=len(siblings),
                    previous_leaf=previous[-1].pk if previous else None,
                    next_leaf=following[-1].pk if following else None,
                    previous_chain=previous,
                    next_chain=following,
                )
            )
        return steps
