"""Projects hold conversations; a conversation is a tree of turns, each answered by 1-4 responses.

A `Response` is one Gemini call and also the job row the runner leases. Its `parts` keep the
model's output exactly as received (text, thought flag, signature), images by reference to
`ImageVersion`, so history replays byte for byte.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models

from studio.accounts.models import Team
from studio.catalogue.models import GeminiModel

from .imagestore import MIME_EXTENSION
from .options import GenerationOptions


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    system_instruction = models.TextField(blank=True, max_length=8000)
    default_settings = models.JSONField(default=dict, blank=True)
    model = models.ForeignKey(
        GeminiModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="projects",
        help_text="Empty: the studio's default model.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def options(self) -> GenerationOptions:
        return GenerationOptions.from_dict(self.default_settings)


class Conversation(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, default="New conversation")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def group_name(self) -> str:
        return f"conversation.{self.pk}"


class Turn(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    parent_response = models.ForeignKey(
        "Response", null=True, blank=True, on_delete=models.PROTECT, related_name="child_turns"
    )  # the image this turn edits (its history is replayed); None: a fresh image
    parent_turn = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_turns"
    )  # where the turn sits in the conversation tree; turns sharing it are sibling branches
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    prompt = models.TextField()
    settings = models.JSONField(default=dict)
    model_id = models.CharField(max_length=80)
    model_note = models.CharField(max_length=300, blank=True, help_text="Why it ran on another model than chosen.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.prompt[:60]

    @property
    def options(self) -> GenerationOptions:
        return GenerationOptions.from_dict(self.settings)


class ResponseStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Generating"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"
    CANCELLED = "cancelled", "Cancelled"


def new_seed() -> int:
    """Each response gets its own seed: siblings differ, and any response can be reproduced."""
    return secrets.randbelow(2**31 - 1) + 1


FINISHED = (ResponseStatus.SUCCEEDED, ResponseStatus.FAILED, ResponseStatus.BLOCKED, ResponseStatus.CANCELLED)


class Response(models.Model):
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="responses")
    index = models.PositiveSmallIntegerField(default=0)
    seed = models.PositiveIntegerField(default=new_seed)
    status = models.CharField(max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.QUEUED)
    lease_owner = models.CharField(max_length=80, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # While the pipeline waits to retry a call: why, when it will try again, and which retry that is.
    retry_note = models.CharField(max_length=120, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    retry_number = models.PositiveSmallIntegerField(default=0)
    billable = models.BooleanField(default=False, help_text="The model returned something we may be billed for.")
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    thoughts_text = models.TextField(blank=True)
    text = models.TextField(blank=True)
    parts = models.JSONField(default=list, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    grounding = models.JSONField(null=True, blank=True)
    model_version = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_event_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["turn_id", "index"]
        constraints = [models.UniqueConstraint(fields=["turn", "index"], name="one_response_per_slot")]
        indexes = [
            models.Index(fields=["status", "created_at"], name="response_queue"),
            models.Index(fields=["status", "lease_expires_at"], name="response_leases"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def final_images(self) -> list[ImageVersion]:
        return [image for image in self.images.all() if not image.is_thought]

    @property
    def final_image(self) -> ImageVersion | None:
        """The first final image: the one a later turn edits and a lineage follows."""
        return next((image for image in self.images.all() if not image.is_thought), None)

    @property
    def draft_images(self) -> list[ImageVersion]:
        return [image for image in self.images.all() if image.is_thought]


class ImageVersionQuerySet(models.QuerySet["ImageVersion"]):
    def finished(self) -> ImageVersionQuerySet:
        """Final images (not drafts) of responses that succeeded: the versions people see and pick."""
        return self.filter(is_thought=False, response__status=ResponseStatus.SUCCEEDED)


class ImageVersion(models.Model):
    """One image of a response (final, or an interim 'thought' draft), original bytes kept as received."""

    objects = ImageVersionQuerySet.as_manager()

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="images")
    part_index = models.PositiveSmallIntegerField()
    is_thought = models.BooleanField(default=False)
    storage_key = models.CharField(max_length=300)
    mime_type = models.CharField(max_length=40)
    label_mime_type = models.CharField(max_length=40, blank=True, help_text="What the API claimed; often wrong.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    thumbnail_key = models.CharField(
        max_length=300, blank=True, help_text="Empty until the image's first view makes it (chat.thumbnails)."
    )
    rendition_key = models.CharField(max_length=300, blank=True)
    rendition_mime_type = models.CharField(max_length=40, blank=True)
    thought_signature = models.TextField(blank=True, help_text="Base64 of the signature bytes, as received.")
    files_api_uri = models.CharField(max_length=300, blank=True, help_text="Cached Gemini Files API handle.")
    files_api_backend = models.CharField(max_length=200, blank=True)
    files_api_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["response_id", "part_index"]

    def __str__(self) -> str:
        return f"Image {self.pk} ({self.width}x{self.height})"

    @property
    def extension(self) -> str:
        return MIME_EXTENSION.get(self.mime_type, "bin")


class ReferenceRole(models.TextChoices):
    PERSON = "person", "Person"
    OBJECT = "object", "Object"
    STYLE = "style", "Style"


class Reference(models.Model):
    """An image attached to a turn: an upload, or an earlier version. Sent as a user part (no
    signature needed), in order, with its role in the text before it."""

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=10, choices=ReferenceRole.choices, default=ReferenceRole.OBJECT)
    source_version = models.ForeignKey(
        "ImageVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="used_as_reference"
    )
    original_name = models.CharField(max_length=200, blank=True)
    storage_key = models.CharField(max_length=300)
    mime_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    thumbnail_key = models.CharField(max_length=300)
    files_api_uri = models.CharField(max_length=300, blank=True, help_text="Cached Gemini Files API handle.")
    files_api_backend = models.CharField(max_length=200, blank=True)
    files_api_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["turn_id", "position"]
        constraints = [models.UniqueConstraint(fields=["turn", "position"], name="one_reference_per_slot")]

    def __str__(self) -> str:
        return f"Reference {self.position + 1} of turn {self.turn_id} ({self.role})"
