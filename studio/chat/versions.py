"""Version history: every final image of a conversation, its lineage, and lineage exports."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage

from .branches import ConversationTree
from .imagestore import MIME_EXTENSION
from .models import Conversation, ImageVersion, Turn


@dataclass(frozen=True)
class Version:
    number: int  # 1 for the oldest: what the gallery calls it
    image: ImageVersion
    parent: ImageVersion | None  # the image this one was edited from
    parent_number: int | None  # the parent's number in the same gallery


def conversation_versions(*, conversation: Conversation) -> list[Version]:
    images = (
        ImageVersion.objects.finished()
        .filter(response__turn__conversation=conversation)
        .select_related("response__turn__parent_response")
        .prefetch_related("response__turn__parent_response__images")
        .order_by("created_at", "pk")
    )
    versions: list[Version] = []
    numbers: dict[int, int] = {}
    for number, image in enumerate(images, start=1):
        numbers[image.pk] = number
        parent_response = image.response.turn.parent_response
        parent = parent_response.final_image if parent_response is not None else None
        parent_number = numbers.get(parent.pk) if parent is not None else None
        versions.append(Version(number=number, image=image, parent=parent, parent_number=parent_number))
    return versions


@dataclass(frozen=True)
class BranchGroup:
    """The versions a branch adds: the first branch shows all of its own, a later one only those after
    it forks (its earlier versions are in the group it forks from)."""

    number: int
    leaf_id: int  # its newest turn: "Open in chat" shows the whole branch
    versions: list[Version]
    forks_from: Version | None  # the version its first turn edits (None: it starts a fresh image)


def branch_groups(*, conversation: Conversation, versions: list[Version]) -> list[BranchGroup]:
    """`versions` grouped by branch, in the switcher's order (oldest sibling first, depth first)."""
    turns = list(Turn.objects.filter(conversation=conversation).only("pk", "parent_turn_id", "created_at"))
    tree = ConversationTree(turns)
    by_turn: dict[int, list[Version]] = {}
    for version in versions:
        by_turn.setdefault(version.image.response.turn_id, []).append(version)
    by_image = {version.image.pk: version for version in versions}
    groups: list[BranchGroup] = []
    placed: set[int] = set()
    for leaf in tree.leaves():
        fresh = [step.turn.pk for step in tree.path(leaf) if step.turn.pk not in placed]
        placed.update(fresh)
        shown = [version for turn_id in fresh for version in by_turn.get(turn_id, [])]
        if not shown:
            continue
        edits = shown[0].parent.pk if shown[0].parent is not None else None
        groups.append(BranchGroup(len(groups) + 1, leaf, shown, by_image.get(edits) if groups and edits else None))
    return groups


PAGE = 48  # version cards per page of the versions page; more load as the person asks


@dataclass(frozen=True)
class GroupSlice:
    group: BranchGroup
    versions: list[Version]
    continued: bool  # the group began on an earlier page


def page_of(groups: list[BranchGroup], start: int, size: int = PAGE) -> tuple[list[GroupSlice], int | None]:
    """The cards from `start` (counted across groups, in order) to `start + size`, cut into their
    groups; and where the next page starts (None at the end)."""
    slices: list[GroupSlice] = []
    position = 0
    for group in groups:
        end = position + len(group.versions)
        low, high = max(start, position), min(start + size, end)
        if low < high:
            slices.append(GroupSlice(group, group.versions[low - position : high - position], low > position))
        position = end
    return slices, (start + size if start + size < position else None)


def lineage(image: ImageVersion) -> list[ImageVersion]:
    """The images this one descends from, root first, ending with itself."""
    chain = [image]
    parent = image.response.turn.parent_response
    while parent is not None:
        found = parent.final_image
        if found is not None:
            chain.append(found)
        parent = parent.turn.parent_response
    return list(reversed(chain))


def sidecar(image: ImageVersion, parent: ImageVersion | None) -> dict[str, Any]:
    response = image.response
    turn = response.turn
    grounding = response.grounding or {}
    return {
        "image_id": image.pk,
        "file_sha256": image.sha256,
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "prompt": turn.prompt,
        "settings": turn.settings,
        "model_id": turn.model_id,
        "model_version": response.model_version,
        "seed": response.seed,
        "references": [
            {
                "position": r.position + 1,
                "role": r.role,
                "name": r.original_name,
                "sha256": r.sha256,
                "source_image_id": r.source_version_id,
            }
            for r in turn.references.all()
        ],
        "cost_usd": str(response.cost_usd),
        "usage": response.usage,
        "grounding_sources": [
            {"title": c.get("web", {}).get("title"), "uri": c.get("web", {}).get("uri")}
            for c in grounding.get("grounding_chunks") or []
        ],
        "search_queries": grounding.get("web_search_queries") or [],
        "parent_image_id": parent.pk if parent else None,
        "parent_sha256": parent.sha256 if parent else None,
        "created_at": image.created_at.isoformat(),
    }


CHUNK = 256 * 1024


class _Spool(io.RawIOBase):
    """A write-only, unseekable sink: zipfile writes into it, the generator hands out what piled up."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.pending = b"".join(self.pending), []
        return out


def _files(chain: list[ImageVersion]) -> Iterator[tuple[str, str | None, bytes]]:
    """(name in the ZIP, storage key to copy or None, inline bytes) for each entry, in order."""
    for number, version in enumerate(chain, start=1):
        stem = f"{number:02d}-turn{version.response.turn_id}-image{version.response.index + 1}"
        yield f"{stem}.{version.extension}", version.storage_key, b""
        for ref in version.response.turn.references.all():
            extension = MIME_EXTENSION.get(ref.mime_type, "bin")
            yield f"{stem}-reference{ref.position + 1}-{ref.role}.{extension}", ref.storage_key, b""
        parent = chain[number - 2] if number > 1 else None
        yield f"{stem}.json", None, json.dumps(sidecar(version, parent), indent=2, ensure_ascii=False).encode()


def lineage_zip(image: ImageVersion) -> Iterator[bytes]:
    """The lineage as a ZIP, streamed: each stored file is copied in 256 KB pieces, so memory stays flat
    whatever the lineage's size (zipfile writes data descriptors when its output cannot seek)."""
    chain = lineage(image)
    spool = _Spool()
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:  # images are compressed already
        for name, key, data in _files(chain):
            with archive.open(name, "w", force_zip64=True) as entry:
                if key is None:
                    entry.write(data)
                else:
                    with default_storage.open(key, "rb") as handle:
                        while piece := handle.read(CHUNK):
                            entry.write(piece)
                            yield spool.take()
            yield spool.take()
    yield spool.take()
