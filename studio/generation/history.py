"""Build the request for a response: the chain root -> parent, replayed as stored, within budget.

The newest `inline_turns` ancestors go back as `model` contents with their parts and signatures as
received (thought parts left out; parts are never rebuilt from rendered text). Older ancestors keep
their prompt, and their image travels as a *user* part through the Files API: a user part needs no
signature, so the chain stays valid while the request stops growing. References larger than
`inline_image_max` also go through the Files API. If the estimate still exceeds the budget, fewer
turns are kept inline (GEMINI_API.md sections 7, 8 and 12).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from studio.billing.pricing import PriceList
from studio.billing.selectors import prices_for_responses
from studio.catalogue.capabilities import closest_aspect_ratio
from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import CatalogueError, live, model_by_id, models_by_id
from studio.chat.imagestore import read_bytes, response_folder
from studio.chat.models import ImageVersion, Reference, Response, Turn
from studio.chat.options import GenerationOptions

from .messages import FileSource, ImageRequest, InputContent, InputPart

MIB = 1024 * 1024
MAX_INPUT_IMAGES = 14  # the model's limit on images in user turns
PRODUCED_LABEL = "The image made for this request:"


@dataclass(frozen=True)
class ReplayPolicy:
    inline_turns: int = 3
    budget_bytes: int = 90 * MIB
    inline_image_max: int = MIB

    @classmethod
    def from_settings(cls) -> ReplayPolicy:
        return cls(
            inline_turns=max(0, settings.STUDIO_REPLAY_INLINE_TURNS),
            budget_bytes=int(settings.GEMINI_REQUEST_LIMIT_MB * MIB * 0.9),
            inline_image_max=settings.STUDIO_INLINE_IMAGE_MAX_KB * 1024,
        )


@dataclass(frozen=True)
class Job:
    response_id: int
    conversation_id: int
    options: GenerationOptions
    request: ImageRequest
    folder: str  # storage folder for this response's images
    inline_turns: int  # how many ancestors went back as full model turns
    estimated_bytes: int
    prices: PriceList


def _signature(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


def _via_files(kind: str, row: ImageVersion | Reference) -> InputPart:
    source = FileSource(
        kind=kind,
        row_id=row.pk,
        storage_key=row.storage_key,
        cached_uri=row.files_api_uri,
        cached_backend=row.files_api_backend,
        cached_expires=row.files_api_expires_at,
    )
    return InputPart(mime_type=row.mime_type, via_files=source)


def _model_content(response: Response) -> InputContent:
    images = {image.pk: image for image in response.images.all()}
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


def _user_content(turn: Turn, policy: ReplayPolicy, produced: ImageVersion | None = None) -> InputContent:
    """The prompt, each reference after a label naming its role, and (for a turn replayed without its
    model answer) the image that turn produced."""
    parts = [InputPart(text=turn.prompt)]
    for number, reference in enumerate(turn.references.all(), start=1):
        parts.append(InputPart(text=f"Reference image {number} ({reference.get_role_display().lower()}):"))
        if reference.byte_size > policy.inline_image_max:
            parts.append(_via_files("reference", reference))
        else:
            parts.append(InputPart(data=read_bytes(reference.storage_key), mime_type=reference.mime_type))
    if produced is not None:
        parts.append(InputPart(text=PRODUCED_LABEL))
        parts.append(_via_files("image", produced))
    return InputContent(role="user", parts=tuple(parts))


def estimate_bytes(contents: tuple[InputContent, ...]) -> int:
    """The JSON request's size: base64 grows bytes by 4/3; Files API parts cost only their uri."""
    total = 2048
    for content in contents:
        total += 40
        for part in content.parts:
            if part.text is not None:
                total += len(part.text.encode()) + 24
            if part.data is not None:
                total += math.ceil(len(part.data) / 3) * 4 + 64
            if part.via_files is not None or part.file_uri:
                total += 160
            if part.signature is not None:
                total += math.ceil(len(part.signature) / 3) * 4 + 32
    return total


def ancestry(response: Response) -> list[Response]:
    """The chosen responses from the root to this response's parent, oldest first: the chain is found
    from one list of parent links, then loaded in one query with its images and references."""
    if response.turn.parent_response_id is None:
        return []  # a first turn: nothing to look up
    parent_of = dict(
        Response.objects.filter(turn__conversation_id=response.turn.conversation_id).values_list(
            "pk", "turn__parent_response_id"
        )
    )
    ids: list[int] = []
    parent_id: int | None = response.turn.parent_response_id
    while parent_id is not None:
        ids.append(parent_id)
        parent_id = parent_of.get(parent_id)
    # Parts carry the signatures (up to ~1 MB each); only the ancestors replayed in full read them.
    rows = (
        Response.objects.select_related("turn")
        .prefetch_related("images", "turn__references")
        .defer("parts", "usage", "grounding", "thoughts_text")
        .in_bulk(ids)
    )
    return [rows[pk] for pk in reversed(ids)]


class _Pieces:
    """Each ancestor's contents, built once however many window sizes are tried (they read image
    bytes from storage)."""

    def __init__(self, ancestors: list[Response], policy: ReplayPolicy) -> None:
        self.ancestors = ancestors
        self.policy = policy
        self._inline: dict[int, tuple[InputContent, InputContent]] = {}
        self._collapsed: dict[int, InputContent] = {}

    def inline(self, position: int) -> tuple[InputContent, InputContent]:
        if position not in self._inline:
            ancestor = self.ancestors[position]
            self._inline[position] = (_user_content(ancestor.turn, self.policy), _model_content(ancestor))
        return self._inline[position]

    def collapsed(self, position: int) -> InputContent:
        if position not in self._collapsed:
            ancestor = self.ancestors[position]
            self._collapsed[position] = _user_content(ancestor.turn, self.policy, produced=ancestor.final_image)
        return self._collapsed[position]


def _contents(pieces: _Pieces, current: InputContent, inline_turns: int) -> tuple[InputContent, ...]:
    contents: list[InputContent] = []
    first_inline = len(pieces.ancestors) - inline_turns
    for position in range(len(pieces.ancestors)):
        if position >= first_inline:
            contents.extend(pieces.inline(position))
        else:
            contents.append(pieces.collapsed(position))
    contents.append(current)
    return _within_image_limit(contents)


def _is_image(part: InputPart) -> bool:
    return part.data is not None or part.via_files is not None


def _within_image_limit(contents: list[InputContent]) -> tuple[InputContent, ...]:
    """At most 14 images in user turns: the oldest earlier images leave first (their turns keep their
    words), then the oldest earlier references; the current turn's references always stay."""
    count = sum(1 for c in contents if c.role == "user" for p in c.parts if _is_image(p))
    excess = count - MAX_INPUT_IMAGES
    if excess <= 0:
        return tuple(contents)
    trimmed = list(contents)
    for pass_kind in ("image", "reference"):
        for index, content in enumerate(trimmed[:-1]):
            if excess <= 0 or content.role != "user":
                continue
            kept: list[InputPart] = []
            for part in content.parts:
                drop = (
                    excess > 0
                    and _is_image(part)
                    and (
                        (part.via_files is not None and part.via_files.kind == pass_kind)
                        or (pass_kind == "reference" and part.data is not None)
                    )
                )
                if drop:
                    excess -= 1
                    if kept and kept[-1].text is not None and kept[-1] is not content.parts[0]:
                        kept.pop()  # the label that introduced the dropped image
                    continue
                kept.append(part)
            trimmed[index] = InputContent(role="user", parts=tuple(kept))
    return tuple(trimmed)


def _fit(
    ancestors: list[Response], current: InputContent, policy: ReplayPolicy
) -> tuple[tuple[InputContent, ...], int, int]:
    """The most model turns kept inline (up to the policy's) that keep the request within budget."""
    inline_turns = min(policy.inline_turns, len(ancestors))
    pieces = _Pieces(ancestors, policy)
    contents = _contents(pieces, current, inline_turns)
    size = estimate_bytes(contents)
    while size > policy.budget_bytes and inline_turns > 0:
        inline_turns -= 1
        contents = _contents(pieces, current, inline_turns)
        size = estimate_bytes(contents)
    return contents, inline_turns, size


INPUT_IMAGE_TOKENS = 560  # per input image, from the pricing page


@dataclass(frozen=True)
class ContextRow:
    turn: Turn
    image: ImageVersion | None
    mode: str  # "inline" (a full model turn, signed), "files" (image as a user part), "text" (words only)


@dataclass(frozen=True)
class ContextPreview:
    rows: list[ContextRow]
    images: int
    input_tokens: int
    estimated_bytes: int


def context_preview(parent: Response | None, policy: ReplayPolicy | None = None) -> ContextPreview:
    """What the next call would carry if it continued from `parent` (the prompt still to be written)."""
    policy = policy or ReplayPolicy.from_settings()
    chain = [*ancestry(parent), parent] if parent is not None else []
    current = InputContent(role="user", parts=(InputPart(text=""),))
    contents, inline_turns, size = _fit(chain, current, policy)
    first_inline = len(chain) - inline_turns
    sent_images = {
        part.via_files.row_id
        for content in contents
        for part in content.parts
        if part.via_files is not None and part.via_files.kind == "image"
    }
    rows = []
    for position, response in enumerate(chain):
        image = response.final_image
        if position >= first_inline:
            mode = "inline"
        else:
            mode = "files" if image is not None and image.pk in sent_images else "text"
        rows.append(ContextRow(turn=response.turn, image=image, mode=mode))
    images = sum(1 for content in contents for part in content.parts if _is_image(part))
    chars = sum(len(part.text or "") for content in contents for part in content.parts)
    return ContextPreview(
        rows=rows, images=images, input_tokens=math.ceil(chars / 4) + images * INPUT_IMAGE_TOKENS, estimated_bytes=size
    )


def load_job(response_id: int, policy: ReplayPolicy | None = None) -> Job:
    outcome = load_jobs([response_id], policy)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def load_jobs(response_ids: Sequence[int], policy: ReplayPolicy | None = None) -> list[Job | Exception]:
    """The jobs of many responses (a runner's claim), in the order asked. Responses, references,
    catalogue rows and prices are read once for all (a chain's ancestors per response, as only
    later turns have them). What stops one job (its model left the catalogue, it has no prices, it
    was deleted) is that job's outcome, not the others'."""
    policy = policy or ReplayPolicy.from_settings()
    responses = (
        Response.objects.select_related("turn__conversation__project")
        .prefetch_related("turn__references")
        .in_bulk(response_ids)
    )
    catalogue = models_by_id({response.turn.model_id for response in responses.values()})
    models: dict[int, GeminiModel] = {}
    outcomes: dict[int, Job | Exception] = {}
    for response_id, response in responses.items():
        try:
            models[response_id] = _live_model(response.turn.model_id, catalogue.get(response.turn.model_id))
        except CatalogueError as error:
            outcomes[response_id] = error
    prices = prices_for_responses(models)
    for response_id, model in models.items():
        price = prices[response_id]
        if isinstance(price, Exception):
            outcomes[response_id] = price
            continue
        try:
            outcomes[response_id] = _job(responses[response_id], model, price, policy)
        except Exception as error:  # noqa: BLE001 - e.g. a reference's file is gone: this job's failure alone
            outcomes[response_id] = error
    return [outcomes.get(pk) or Response.DoesNotExist(f"Response {pk} does not exist.") for pk in response_ids]


def _job(response: Response, model: GeminiModel, prices: PriceList, policy: ReplayPolicy) -> Job:
    turn = response.turn
    options = turn.options
    contents, inline_turns, size = _fit(ancestry(response), _user_content(turn, policy), policy)
    first_reference = next(iter(turn.references.all()), None)  # in position order, already loaded
    aspect = None if options.aspect_ratio == "auto" else options.aspect_ratio
    if aspect is None and first_reference is not None:
        aspect = closest_aspect_ratio(model, first_reference.width, first_reference.height)
    request = ImageRequest(
        model=model.model_id,
        thinking_level=options.thinking_level or None,
        contents=contents,
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
        folder=response_folder(turn.conversation_id, response.pk),
        inline_turns=inline_turns,
        estimated_bytes=size,
        prices=prices,
    )


def run_model(model_id: str) -> GeminiModel:
    """The catalogue entry a turn's call goes to: never a shut-down model (a turn queued before the
    shutdown runs on the replacement too)."""
    return _live_model(model_id, model_by_id(model_id))


def _live_model(model_id: str, row: GeminiModel | None) -> GeminiModel:
    if row is None:
        raise CatalogueError(f"The model {model_id} is not in the model catalogue; an admin must add it back.")
    return live(row).model
