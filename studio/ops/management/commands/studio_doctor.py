"""`manage.py studio_doctor`: check every part the studio needs, one line each; exit 1 on a failure."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.ops.doctor import CHECKS, run_checks, summary


class Command(BaseCommand):
    help = "Check Gemini credentials and model, storage, database, channel layer, runners and clocks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-runners", action="store_true", help="skip the runner heartbeat check")
        parser.add_argument(
            "--only", action="append", choices=sorted(CHECKS), default=[], help="run just this check (repeatable)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        findings = run_checks(runners=not options["no_runners"], only=options["only"])
        for finding in findings:
            self.stdout.write(finding.line())
        if any(not f.ok for f in findings):
            raise CommandError(summary(findings))
        self.stdout.write(summary(findings))
