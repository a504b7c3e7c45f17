"""What the runners report about themselves, so an operator (and `studio_doctor`) can see them."""

from __future__ import annotations

from django.db import models


class RunnerHeartbeat(models.Model):
    """One row per live runner, renewed every heartbeat; removed when the runner stops cleanly."""

    worker_id = models.CharField(max_length=80, unique=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    running = models.PositiveIntegerField(default=0)
    concurrency = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.running}/{self.concurrency}, seen {self.seen_at:%H:%M:%S})"
