from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """Our own user model from the first migration, so it can grow without a painful swap."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


class SharePolicy(models.TextChoices):
    OPEN = "open", "Allowed"
    PASSWORD = "password", "Only with a password"
    OFF = "off", "Not allowed"


class Team(models.Model):
    name = models.CharField(max_length=120)
    is_personal = models.BooleanField(default=False, help_text="Created with the user; cannot be left.")
    share_links = models.CharField(
        max_length=10, choices=SharePolicy.choices, default=SharePolicy.OPEN, help_text="Links to show outsiders."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_rank(role: str) -> int:
    return ROLE_RANK[Role(role)]


class Membership(models.Model):
    """A person in a team with a role. What each role may do is here, in one place (and in the
    README's permission table): viewers read and download; members also create and edit; admins
    also manage members, projects and links; owners also manage billing and can delete the team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def rank(self) -> int:
        return role_rank(self.role)

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def can_manage(self) -> bool:
        """Members, invitations, projects' lifecycle and share links."""
        return self.rank >= role_rank(Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def new_token() -> tuple[str, str]:
    """A secret for a link (256 bits, URL-safe) and the sha256 hex the database keeps instead."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An invitation to a team with a role: to one email address, or (no email) to whoever has the link.
    Used once; it expires; it can be revoked. Only the token's hash is stored."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    email = models.EmailField(blank=True, help_text="Empty: anyone with the link (once).")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.team} as {self.role} ({self.state})"

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditEvent(models.Model):
    """Who did what to a team, when and from where. Append-only; kept when the actor leaves."""

    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="audit_events")
    team_name = models.CharField(max_length=120)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"], name="audit_by_team")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"


class SitePolicy(models.Model):
    """Studio-wide rules an admin sets in the Django admin. One row."""

    open_sign_up = models.BooleanField(
        default=True, help_text="Anyone may create an account. Off: only people with an invitation."
    )
    # The quota every new team starts with, so open sign-up cannot spend the operator's budget.
    # Empty: no limit. Admins change a team's own quota in the Django admin.
    new_team_spend_limit_usd = models.DecimalField(
        "new teams' spend limit per month (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal("10.00"),
    )
    new_team_image_limit = models.PositiveIntegerField("new teams' images per month", null=True, blank=True)
    new_team_confirm_above_usd = models.DecimalField(
        "new teams confirm sends above (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal("1.00"),
    )

    class Meta:
        verbose_name = verbose_name_plural = "site policy"

    def __str__(self) -> str:
        return "Site policy"

    @classmethod
    def current(cls) -> SitePolicy:
        row, _ = cls.objects.get_or_create(pk=1)
        return row
