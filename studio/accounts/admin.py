from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from .models import AuditEvent, Invitation, Membership, SitePolicy, Team, User

admin.site.unregister(Group)  # roles live on memberships; Django's groups are unused


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class InvitationInline(admin.TabularInline[Invitation, Team]):
    model = Invitation
    extra = 0
    fields = ("email", "role", "created_by", "created_at", "expires_at", "revoked_at", "accepted_by", "accepted_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        return False  # invitations carry a secret shown once: teams make them on their page


@admin.register(User)
class StudioUserAdmin(UserAdmin[User]):
    list_display = ["username", "email", "display_name", "is_active", "is_staff", "date_joined"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "is_personal", "share_links", "created_at"]
    list_filter = ["is_personal", "share_links"]
    search_fields = ["name"]
    inlines = [MembershipInline, InvitationInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "team_name", "actor_name", "action", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["team_name", "actor_name", "target"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # append-only

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SitePolicy)
class SitePolicyAdmin(admin.ModelAdmin[SitePolicy]):
    list_display = ["__str__", "open_sign_up"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SitePolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
