from django.contrib import admin

from .models import Conversation, ImageVersion, Project, Response, Turn


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ["name", "team", "model", "created_at", "archived_at"]
    list_filter = ["team", "model"]
    search_fields = ["name"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ["title", "project", "created_at", "updated_at"]
    search_fields = ["title"]


class ResponseInline(admin.TabularInline[Response, Turn]):
    model = Response
    extra = 0
    fields = ["index", "status", "finish_reason", "error_code", "cost_usd", "attempts"]
    readonly_fields = ["index", "status", "finish_reason", "error_code", "cost_usd", "attempts"]
    can_delete = False


@admin.register(Turn)
class TurnAdmin(admin.ModelAdmin[Turn]):
    list_display = ["prompt", "conversation", "model_id", "model_note", "created_at"]
    inlines = [ResponseInline]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin[Response]):
    list_display = ["pk", "turn", "status", "finish_reason", "error_code", "cost_usd", "attempts", "created_at"]
    list_filter = ["status", "error_code"]
    readonly_fields = ["lease_owner", "lease_expires_at", "usage", "parts", "grounding"]


@admin.register(ImageVersion)
class ImageVersionAdmin(admin.ModelAdmin[ImageVersion]):
    list_display = ["pk", "response", "is_thought", "mime_type", "width", "height", "byte_size"]
