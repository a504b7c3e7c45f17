"""What quota enforcement costs a submit, on PostgreSQL with 50 people submitting at once.

Two teams of 50 members each, every member in a conversation of their own. In each round 50
threads (one connection each) submit one turn at the same instant: once for the team with limits
(the reservation locks the team's counter row, checks it and writes the ledger) and once for the
team without (the same ledger writes, no lock and no check). Rounds alternate so both see the same
machine. Prints the per-submit latency of each and the ratio (target: under 1.2x).

Uses a scratch database on STUDIO_BENCH_DATABASE_URL's server (default: the local PostgreSQL).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg

SERVER = os.environ.get("STUDIO_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
NAME = f"studio_bench_{uuid.uuid4().hex[:8]}"
BASE = SERVER.rpartition("/")[0]
SUBMITTERS = 50
ROUNDS = 6


def main() -> None:
    with psycopg.connect(f"{BASE}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{NAME}"')
    try:
        run()
    finally:
        with psycopg.connect(f"{BASE}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


def run() -> None:
    os.environ["DATABASE_URL"] = f"{BASE}/{NAME}"
    os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from studio.accounts.models import Membership, Role, Team
    from studio.accounts.services import user_sign_up
    from studio.billing.models import Quota
    from studio.chat import services
    from studio.chat.options import GenerationOptions

    call_command("migrate", verbosity=0)

    def team_of(label: str, limits: bool) -> list[tuple[Membership, Any]]:
        team = Team.objects.create(name=label)
        Quota.objects.create(
            team=team,
            spend_limit_usd=Decimal("100000") if limits else None,
            image_limit=10**6 if limits else None,
            member_daily_images=10**5 if limits else None,
        )
        owner = user_sign_up(username=f"{label}-owner", email=f"{label}@example.com", password="x" * 12)
        Membership.objects.create(team=team, user=owner, role=Role.OWNER)
        project = services.project_create(
            team=team, membership=Membership.objects.get(team=team, user=owner), user=owner, name="Bench"
        )
        seats = []
        for index in range(SUBMITTERS):
            user = user_sign_up(username=f"{label}-{index}", email=f"{label}-{index}@example.com", password="x" * 12)
            membership = Membership.objects.create(team=team, user=user, role=Role.MEMBER)
            conversation = services.conversation_create(project=project, membership=membership, user=user)
            seats.append((membership, conversation))
        return seats

    teams = {"with quota": team_of("limited", True), "without": team_of("open", False)}
    options = GenerationOptions(image_size="2K")
    timings: dict[str, list[float]] = {label: [] for label in teams}
    walls: dict[str, list[float]] = {label: [] for label in teams}

    def round_of(label: str, number: int) -> None:
        seats = teams[label]
        barrier = threading.Barrier(len(seats))

        def one(seat: tuple[Membership, Any]) -> float:
            membership, conversation = seat
            try:
                connection.ensure_connection()
                barrier.wait()
                started = time.perf_counter()
                services.turn_submit(
                    conversation=conversation,
                    membership=membership,
                    user=membership.user,
                    prompt=f"a poster, take {number}",
                    options=options,
                )
                return time.perf_counter() - started
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(seats)) as pool:
            timings[label].extend(pool.map(one, seats))
        walls[label].append(time.perf_counter() - started)

    round_of("with quota", -1)  # warm both paths (connections, caches) before measuring
    round_of("without", -1)
    timings = {label: [] for label in teams}
    walls = {label: [] for label in teams}
    for number in range(ROUNDS):
        for label in teams if number % 2 == 0 else reversed(list(teams)):
            round_of(label, number)

    print(f"quota_submit: {SUBMITTERS} concurrent submitters x {ROUNDS} rounds on PostgreSQL")
    for label, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        mean, p50 = statistics.mean(values) * 1000, statistics.median(values) * 1000
        print(
            f"  {label:>10}: mean {mean:6.1f} ms, p50 {p50:6.1f} ms, p95 {p95 * 1000:6.1f} ms per submit;"
            f" round wall {statistics.median(walls[label]) * 1000:6.0f} ms"
        )
    ratio = statistics.mean(timings["with quota"]) / statistics.mean(timings["without"])
    wall_ratio = statistics.median(walls["with quota"]) / statistics.median(walls["without"])
    verdict = "meets" if ratio < 1.2 else "MISSES"
    print(f"  ratio with/without: {ratio:.2f}x per submit, {wall_ratio:.2f}x per round (target < 1.2x: {verdict})")


if __name__ == "__main__":
    main()
