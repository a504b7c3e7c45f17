"""Generations per second with 1 and with 2 `studio_worker` processes (the scaled deployment).

On a scratch PostgreSQL database and Redis, 400 generations (100 turns of 4, 1K) are queued, then the
workers start (64 jobs at once each). The rate is counted from the first claim to the last image
stored, from the rows' own timestamps. Each count is made twice: with the workers' threads on any
core, and with each worker on a core of its own (`STUDIO_WORKER_CPUS`, worker i on core i). The
emulator runs as its own process on the same 2 cores; its CPU is printed too, because on this
machine it competes with the workers for them.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

import psycopg

BASE = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
SCRATCH = f"studio_bench_{uuid.uuid4().hex[:8]}"
_server = BASE.rpartition("/")[0]
with psycopg.connect(f"{_server}/postgres", autocommit=True) as _admin:
    _admin.execute(f'CREATE DATABASE "{SCRATCH}"')
os.environ["DATABASE_URL"] = f"{_server}/{SCRATCH}"
os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
os.environ["STUDIO_CACHE_PREFIX"] = SCRATCH
os.environ["STUDIO_RUNNER"] = "external"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = f"/tmp/{SCRATCH}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from bench.live import process_cpu_seconds, queue_crowd, start_emulator, start_worker, stop, studio_env  # noqa: E402
from studio.chat.models import Response, ResponseStatus  # noqa: E402
from studio.ops.cpus import allowed_cpus  # noqa: E402

FINISHED = [ResponseStatus.SUCCEEDED, ResponseStatus.FAILED]


def measure(gemini_url: str, emulator_pid: int, workers: int, generations: int, concurrency: int, pinned: bool) -> str:
    ids = queue_crowd("throughput", generations)
    mine = Response.objects.filter(pk__in=ids)
    emulator_cpu = process_cpu_seconds(emulator_pid)
    cores = sorted(allowed_cpus() or ()) if pinned else []
    processes = [
        start_worker(
            studio_env(gemini_url, STUDIO_WORKER_CPUS=str(cores[i % len(cores)]) if cores else ""), concurrency
        )
        for i in range(workers)
    ]
    try:
        deadline = time.monotonic() + 600
        while mine.filter(status__in=FINISHED).count() < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the generations did not finish in 10 minutes")
            time.sleep(0.25)
        worker_cpu = sum(process_cpu_seconds(p.pid) for p in processes)
    finally:
        stop(*processes)
    emulator_cpu = process_cpu_seconds(emulator_pid) - emulator_cpu
    span = mine.aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    failed = mine.filter(status=ResponseStatus.FAILED).count()
    return (
        f"{workers} worker{'s' if workers > 1 else ''}"
        f" ({'each on a core of its own' if pinned else 'threads on any core'}):"
        f" {len(ids)} generations in {seconds:.2f}s ="
        f" {len(ids) / seconds:.1f} generations/s ({failed} failed); workers' CPU {worker_cpu:.1f}s"
        f" (start-up included), the emulator's {emulator_cpu:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    emulator, gemini_url = start_emulator(first_ms=500, event_ms=20)
    try:
        rates = [
            measure(gemini_url, emulator.pid, n, args.generations, args.concurrency, pinned)
            for n in (1, 2)
            for pinned in (False, True)
        ]
    finally:
        stop(emulator)
        connections.close_all()
        with psycopg.connect(f"{_server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
    for line in rates:
        print(f"throughput (PostgreSQL + Redis, {os.cpu_count()} cores): {line}")


if __name__ == "__main__":
    main()
