"""Reads for share links: a link by its secret (compared as hashes, in constant time), a team's links."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet

from studio.accounts.models import Team, token_digest

from .models import ShareLink


def link_by_token(token: str) -> ShareLink | None:
    digest = token_digest(token)
    link = (
        ShareLink.objects.select_related("conversation__project__team", "leaf_turn").filter(token_hash=digest).first()
    )
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None
    return link


def team_links(*, team: Team) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(conversation__project__team=team).select_related("conversation", "created_by")
