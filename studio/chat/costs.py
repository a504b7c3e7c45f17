"""What the composer shows about money: the send's estimate with its bound and breakdown, the
settings it is for, and the team's budget. Reads only; `services.turn_submit` reserves."""

from __future__ import annotations

from dataclasses import dataclass

from studio.billing.pricing import Estimate
from studio.billing.selectors import Budget, PricesMissing, price_list, price_version, send_estimate, team_budget
from studio.catalogue.models import GeminiModel
from studio.generation.limits import turn_input

from .models import Conversation, Response
from .options import GenerationOptions


@dataclass(frozen=True)
class SendCost:
    estimate: Estimate | None  # None: the model has no prices (the send would be refused anyway)
    budget: Budget
    options: GenerationOptions

    @property
    def over_budget(self) -> bool:
        return self.estimate is not None and self.budget.cannot_fit(self.estimate)


def send_cost(
    *,
    conversation: Conversation,
    model: GeminiModel,
    options: GenerationOptions,
    prompt: str,
    parent: Response | None,
    reference_roles: list[str],
) -> SendCost:
    """The estimate for a send as the composer holds it now: its words, the history it continues
    (bounded the way the submit check bounds it) and its references, at the prices in force."""
    budget = team_budget(conversation.project.team)
    try:
        prices = price_list(price_version(model))
    except PricesMissing:
        return SendCost(estimate=None, budget=budget, options=options)
    planned = turn_input(
        parent=parent,
        prompt=prompt,
        system_instruction=conversation.project.system_instruction,
        reference_labels=[f"Reference image {n} ({role}):" for n, role in enumerate(reference_roles, 1)],
    )
    estimate = send_estimate(
        model,
        prices=prices,
        images=options.count,
        size=options.image_size,
        grounding=options.grounding,
        input_tokens=planned.bound(model),
    )
    return SendCost(estimate=estimate, budget=budget, options=options)
