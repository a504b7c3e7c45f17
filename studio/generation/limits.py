"""The model's input-token limit, checked when a turn is submitted: an over-long turn is refused
before anything is queued or billed.

The check is cheap first and exact only near the limit. An upper bound needs no call: a text token
covers at least one UTF-8 byte, so a text's byte count is never below its token count, and each
image costs at most the catalogue's `input_image_tokens`. The bound counts every text of the chain
the turn replays, and as many images as the replay can carry: at most 14 in user turns (older ones
leave first), plus those of the model turns replayed in full. Only when that bound
exceeds the limit is Gemini asked to count the text (`count_tokens` through the SDK), the images
still counted at their maximum, so the figure is never below what Gemini will count.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from studio.catalogue.models import GeminiModel
from studio.chat.models import Response

from .assembly import gemini_settings
from .gemini import GeminiClient
from .history import MAX_INPUT_IMAGES, PRODUCED_LABEL, ReplayPolicy, ancestry
from .messages import GeminiError

logger = logging.getLogger("studio.generation")


class InputTooLong(ValueError):
    """A turn the model would refuse as too long; the message says what to shorten."""


@dataclass(frozen=True)
class TurnInput:
    """What a new turn would send: its words and how many images, with the chain it continues."""

    texts: list[str]
    images: int
    earlier_turns: int

    def bound(self, model: GeminiModel) -> int:
        return sum(len(text.encode()) for text in self.texts) + self.images * model.input_image_tokens


def turn_input(
    *, parent: Response | None, prompt: str, system_instruction: str, reference_labels: Sequence[str]
) -> TurnInput:
    chain = [*ancestry(parent), parent] if parent is not None else []
    inline_from = len(chain) - ReplayPolicy.from_settings().inline_turns
    texts = [system_instruction, prompt, *reference_labels]
    user_images, model_images = len(reference_labels), 0
    for position, response in enumerate(chain):
        references = list(response.turn.references.all())
        texts += [response.turn.prompt, response.text, PRODUCED_LABEL]
        texts += [f"Reference image {n} ({r.get_role_display().lower()}):" for n, r in enumerate(references, 1)]
        finals = len(response.final_images)
        user_images += len(references) + finals  # a collapsed turn's image travels as a user part
        if position >= inline_from:
            model_images += finals
    images = min(user_images, MAX_INPUT_IMAGES) + model_images
    return TurnInput(texts=[t for t in texts if t], images=images, earlier_turns=len(chain))


def check_input_tokens(model: GeminiModel, turn: TurnInput) -> int:
    """Return the (bounded) input token count, or raise InputTooLong with what to shorten."""
    tokens = turn.bound(model)
    if tokens <= model.input_token_limit:
        return tokens
    try:
        text_tokens = GeminiClient(gemini_settings(concurrency=1, quick=True)).count_text_tokens(
            model.model_id, turn.texts
        )
    except GeminiError as error:
        logger.warning("token count for a long turn failed: %s", error.message)
        raise InputTooLong(
            f"This turn may be longer than {model.display_name} accepts ({model.input_token_limit:,} input tokens), "
            f"and Gemini could not count it exactly just now ({error.message}). Shorten the prompt or send it again."
        ) from error
    tokens = text_tokens + turn.images * model.input_image_tokens
    if tokens <= model.input_token_limit:
        return tokens
    history = f", {turn.earlier_turns} earlier turns it continues" if turn.earlier_turns else ""
    raise InputTooLong(
        f"This turn is about {tokens:,} input tokens (the prompt, the project's system instruction{history} and "
        f"{turn.images} images); {model.display_name} accepts at most {model.input_token_limit:,}. "
        "Shorten the prompt or the system instruction, attach fewer references, or choose New image so less "
        "history is sent. Nothing was queued or charged."
    )
