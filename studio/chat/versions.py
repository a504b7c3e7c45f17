"""Version history: every final image of a conversation, its lineage, and lineage exports."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage

from .models import Conversation, ImageVersion


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


def lineage_zip(image: ImageVersion) -> bytes:
    chain = lineage(image)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:  # images are compressed already
        for number, version in enumerate(chain, start=1):
            stem = f"{number:02d}-turn{version.response.turn_id}-image{version.response.index + 1}"
            with default_storage.open(version.storage_key, "rb") as handle:
                archive.writestr(f"{stem}.{version.extension}", handle.read())
            parent = chain[number - 2] if number > 1 else None
            archive.writestr(f"{stem}.json", json.dumps(sidecar(version, parent), indent=2, ensure_ascii=False))
    return out.getvalue()
