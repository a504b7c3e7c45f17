"""The catalogue of Gemini image models: ids, lifecycle, capabilities, limits, as data
(prices are versioned in `studio.billing`).

Google retires model ids (gemini-3-pro-image-preview was shut down on 2026-06-25) and Flash-tier
models come with other sizes and ratios, so nothing else in the studio hard-codes a model id or a
model's limits: it asks this table. Admins edit it in the Django admin.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone


class Lifecycle(models.TextChoices):
    PREVIEW = "preview", "Preview"
    GA = "ga", "Generally available"


class GeminiModel(models.Model):
    model_id = models.CharField("model id", max_length=80, unique=True, help_text="As Google names it.")
    display_name = models.CharField(max_length=80)
    lifecycle = models.CharField(max_length=10, choices=Lifecycle.choices, default=Lifecycle.GA)
    shutdown_on = models.DateField(
        null=True, blank=True, help_text="Google's shutdown date. From this day the model is never called."
    )
    replacement = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaces",
        help_text="Where turns on this model go once it is shut down.",
    )
    enabled = models.BooleanField(default=True, help_text="Teams may choose this model for their projects.")
    is_default = models.BooleanField(
        default=False, help_text="The model of projects that choose none. At most one; none: GEMINI_MODEL."
    )

    aspect_ratios = models.JSONField(default=list, help_text='Supported ratios, e.g. ["1:1", "16:9"].')
    image_sizes = models.JSONField(default=list, help_text='Supported sizes, e.g. ["1K", "2K", "4K"].')
    image_tokens = models.JSONField(default=dict, help_text='Output tokens per image by size, e.g. {"1K": 1120}.')
    thinking_levels = models.JSONField(
        default=list, blank=True, help_text='Settable thinking levels, e.g. ["MINIMAL", "HIGH"]; empty: not settable.'
    )
    grounding = models.BooleanField("Google Search grounding", default=True)
    max_reference_images = models.PositiveSmallIntegerField(default=14)
    max_people = models.PositiveSmallIntegerField("max person references", default=5)
    max_objects = models.PositiveSmallIntegerField("max object references", default=6)
    input_token_limit = models.PositiveIntegerField(default=65536)
    input_image_tokens = models.PositiveIntegerField(
        default=1120, help_text="Input tokens one image can cost at most (the studio's limit check counts this)."
    )

    served = models.BooleanField(null=True, blank=True, help_text="Whether Google listed it at the last check.")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "model_id"]
        verbose_name = "Gemini model"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.model_id})"

    def is_shut_down(self, today: dt.date | None = None) -> bool:
        return self.shutdown_on is not None and self.shutdown_on <= (today or timezone.localdate())
