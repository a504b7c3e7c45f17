"""Reads of the catalogue: which model a project uses today, and which ones teams may pick."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import GeminiModel


class CatalogueError(LookupError):
    """The catalogue cannot answer (no default model, a replacement loop): an admin must fix it."""


@dataclass(frozen=True)
class ModelChoice:
    """The model a turn runs on, and why it is not the one asked for when that one is shut down."""

    model: GeminiModel
    note: str = ""


def default_model() -> GeminiModel:
    """The admin's default, else GEMINI_MODEL's catalogue entry."""
    row = GeminiModel.objects.filter(is_default=True).first()
    if row is None:
        row = GeminiModel.objects.filter(model_id=settings.GEMINI_MODEL).first()
    if row is None:
        raise CatalogueError(
            f"No default Gemini model: GEMINI_MODEL is {settings.GEMINI_MODEL!r}, which is not in the catalogue, "
            "and no catalogue entry is marked default. An admin must add it or pick a default."
        )
    return row


def live(model: GeminiModel) -> ModelChoice:
    """Follow replacements past every shut-down model: a shut-down model is never called."""
    chosen, seen = model, {model.pk}
    while chosen.is_shut_down():
        if chosen.replacement is None:
            raise CatalogueError(
                f"{chosen.model_id} was shut down on {chosen.shutdown_on} and has no replacement. "
                "An admin must set one in the model catalogue."
            )
        chosen = chosen.replacement
        if chosen.pk in seen:
            raise CatalogueError(f"The replacements of {model.model_id} go round in a circle.")
        seen.add(chosen.pk)
    if chosen.pk == model.pk:
        return ModelChoice(model)
    note = (
        f"{model.display_name} ({model.model_id}) was shut down by Google on {model.shutdown_on:%Y-%m-%d}; "
        f"this ran on {chosen.display_name} ({chosen.model_id})."
    )
    return ModelChoice(chosen, note)


def model_for(model: GeminiModel | None) -> ModelChoice:
    """A project's model (None: the studio default), as it runs today."""
    return live(model if model is not None else default_model())


def model_by_id(model_id: str) -> GeminiModel | None:
    return models_by_id([model_id]).get(model_id)


def models_by_id(model_ids: Iterable[str]) -> dict[str, GeminiModel]:
    """Catalogue rows by the ids asked for (with or without "models/"), in one query; ids that are
    not in the catalogue are left out."""
    asked = {model_id: model_id.removeprefix("models/") for model_id in model_ids}
    found = GeminiModel.objects.select_related("replacement").filter(model_id__in=set(asked.values()))
    rows = {row.model_id: row for row in found}
    return {model_id: rows[bare] for model_id, bare in asked.items() if bare in rows}


def selectable_models() -> QuerySet[GeminiModel]:
    """What a project may choose: enabled and not shut down."""
    today = timezone.localdate()
    return GeminiModel.objects.filter(enabled=True).exclude(shutdown_on__lte=today).order_by("display_name")


def models_needing_attention() -> list[str]:
    """Warnings for the admin: defaults or enabled models that are shut down or no longer served."""
    warnings = []
    for row in GeminiModel.objects.select_related("replacement"):
        if not (row.enabled or row.is_default):
            continue
        if row.is_shut_down():
            target = row.replacement.model_id if row.replacement else "nothing: set a replacement"
            warnings.append(f"{row.model_id} was shut down on {row.shutdown_on}; its turns run on {target}.")
        elif row.served is False:
            warnings.append(
                f"{row.model_id} was not in Google's model list at the last check ({row.checked_at:%Y-%m-%d %H:%M})."
            )
    return warnings
