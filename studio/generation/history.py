"""Build the request for a response: the chain root -> parent replayed exactly as stored.

Each ancestor turn goes back as a `user` content; each chosen ancestor response as a `model`
content with its parts and signatures as received, thought parts left out. Parts are never rebuilt
from rendered text (GEMINI_API.md section 8)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from studio.chat.imagestore import read_bytes
from studio.chat.models import ImageVersion, Response, Turn
from studio.chat.options import GenerationOptions, closest_aspect_ratio

from .messages import ImageRequest, InputContent, InputPart


@dataclass(frozen=True)
class Job:
    response_id: int
    conversation_id: int
    options: GenerationOptions
    request: ImageRequest
    folder: str  # storage folder for this response's images


def _signature(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


def _model_content(response: Response) -> InputContent:
    images = {image.pk: image for image in ImageVersion.objects.filter(response=response)}
    parts: list[InputPart] = []
    for stored in response.parts:
        if stored.get("thought"):
            continue
        if "image" in stored:
            image = images[int(stored["image"])]
            data = read_bytes(image.storage_key)
            parts.append(InputPart(data=data, mime_type=image.mime_type, signature=_signature(stored.get("signature"))))
        else:
            parts.append(InputPart(text=stored.get("text", ""), signature=_signature(stored.get("signature"))))
    return InputContent(role="model", parts=tuple(parts))


def _user_content(turn: Turn) -> InputContent:
    """The prompt, then each reference image after a short label naming its role."""
    parts = [InputPart(text=turn.prompt)]
    for number, reference in enumerate(turn.references.all(), start=1):
        parts.append(InputPart(text=f"Reference image {number} ({reference.get_role_display().lower()}):"))
        parts.append(InputPart(data=read_bytes(reference.storage_key), mime_type=reference.mime_type))
    return InputContent(role="user", parts=tuple(parts))


def ancestry(response: Response) -> list[Response]:
    """The chosen responses from the root to this response's parent, oldest first."""
    chain: list[Response] = []
    parent = response.turn.parent_response
    while parent is not None:
        chain.append(parent)
        parent = parent.turn.parent_response
    chain.reverse()
    return chain


def load_job(response_id: int) -> Job:
    response = Response.objects.select_related("turn__conversation__project", "turn__parent_response__turn").get(
        pk=response_id
    )
    turn = response.turn
    options = turn.options
    contents: list[InputContent] = []
    for ancestor in ancestry(response):
        contents.append(_user_content(ancestor.turn))
        contents.append(_model_content(ancestor))
    contents.append(_user_content(turn))
    first_reference = turn.references.first()
    aspect = None if options.aspect_ratio == "auto" else options.aspect_ratio
    if aspect is None and first_reference is not None:
        aspect = closest_aspect_ratio(first_reference.width, first_reference.height)
    request = ImageRequest(
        model=turn.model_id,
        contents=tuple(contents),
        system_instruction=turn.conversation.project.system_instruction,
        aspect_ratio=aspect,
        image_size=options.image_size,
        grounding=options.grounding,
        safety_threshold=None if options.safety == "default" else options.safety,
        seed=response.seed,
    )
    return Job(
        response_id=response.pk,
        conversation_id=turn.conversation_id,
        options=options,
        request=request,
        folder=f"conversations/{turn.conversation_id}/responses/{response.pk}",
    )
