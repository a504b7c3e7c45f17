"""How much the studio adds on top of Gemini itself, and how one worker copes with a crowd.

Prints, in one run against the emulator:
1. overhead: the studio's time from submitting a turn to the final image fragment arriving on the
   conversation socket, divided by a direct google-genai call's time for the same request
   (2K, 3 s emulator latency; target <= 1.05);
2. crowd: 200 generations at once in one worker process, against the floor measured in the same run
   (the same 200 calls made straight through the SDK, nothing stored), in rounds of one after the
   other; the figures are the rounds' medians. Targets (issue 14): the
   studio's time within 1.15x the floor's, in both latency shapes; the worker's CPU per generation
   within 2x the bare SDK's; peak memory under 400 MB.
The emulator runs as its own process so the worker's memory is its own. This process keeps its
threads on one core, as `studio_worker --cpus` does (the floor, one thread, runs there too);
`--unpinned` lets them run on every core. Uses a scratch SQLite database unless DATABASE_URL is set
(use a scratch PostgreSQL database then).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-bench-")
os.environ.pop("REDIS_URL", None)  # in-process channel layer: socket and runner share this process

import django  # noqa: E402

django.setup()

import httpx2  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from google import genai  # noqa: E402
from google.genai import types  # noqa: E402
from PIL import Image  # noqa: E402

from bench.live import person, process_cpu_seconds, queue_crowd, start_emulator  # noqa: E402
from studio.accounts.models import Membership  # noqa: E402
from studio.chat import services  # noqa: E402
from studio.chat.imagestore import read_bytes, thumbnail_webp  # noqa: E402
from studio.chat.models import Conversation, ImageVersion, Response, ResponseStatus  # noqa: E402
from studio.chat.options import GenerationOptions  # noqa: E402
from studio.generation.assembly import build_runner  # noqa: E402
from studio.ops.cpus import allowed_cpus, pin_threads  # noqa: E402
from studio.realtime.routing import websocket_urlpatterns  # noqa: E402

LATENCY_MS = 3000
MODEL = "gemini-3-pro-image"


def thumbnails_cpu_seconds(keys: list[str]) -> float:
    """What the crowd's WebP thumbnails cost, made one after another from the originals (the worker
    leaves them to each image's first view)."""
    started = time.process_time()
    for key in keys:
        with Image.open(io.BytesIO(read_bytes(key))) as image:
            thumbnail_webp(image)
    return time.process_time() - started


async def direct_sdk_seconds(url: str, prompt: str, seed: int) -> float:
    client = genai.Client(api_key="bench", http_options=types.HttpOptions(base_url=url, api_version="v1beta"))
    config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio="16:9", image_size="2K"),
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        seed=seed,
    )
    started = time.perf_counter()
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=prompt, config=config)
    elapsed = None
    async for chunk in stream:  # read to the end (the closing event follows at once), timing the image
        parts = chunk.candidates[0].content.parts if chunk.candidates and chunk.candidates[0].content else []
        if elapsed is None and any(p.inline_data and not p.thought for p in parts or []):
            elapsed = time.perf_counter() - started
    if elapsed is None:
        raise RuntimeError("no final image")
    return elapsed


def world() -> tuple[Conversation, Membership]:
    membership, conversation = person("bench")
    return conversation, membership


async def studio_seconds(prompt: str) -> tuple[float, int]:
    conversation, membership = await database_sync_to_async(world)()
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/conversations/{conversation.pk}/")
    socket.scope["user"] = membership.user
    await socket.connect()
    await socket.receive_from(timeout=10)  # snapshot
    options = GenerationOptions(aspect_ratio="16:9", image_size="2K")
    started = time.perf_counter()
    turn = await database_sync_to_async(services.turn_submit)(
        conversation=conversation, membership=membership, user=membership.user, prompt=prompt, options=options
    )
    while True:
        message = await socket.receive_from(timeout=60)
        if "response-succeeded" in message and "/media/v/" in message:
            elapsed = time.perf_counter() - started
            break
    await socket.disconnect()
    seed = await database_sync_to_async(lambda: Response.objects.get(turn=turn).seed)()
    return elapsed, seed


async def overhead(url: str) -> None:
    settings.GEMINI_BASE_URL = url
    runner = build_runner(concurrency=4)
    runner.settings.poll_seconds = 1.0  # wake-ups, not polling, must carry the latency
    task = asyncio.create_task(runner.run())
    ratios = []
    for index in range(5):
        prompt = f"a lighthouse at dusk, take {index}"
        studio, seed = await studio_seconds(prompt)
        direct = await direct_sdk_seconds(url, prompt, seed)
        ratios.append(studio / direct)
        print(f"  run {index + 1}: studio {studio:.3f}s  direct SDK {direct:.3f}s  ratio {studio / direct:.3f}")
    runner.stop()
    await task
    print(
        f"overhead ratio (median of 5, 2K, {LATENCY_MS} ms latency): {statistics.median(ratios):.3f}  (target <= 1.05)"
    )


async def direct_crowd(url: str, count: int) -> tuple[float, float]:
    """The floor: the same number of calls made straight through the SDK, nothing stored, with the
    connection pool sized as the studio sizes it (the SDK's default of 100 would queue the rest)."""
    pool = {"limits": httpx2.Limits(max_connections=count, max_keepalive_connections=count)}
    options = types.HttpOptions(base_url=url, api_version="v1beta", async_client_args=pool)
    client = genai.Client(api_key="bench", http_options=options)

    async def one(index: int) -> None:
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            thinking_config=types.ThinkingConfig(include_thoughts=True),
            seed=100_000 + index,
        )
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents=f"direct {index}", config=config)
        async for _chunk in stream:
            pass

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started, time.process_time() - cpu


@dataclass(frozen=True)
class CrowdRound:
    elapsed: float
    floor: float
    cpu: float
    floor_cpu: float
    emulator_cpu: float
    failed: int
    images: list[str]


async def crowd_round(emulator: subprocess.Popen[bytes], url: str, count: int) -> CrowdRound:
    """The studio's crowd, then the floor's, back to back (the machine's speed drifts over minutes)."""
    settings.GEMINI_BASE_URL = url
    mine = Response.objects.filter(pk__in=await database_sync_to_async(queue_crowd)("crowd", count))
    runner = build_runner(concurrency=count)
    started, cpu, emulator_cpu = time.perf_counter(), time.process_time(), process_cpu_seconds(emulator.pid)
    task = asyncio.create_task(runner.run())
    # Done when the runner's jobs (its tasks are named after their responses) have run to the end.
    # Awaited, not polled: polling the database, or even memory every few ms, adds the bench's own
    # CPU to the worker's.
    while not runner.active_ids:
        await asyncio.sleep(0.005)
    jobs = [job for job in asyncio.all_tasks() if job.get_name().startswith("response-")]
    await asyncio.wait(jobs)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    unfinished = await database_sync_to_async(
        lambda: mine.exclude(status__in=[ResponseStatus.SUCCEEDED, ResponseStatus.FAILED]).count()
    )()
    if unfinished:
        raise RuntimeError(f"{unfinished} responses did not finish in the first claim")
    emulator_cpu = process_cpu_seconds(emulator.pid) - emulator_cpu
    runner.stop()
    await task
    failed = await database_sync_to_async(lambda: mine.filter(status=ResponseStatus.FAILED).count())()
    keys = await database_sync_to_async(
        lambda: sorted(set(ImageVersion.objects.filter(response__in=mine).values_list("storage_key", flat=True)))
    )()
    floor, floor_cpu = await direct_crowd(url, count)
    return CrowdRound(elapsed, floor, cpu, floor_cpu, emulator_cpu, failed, keys)


async def crowd(
    emulator: subprocess.Popen[bytes], url: str, label: str, cores: str, count: int = 200, rounds: int = 5
) -> None:
    """Rounds of studio-then-floor; the figures are the rounds' medians (one round can be 20% off)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    measured: list[CrowdRound] = []
    for number in range(1, rounds + 1):
        one = await crowd_round(emulator, url, count)
        measured.append(one)
        print(
            f"crowd [{label}] round {number}: studio {one.elapsed:.2f}s, floor {one.floor:.2f}s:"
            f" {one.elapsed / one.floor:.3f}x; CPU per generation {one.cpu / count * 1000:.1f} ms against"
            f" {one.floor_cpu / count * 1000:.1f} ms: {one.cpu / one.floor_cpu:.1f}x"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the floor's calls hold far less
    thumbnails_cpu = await asyncio.to_thread(thumbnails_cpu_seconds, measured[0].images)

    def median(figure: Callable[[CrowdRound], float]) -> float:
        return statistics.median(figure(one) for one in measured)

    elapsed, floor = median(lambda r: r.elapsed), median(lambda r: r.floor)
    seconds = LATENCY_MS / 1000
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"crowd [{label}]: {count} generations (1K) in {elapsed:.2f}s = {elapsed / seconds:.2f}x the latency;"
        f" failed {sum(one.failed for one in measured)} (medians of {rounds} rounds from here on)"
    )
    print(
        f"crowd [{label}]: floor, {count} direct SDK streams at once: {floor:.2f}s = {floor / seconds:.2f}x;"
        f" the studio takes {median(lambda r: r.elapsed / r.floor):.3f}x the floor (target <= 1.15)"
    )
    cpu, floor_cpu = median(lambda r: r.cpu), median(lambda r: r.floor_cpu)
    print(
        f"crowd [{label}]: worker CPU per generation {cpu / count * 1000:.1f} ms; the bare SDK's"
        f" {floor_cpu / count * 1000:.1f} ms: {median(lambda r: r.cpu / r.floor_cpu):.1f}x (target <= 2; the"
        f" emulator runs in its own process; {cores})"
    )
    print(
        f"crowd [{label}]: worker peak RSS {peak:.0f} MB (before {before:.0f} MB; target < 400 MB); database {engine}"
    )
    print(
        f"crowd [{label}]: CPU, in core-seconds on {os.cpu_count()} cores: the worker used {cpu:.1f} in all (the"
        f" bare SDK {floor_cpu:.1f} of the same work; the {len(measured[0].images)} WebP thumbnails, which their"
        f" first view makes now, would add {thumbnails_cpu:.1f}), the emulator {median(lambda r: r.emulator_cpu):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["overhead", "crowd"], help="run one of the two measurements")
    parser.add_argument(
        "--unpinned", action="store_true", help="let this process's threads run on every core (as before 2026-12)"
    )
    args = parser.parse_args()
    allowed = allowed_cpus()
    if args.unpinned or not allowed:
        placed = "every thread of this process on any core"
    else:
        placed = f"every thread of this process on core {sorted(pin_threads({min(allowed)}))}, as studio_worker --cpus"
    print(f"cores: {placed}; the emulator on any core")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the runner's chores take a lock in the database cache
    emulator, url = start_emulator(LATENCY_MS, 20, cpus=allowed)
    try:
        if args.only != "crowd":
            asyncio.run(overhead(url))
        if args.only != "overhead":
            asyncio.run(crowd(emulator, url, "3 s before the first byte", placed))
    finally:
        emulator.terminate()
    if args.only == "overhead":
        return
    # Gemini streams its thoughts while it thinks: the same 3 s, spread over the stream's events.
    emulator, url = start_emulator(600, 240, cpus=allowed)
    try:
        asyncio.run(crowd(emulator, url, "3 s spread over the stream", placed))
    finally:
        emulator.terminate()


if __name__ == "__main__":
    main()
