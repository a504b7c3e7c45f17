"""How fast the emulator makes images and answers calls.

Prints, in one run:
* render time for 1K/2K/4K images (fresh prompts, so no cache), against the floor of just
  JPEG-encoding a blank image of the same size;
* a 4K edit (decode, fit, tint, re-encode);
* requests/second for 1K non-streaming generateContent calls with zero latency, against the
  same server's /_emulator/health round trip (the HTTP floor), fresh and repeated prompts.
Targets (issue 2): a 4K image well under a second on 2 cores.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from PIL import Image

from studio.emulator import EmulatorConfig
from studio.emulator.imaging import PIXEL_SIZES, ImageSpec, render
from studio.emulator.server import serve_in_thread

MODEL = "gemini-3-pro-image"
RUNS = 5


def median_seconds(action: Callable[[int], object], runs: int = RUNS) -> float:
    timings = []
    for index in range(runs):
        started = time.perf_counter()
        action(index)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def blank_jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(out, "JPEG", quality=88)
    return out.getvalue()


def render_figures() -> None:
    print(f"{'image':<14}{'pixels':>14}{'render ms':>12}{'encode-only ms':>16}{'ratio':>8}")
    for size in ("1K", "2K", "4K"):
        for aspect in ("1:1", "16:9", "21:9"):
            pixels = PIXEL_SIZES[aspect][size]

            def make(i: int, aspect: str = aspect, size: str = size) -> object:
                return render(
                    ImageSpec(prompt=f"bench {i} {aspect}", aspect_ratio=aspect, image_size=size, turn=1, seed=i)
                )

            took = median_seconds(make)
            floor = median_seconds(lambda _i, p=pixels: blank_jpeg(p))  # type: ignore[misc]
            label = f"{size} {aspect}"
            print(
                f"{label:<14}{pixels[0]:>7}x{pixels[1]:<6}{took * 1000:>12.0f}{floor * 1000:>16.0f}{took / floor:>8.2f}"
            )
    base = render(ImageSpec(prompt="base", aspect_ratio="16:9", image_size="4K", turn=1, seed=1)).data
    refs = tuple(
        render(ImageSpec(prompt=f"r{i}", aspect_ratio="1:1", image_size="1K", turn=1, seed=i)).data for i in range(3)
    )

    def edit(i: int) -> object:
        spec = ImageSpec(
            prompt=f"edit {i}", aspect_ratio="16:9", image_size="4K", turn=2, seed=i, base=base, references=refs
        )
        return render(spec)

    print(f"4K edit with 3 references: {median_seconds(edit) * 1000:.0f} ms (median of {RUNS})")


async def rate(call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]], total: int, workers: int) -> float:
    async with httpx.AsyncClient(timeout=60) as client:
        queue = iter(range(total))
        started = time.perf_counter()

        async def worker() -> None:
            for index in queue:
                response = await call(client, index)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(workers)))
        return total / (time.perf_counter() - started)


def throughput_figures() -> None:
    server = serve_in_thread(EmulatorConfig(port=0, latency_first_ms=0, latency_event_ms=0))
    url = f"{server.url}/v1beta/models/{MODEL}:generateContent"
    headers = {"x-goog-api-key": "bench"}

    def generate(fresh: bool) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
        async def call(client: httpx.AsyncClient, index: int) -> httpx.Response:
            prompt = f"a lighthouse number {index}" if fresh else "a lighthouse"
            body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
            return await client.post(url, json=body, headers=headers)

        return call

    async def health(client: httpx.AsyncClient, _index: int) -> httpx.Response:
        return await client.get(f"{server.url}/_emulator/health")

    try:
        floor = asyncio.run(rate(health, 400, 8))
        fresh = asyncio.run(rate(generate(True), 120, 8))
        repeated = asyncio.run(rate(generate(False), 200, 8))
    finally:
        server.stop()
    print(f"HTTP floor (/_emulator/health): {floor:8.1f} req/s")
    print(f"1K generateContent, fresh prompts: {fresh:8.1f} req/s  ({fresh / floor:.3f} of the floor)")
    print(
        f"1K generateContent, same prompt (render cache): {repeated:8.1f} req/s  ({repeated / floor:.3f} of the floor)"
    )


if __name__ == "__main__":
    render_figures()
    throughput_figures()
