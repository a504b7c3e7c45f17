"""Writes to the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import GeminiModel


@dataclass(frozen=True)
class ServedReport:
    served: list[str]
    missing: list[str]  # in the catalogue, not listed by Google

    def summary(self) -> str:
        if not self.missing:
            return f"All {len(self.served)} catalogue models are served by Gemini."
        return f"Gemini no longer lists: {', '.join(self.missing)}. Turns on them will fail until they are replaced."


@transaction.atomic
def catalogue_mark_served(*, listed: set[str]) -> ServedReport:
    """Record which catalogue entries Google's model list (for this account) still has."""
    now = timezone.now()
    served: list[str] = []
    missing: list[str] = []
    for row in GeminiModel.objects.select_for_update().order_by("model_id"):
        is_served = row.model_id in listed
        (served if is_served else missing).append(row.model_id)
        row.served, row.checked_at = is_served, now
        row.save(update_fields=["served", "checked_at"])
    return ServedReport(served=served, missing=missing)


@transaction.atomic
def catalogue_set_default(*, model: GeminiModel) -> GeminiModel:
    GeminiModel.objects.filter(is_default=True).exclude(pk=model.pk).update(is_default=False)
    model.is_default = True
    model.enabled = True
    model.save(update_fields=["is_default", "enabled"])
    return model
