from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, Team, User


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class StudioUserAdmin(UserAdmin[User]):
    list_display = ["username", "email", "is_staff", "date_joined"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "is_personal", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]
