from django.contrib import admin
from django.http import HttpRequest

from .models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin[ShareLink]):
    list_display = ["conversation", "created_by", "created_at", "expires_at", "revoked_at", "views", "last_access_at"]
    list_filter = ["show_prompts", "show_thoughts", "allow_downloads"]
    raw_id_fields = ["conversation", "leaf_turn", "created_by"]
    readonly_fields = ["token_hash", "password_hash", "views", "last_access_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a link's secret is shown once, to its creator, on the conversation's Share page
