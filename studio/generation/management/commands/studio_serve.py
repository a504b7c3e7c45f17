"""`manage.py studio_serve`: the embedded studio in one process.

Migrates, collects static files, makes sure an admin exists, starts the built-in Gemini emulator
when no key is configured, then serves HTTP and websockets with Daphne and runs the generation
runner in Daphne's own event loop. SIGTERM drains running jobs before exit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from studio.accounts.models import User
from studio.accounts.services import user_sign_up

if TYPE_CHECKING:
    from studio.emulator.server import EmulatorProcess


class Command(BaseCommand):
    help = "Serve the studio (Daphne + generation runner; the Gemini emulator when no key is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-runner", action="store_true", help="web only (a scaled web process)")
        parser.add_argument("--emulator-port", type=int, default=0, help="port for the built-in emulator (0: any)")

    def handle(self, *args: Any, **options: Any) -> None:
        self._emulator: EmulatorProcess | None = None
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)  # the database cache (throttle counts) when no Redis
        call_command("collectstatic", interactive=False, verbosity=0)
        self._ensure_admin()
        self._gemini_backend(options["emulator_port"])
        self._health(run_jobs=not options["no_runner"])
        try:
            self._serve(options["host"], options["port"], run_jobs=not options["no_runner"])
        finally:
            if self._emulator is not None:
                self._emulator.stop()

    def _ensure_admin(self) -> None:
        password_file = settings.VAR_DIR / "initial_admin_password"
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            user = user_sign_up(username="admin", email="admin@localhost", password=password)
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        if password_file.exists():
            self.stdout.write(
                f"Admin login: admin / {password_file.read_text().strip()}  "
                f"(stored in {password_file}; delete the file once you changed it)"
            )

    def _gemini_backend(self, emulator_port: int) -> None:
        if settings.GEMINI_API_KEY or settings.GEMINI_VERTEX_PROJECT:
            self.stdout.write("Gemini: calling Google with the configured credentials.")
            return
        if settings.GEMINI_BASE_URL:
            self.stdout.write(f"Gemini: no key; using the emulator at {settings.GEMINI_BASE_URL}.")
            return
        from studio.emulator import EmulatorConfig
        from studio.emulator.config import config_from_environ
        from studio.emulator.server import serve_in_process

        # A person watching should see thoughts stream: slower than the emulator's own defaults,
        # unless GEMINI_EMULATOR_* variables say otherwise (a port given here wins over its variable).
        # One drawing at a time: a 4K one holds about 150 MB, and one person's turns take no longer.
        base = EmulatorConfig(
            latency_first_ms=400, latency_event_ms=250, drawing_threads=1, render_cache_mb=16, log_bodies_mb=8
        )
        config = config_from_environ(os.environ, base)
        if emulator_port or "GEMINI_EMULATOR_PORT" not in os.environ:
            config = replace(config, port=emulator_port)
        # Its own process: the studio's memory stays the studio's, and the emulator's is given back.
        log = settings.VAR_DIR / "emulator.log"
        self._emulator = serve_in_process(config, log)
        settings.GEMINI_BASE_URL = self._emulator.url
        (settings.VAR_DIR / "emulator_url").write_text(self._emulator.url + "\n")
        self.stdout.write(
            f"Gemini: EMULATOR MODE (no GEMINI_API_KEY): built-in emulator at {self._emulator.url} "
            f"(first byte {config.latency_first_ms} ms, events {config.latency_event_ms} ms apart; log {log})."
        )

    def _health(self, *, run_jobs: bool) -> None:
        """One line from the doctor, and the model catalogue checked against what Gemini serves."""
        from studio.generation.model_check import CheckUnavailable, check_served_models
        from studio.ops.doctor import run_checks, summary

        embedded_runner = run_jobs and settings.STUDIO_RUNNER == "embedded"
        line = summary(run_checks(runners=not embedded_runner))
        self.stdout.write(line + (" (the runner starts with this process)" if embedded_runner else ""))
        try:
            self.stdout.write(f"Model catalogue: {check_served_models().summary()}")
        except CheckUnavailable as error:
            self.stdout.write(f"Model catalogue: not checked ({error})")

    def _serve(self, host: str, port: int, *, run_jobs: bool) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import defer, reactor

        from studio.asgi import application
        from studio.generation.assembly import build_runner

        if run_jobs and settings.STUDIO_RUNNER == "embedded":
            runner = build_runner()
            tasks: list[asyncio.Future[None]] = []  # keep a reference so the task is not collected

            def start_runner() -> None:
                tasks.append(asyncio.ensure_future(runner.run()))

            def drain() -> defer.Deferred[None]:
                runner.stop()
                return defer.Deferred.fromFuture(asyncio.ensure_future(runner.stopped()))

            twisted: Any = reactor  # the installed asyncio reactor; its interfaces are not statically known
            twisted.callWhenRunning(start_runner)
            twisted.addSystemEventTrigger("before", "shutdown", drain)
        self.stdout.write(f"Studio on http://{host}:{port}/  (Ctrl+C to stop)")
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            application_close_timeout=30,
        ).run()
