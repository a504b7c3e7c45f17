from django.contrib import admin

from .models import Conversation, ImageVersion, Project, Response, Turn


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ["name", "team", "model", "created_at", "archived_at"]
    list_filter = ["model", "archived_at"]
    search_fields = ["name", "team__name"]
    raw_id_fields = ["team", "created_by"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ["title", "project", "created_at", "updated_at", "archived_at"]
    search_fields = ["title"]
    raw_id_fields = ["project", "created_by"]


class ResponseInline(admin.TabularInline[Response, Turn]):
    model = Response
    extra = 0
    fields = ("index", "status", "finish_reason", "error_code", "cost_usd", "seed", "attempts")
    readonly_fields = fields
    can_delete = False


@admin.register(Turn)
class TurnAdmin(admin.ModelAdmin[Turn]):
    list_display = ["prompt", "conversation", "model_id", "model_note", "created_at"]
    search_fields = ["prompt"]
    raw_id_fields = ["conversation", "parent_response", "parent_turn", "author"]
    inlines = [ResponseInline]


RESPONSE_RECORD = [
    "turn",
    "index",
    "seed",
    "status",
    "attempts",
    "billable",
    "lease_owner",
    "lease_expires_at",
    "error_code",
    "error_message",
    "finish_reason",
    "usage",
    "cost_usd",
    "model_version",
    "parts",
    "grounding",
    "created_at",
    "started_at",
    "first_event_at",
    "finished_at",
]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin[Response]):
    """What happened on a call is a record: nothing here is edited by hand."""

    list_display = ["pk", "turn", "status", "finish_reason", "error_code", "cost_usd", "attempts", "created_at"]
    list_filter = ["status", "error_code"]
    fields = tuple(RESPONSE_RECORD)
    readonly_fields = tuple(RESPONSE_RECORD)


@admin.register(ImageVersion)
class ImageVersionAdmin(admin.ModelAdmin[ImageVersion]):
    list_display = ["pk", "response", "is_thought", "mime_type", "width", "height", "byte_size"]
    raw_id_fields = ["response"]
    readonly_fields = ["storage_key", "thumbnail_key", "rendition_key", "sha256", "thought_signature"]
