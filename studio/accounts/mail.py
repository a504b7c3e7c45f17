"""Email for invitations and password resets, through Django's email framework. Embedded mode writes
each message to the console log and to a file in var/mail/, so a newcomer can follow the link; a
deployment sets EMAIL_HOST (and friends) for SMTP."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.filebased import EmailBackend as FileBackend

from .models import Invitation


class ConsoleAndFileBackend(FileBackend):
    """Django's file backend (one file per connection in EMAIL_FILE_PATH) that also prints."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages:
            sys.stdout.write(f"[mail to {', '.join(message.to)}] {message.subject}\n{message.body}\n")
        return sent


def send_invitation(*, invitation: Invitation, link: str) -> None:
    inviter = invitation.created_by.shown_name if invitation.created_by else "Someone"
    send_mail(
        subject=f"{inviter} invited you to {invitation.team.name} on Studio",
        message=(
            f"{inviter} invited you to join the team {invitation.team.name} "
            f"as {invitation.get_role_display().lower()}.\n\n"
            f"Accept: {link}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
            "If you did not expect it, ignore this message."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


def send_plain(*, to: str, subject: str, body: str, **kwargs: Any) -> None:
    send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to], **kwargs)
