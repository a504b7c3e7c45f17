"""`manage.py studio_storage_copy`: copy the files of a local media folder into the configured
storage (an S3 bucket, say, when moving an embedded studio to a scaled one), keeping their keys,
then read each back and compare sha256. Files already there with the same bytes are skipped; a key
already there with other bytes is reported and left alone. Exit 1 if anything did not verify."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.ops.chores import stored_files

CHUNK = 1024 * 1024


def _sha256(storage: Any, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open(key, "rb") as handle:
        while piece := handle.read(CHUNK):
            digest.update(piece)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Copy a local media folder into the configured storage, verifying every file by sha256."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", default=str(settings.MEDIA_ROOT), help="local media folder")

    def handle(self, *args: Any, **options: Any) -> None:
        source = FileSystemStorage(location=Path(options["source"]))
        copied = skipped = 0
        problems: list[str] = []
        for key in stored_files("conversations", storage=source):
            wanted = _sha256(source, key)
            if default_storage.exists(key):
                if _sha256(default_storage, key) == wanted:
                    skipped += 1
                else:
                    problems.append(f"{key}: already in the target storage with other bytes; left alone")
                continue
            with source.open(key, "rb") as handle:
                saved = default_storage.save(key, File(handle))
            if saved != key or _sha256(default_storage, saved) != wanted:
                problems.append(f"{key}: did not verify after copying (stored as {saved})")
                continue
            copied += 1
        self.stdout.write(f"copied {copied}, already there {skipped}, problems {len(problems)}")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} files did not verify")
