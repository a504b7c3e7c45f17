"""Which queued responses to start next, fairly. The Gemini project's rate limits are shared by
every team, so there is a global cap on concurrent calls (STUDIO_GEMINI_CONCURRENCY) and a cap per
team (STUDIO_TEAM_CONCURRENCY); within them the next slot goes to the team with the fewest running
jobs, oldest request first. One team's 200-image burst therefore cannot starve another team's
single image: the single image is the next one started."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet

from studio.chat.models import Response, ResponseStatus

TEAM = "turn__conversation__project__team_id"
CLAIM_LOCK = 7_134_201  # a PostgreSQL advisory lock: claims are counted and taken one at a time


@dataclass(frozen=True)
class Caps:
    total: int | None  # concurrent Gemini calls across every worker (None: no cap)
    per_team: int | None

    @classmethod
    def from_settings(cls) -> Caps:
        return cls(total=settings.STUDIO_GEMINI_CONCURRENCY or None, per_team=settings.STUDIO_TEAM_CONCURRENCY or None)


def running_per_team() -> dict[int, int]:
    rows = Response.objects.filter(status=ResponseStatus.RUNNING).values(TEAM).annotate(n=Count("pk"))
    return {row[TEAM]: row["n"] for row in rows}


def serialise_claims() -> None:
    """Inside the claim's transaction: counts read now stay true until it commits (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already lets one writer in at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK])


def pick(queued: QuerySet[Response], limit: int, caps: Caps) -> list[int]:
    """Up to `limit` queued ids in fair order (see the module's note)."""
    running = running_per_team()
    if caps.total is not None:
        limit = min(limit, caps.total - sum(running.values()))
    if limit <= 0:
        return []
    teams = list(queued.values_list(TEAM, flat=True).distinct().order_by())
    waiting: dict[int, list[tuple[object, int]]] = defaultdict(list)
    for team in teams:
        rows = queued.filter(**{TEAM: team}).order_by("created_at", "pk").values_list("created_at", "pk")[:limit]
        waiting[team] = list(rows)
    # A heap of (running in that team, its oldest waiting request, team): take from the top, push back.
    heap = [(running.get(team, 0), rows[0][0], team) for team, rows in waiting.items() if rows]
    heapq.heapify(heap)
    taken: list[int] = []
    while heap and len(taken) < limit:
        count, _, team = heapq.heappop(heap)
        if caps.per_team is not None and count >= caps.per_team:
            continue  # this team is at its cap; the others carry on
        _, pk = waiting[team].pop(0)
        taken.append(pk)
        if waiting[team]:
            heapq.heappush(heap, (count + 1, waiting[team][0][0], team))
    return taken


def queue_positions(responses: list[Response]) -> dict[int, int]:
    """For queued `responses` (turn, conversation and project loaded): roughly how many queued
    requests start before each (1: it is next), under fair order, in a few queries: each team's
    first requests go before anyone's later ones."""
    waiting = [r for r in responses if r.status == ResponseStatus.QUEUED]
    if not waiting:
        return {}
    queued = Response.objects.filter(status=ResponseStatus.QUEUED)
    per_team = dict(queued.values_list(TEAM).annotate(n=Count("pk")).order_by())
    ranks: dict[int, int] = {}
    for team in {r.turn.conversation.project.team_id for r in waiting}:
        order = queued.filter(**{TEAM: team}).order_by("created_at", "pk").values_list("pk", flat=True)
        ranks.update({pk: rank for rank, pk in enumerate(order)})
    positions = {}
    for response in waiting:
        team = response.turn.conversation.project.team_id
        rank = ranks.get(response.pk, 0)
        others = sum(min(n, rank + 1) for other, n in per_team.items() if other != team)
        positions[response.pk] = rank + others + 1
    return positions
