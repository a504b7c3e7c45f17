"""`manage.py studio_worker --concurrency 32`: a scaled-mode worker process (no web server)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.generation.assembly import build_runner
from studio.ops.allocator import return_large_buffers
from studio.ops.cpus import CpuSpecError, parse_cpus, pin_threads


class Command(BaseCommand):
    help = "Run generation jobs from the shared database until SIGTERM, then drain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=None, help="jobs at once (default: settings)")
        parser.add_argument(
            "--cpus",
            default=None,
            help='keep every thread on these cores, e.g. "0" or "2-3" (default: STUDIO_WORKER_CPUS; empty: any)',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        spec = settings.STUDIO_WORKER_CPUS if options["cpus"] is None else options["cpus"].strip()
        if spec:
            try:
                cores = pin_threads(parse_cpus(spec))
            except CpuSpecError as error:
                raise CommandError(f"STUDIO_WORKER_CPUS / --cpus: {error}") from error
            self.stdout.write(f"studio_worker: every thread on cores {sorted(cores)}")
        return_large_buffers()
        asyncio.run(self._main(options["concurrency"]))

    async def _main(self, concurrency: int | None) -> None:
        runner = build_runner(concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runner.stop)
        self.stdout.write(f"studio_worker {runner.worker_id}: concurrency {runner.settings.concurrency}")
        await runner.run()
