from django.contrib import admin

from .models import RunnerHeartbeat


@admin.register(RunnerHeartbeat)
class RunnerHeartbeatAdmin(admin.ModelAdmin[RunnerHeartbeat]):
    list_display = ["worker_id", "running", "concurrency", "started_at", "seen_at"]
    readonly_fields = ["worker_id", "running", "concurrency", "started_at", "seen_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
