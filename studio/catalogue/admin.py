from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from .models import GeminiModel
from .selectors import CatalogueError, default_model, models_needing_attention
from .services import catalogue_set_default


@admin.register(GeminiModel)
class GeminiModelAdmin(admin.ModelAdmin[GeminiModel]):
    list_display = ["display_name", "model_id", "state", "enabled", "is_default", "input_token_limit"]
    list_filter = ["lifecycle", "enabled"]
    search_fields = ["model_id", "display_name"]
    readonly_fields = ["served", "checked_at"]
    actions = ["make_default"]
    fieldsets = [
        (None, {"fields": ["model_id", "display_name", "lifecycle", "shutdown_on", "replacement"]}),
        ("Who may use it", {"fields": ["enabled", "is_default"]}),
        (
            "Capabilities",
            {
                "fields": [
                    "aspect_ratios",
                    "image_sizes",
                    "image_tokens",
                    "thinking_levels",
                    "grounding",
                    ("max_reference_images", "max_people", "max_objects"),
                    ("input_token_limit", "input_image_tokens"),
                ]
            },
        ),
        ("Last check against Gemini", {"fields": ["served", "checked_at"]}),
    ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET":
            for warning in models_needing_attention():
                self.message_user(request, warning, messages.WARNING)
            try:
                default_model()
            except CatalogueError as error:
                self.message_user(request, str(error), messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.display(description="State")
    def state(self, row: GeminiModel) -> str:
        try:
            is_default = default_model().pk == row.pk  # a handful of rows: one small query each
        except CatalogueError:
            is_default = False
        return ("Studio default · " if is_default else "") + self._lifecycle_state(row)

    @staticmethod
    def _lifecycle_state(row: GeminiModel) -> str:
        if row.is_shut_down():
            target = row.replacement.model_id if row.replacement else "no replacement!"
            return f"⚠ Shut down {row.shutdown_on} → {target}"
        if row.served is False:
            return "⚠ Not served by Gemini"
        if row.shutdown_on:
            return f"Shuts down {row.shutdown_on}"
        return "Served" if row.served else "Not checked yet"

    @admin.action(description="Make the selected model the studio default")
    def make_default(self, request: HttpRequest, queryset: QuerySet[GeminiModel]) -> None:
        rows = list(queryset)
        if len(rows) != 1:
            self.message_user(request, "Select exactly one model to make it the default.", messages.ERROR)
            return
        if rows[0].is_shut_down():
            self.message_user(request, f"{rows[0].model_id} is shut down; pick a model Google serves.", messages.ERROR)
            return
        catalogue_set_default(model=rows[0])
        self.message_user(request, f"New projects without a model of their own now use {rows[0]}.")

    def get_urls(self) -> list[URLPattern]:
        check = self.admin_site.admin_view(require_POST(self.check_now))
        return [path("check-now/", check, name="catalogue_geminimodel_check"), *super().get_urls()]

    def check_now(self, request: HttpRequest) -> HttpResponse | TemplateResponse:
        from studio.generation.model_check import CheckUnavailable, check_served_models

        try:
            report = check_served_models()
        except CheckUnavailable as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            level = messages.WARNING if report.missing else messages.SUCCESS
            self.message_user(request, report.summary(), level)
        return HttpResponseRedirect(reverse("admin:catalogue_geminimodel_changelist"))
