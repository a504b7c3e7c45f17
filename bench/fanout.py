"""Websocket fan-out: one conversation's generation watched by 1 and by 200 connected viewers.

A studio (`manage.py studio_serve`, Daphne and the runner in one process) serves N websockets on one
conversation; a turn of one image is generated. For each viewer: the time from the emulator sending
the final image's event to that viewer receiving the final image fragment. Prints p50, p95 and the
last viewer, for 1 and 200 viewers, with the in-process channel layer and (when REDIS_URL or a Redis
on 127.0.0.1:6379 answers) with Redis, plus the studio's CPU for the whole generation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ["STUDIO_VAR_DIR"] = tempfile.mkdtemp(prefix="studio-fanout-")
os.environ.pop("DATABASE_URL", None)
REDIS_URL = os.environ.pop("REDIS_URL", "") or "redis://127.0.0.1:6379/13"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import redis  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from django.core.management import call_command  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.live import person, process_cpu_seconds, session_cookie, start_emulator, start_studio, stop, studio_env  # noqa: E402
from studio.chat import services  # noqa: E402
from studio.chat.models import Conversation  # noqa: E402
from studio.chat.options import GenerationOptions  # noqa: E402


async def _viewer(url: str, path: str, cookie: str) -> ClientConnection:
    socket = await connect(
        f"ws{url.removeprefix('http')}{path}",
        additional_headers={"Cookie": cookie, "Origin": url},
        max_size=None,
        open_timeout=60,
    )
    await socket.recv()  # the snapshot
    return socket


async def _until_final(socket: ClientConnection) -> float:
    while True:
        message = await socket.recv()
        if isinstance(message, str) and "response-succeeded" in message and "/media/v/" in message:
            return time.time()


def _final_emitted_at(gemini_url: str, prompt: str) -> float:
    log = httpx.get(f"{gemini_url}/_emulator/requests").json()["requests"]
    for entry in reversed(log):
        texts = str(entry.get("body"))
        if "streamGenerateContent" in entry["path"] and prompt in texts:
            return float(next(e["at"] for e in entry["emitted"] if "image" in e["kinds"]))
    raise RuntimeError("the emulator logged no stream for the prompt")


async def watch(url: str, gemini_url: str, pid: int, viewers: int, conversation: Conversation, cookie: str) -> str:
    path = f"/ws/conversations/{conversation.pk}/"
    sockets: list[ClientConnection] = []
    for start in range(0, viewers, 25):  # as people arrive, not all in one instant
        sockets += await asyncio.gather(*(_viewer(url, path, cookie) for _ in range(start, min(viewers, start + 25))))
    waits = [asyncio.create_task(_until_final(socket)) for socket in sockets]
    prompt = f"a lighthouse watched by {viewers} {time.time_ns()}"
    cpu = process_cpu_seconds(pid)
    membership = await database_sync_to_async(
        lambda: conversation.project.team.memberships.select_related("user").get()
    )()
    await database_sync_to_async(services.turn_submit)(
        conversation=conversation,
        membership=membership,
        user=membership.user,
        prompt=prompt,
        options=GenerationOptions(count=1, image_size="1K"),
    )
    arrived = await asyncio.wait_for(asyncio.gather(*waits), timeout=120)
    cpu = process_cpu_seconds(pid) - cpu
    for socket in sockets:
        await socket.close()
    emitted = _final_emitted_at(gemini_url, prompt)
    delays = sorted((at - emitted) * 1000 for at in arrived)
    p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
    return (
        f"{viewers:3} viewers: final image {statistics.median(delays):6.0f} ms p50, {p95:6.0f} ms p95,"
        f" {delays[-1]:6.0f} ms for the last viewer after the emulator sent it; studio CPU {cpu:.2f} s"
    )


def run(layer: str, gemini_url: str, counts: list[int]) -> None:
    extra = {"REDIS_URL": REDIS_URL, "STUDIO_CACHE_PREFIX": f"fanout-{time.time_ns()}"} if layer == "redis" else {}
    server, url = start_studio(studio_env(gemini_url, **extra))
    try:
        for viewers in counts:
            membership, conversation = person("fanout")
            cookie = session_cookie(membership.user)
            print(f"fan-out [{layer}] {asyncio.run(watch(url, gemini_url, server.pid, viewers, conversation, cookie))}")
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 200])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    emulator, gemini_url = start_emulator(first_ms=500, event_ms=100)
    try:
        run("in-process", gemini_url, args.viewers)
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError:
            print(f"fan-out [redis]: not measured, no Redis answers at {REDIS_URL}")
            return
        run("redis", gemini_url, args.viewers)
    finally:
        stop(emulator)


if __name__ == "__main__":
    main()
