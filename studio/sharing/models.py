"""Share links: a conversation's branch, shown read-only to whoever has the secret link."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import models
from django.utils import timezone

from studio.chat.models import Conversation, Turn


class ShareLink(models.Model):
    """Only the token's sha256 is stored; the link works until it expires or is revoked."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="share_links")
    leaf_turn = models.ForeignKey(
        Turn, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The branch shared."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    show_prompts = models.BooleanField(default=True)
    show_thoughts = models.BooleanField(default=False)
    allow_downloads = models.BooleanField(default=False)
    password_hash = models.CharField(max_length=200, blank=True)
    views = models.PositiveIntegerField(default=0)
    last_access_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Share link {self.pk} of “{self.conversation}” ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "live"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def password_matches(self, password: str) -> bool:
        return bool(self.password_hash) and check_password(password, self.password_hash)

    @property
    def group_name(self) -> str:
        return f"share.{self.pk}"
