"""Plan a model answer: the events of a stream, or their merge for a plain call.

Order, as Google sends it: thought summaries (delta-streamed), interim thought images, then the
answer's text and image, each signed where the docs say, then a closing event with the finish
reason, full usage and grounding. Everything derives from the request digest, so an identical
request gives identical bytes.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .grounding import grounding_metadata
from .imaging import ImageSpec, RenderedImage, render, render_draft
from .model_specs import closest_aspect_ratio
from .request import GenerateRequest
from .scenario import Scenario
from .signatures import Signer
from .wire import b64encode_std

IMAGE_SAFETY_MESSAGE = (
    "Unable to show the generated image. The image was filtered out because it violated Google's"
    " [Generative AI Prohibited Use policy](https://policies.google.com/terms/generative-ai/use-policy)."
    " You will not be charged for blocked images. Try rephrasing the prompt. If you think this was an error,"
    " [send feedback](https://ai.google.dev/gemini-api/docs/troubleshooting)."
)
REFUSAL_TEXT = (
    "I can't create that image because it may go against the content policy. Try rephrasing the prompt"
    " or describing the scene differently."
)

Renderer = Callable[[ImageSpec], RenderedImage]


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def prompt_usage(request: GenerateRequest) -> tuple[int, list[dict[str, Any]]]:
    return request.prompt_usage()


Event = dict[str, Any]
PendingEvent = Event | Callable[[], Event]


@dataclass
class Answer:
    """The planned answer: GenerateContentResponse dicts, in stream order. Events that carry the image
    are planned as functions and made by `resolve()`, so a stream can send its thoughts while the
    image is still being drawn, as Gemini does."""

    events: list[PendingEvent] = field(default_factory=list)

    def resolve(self) -> list[Event]:
        """Render whatever is still pending (CPU-bound: call from a worker thread)."""
        resolved = [event() if callable(event) else event for event in self.events]
        self.events[:] = resolved
        return resolved

    def merged(self) -> dict[str, Any]:
        """The non-streaming response: all parts in one candidate, final metadata."""
        events = self.resolve()
        last = dict(events[-1])
        if "candidates" not in last:
            return last
        parts: list[dict[str, Any]] = []
        for event in events:
            for candidate in event.get("candidates", []):
                for part in candidate.get("content", {}).get("parts", []):
                    if set(part) == {"text"} and not part["text"]:
                        continue
                    previous = parts[-1] if parts else None
                    if (
                        previous is not None
                        and part.get("thought")
                        and previous.get("thought")
                        and "text" in part
                        and "text" in previous
                    ):
                        previous["text"] += part["text"]
                        continue
                    parts.append(dict(part))
        candidate = dict(last["candidates"][0])
        if parts:
            candidate["content"] = {"parts": parts, "role": "model"}
        else:
            candidate.pop("content", None)
        last["candidates"] = [candidate]
        return last


def _thought_sections(request: GenerateRequest, aspect: str, rng: random.Random) -> list[str]:
    prompt = request.prompt or "the request"
    short = prompt if len(prompt) <= 80 else prompt[:77] + "..."
    sections = []
    if request.grounding:
        sections.append(
            f"**Searching for context**\n\nI'm looking up current information about \u201c{short}\u201d so the"
            " details are accurate.\n\n"
        )
    base = request.edit_base()
    refs = request.current_images()
    if base is not None:
        plan = "I'm keeping the composition of the previous image and applying the requested change"
    else:
        plan = f"I'm planning a {aspect} composition at {request.image_size}"
    if refs:
        plan += f", drawing on {len(refs)} reference image{'s' if len(refs) != 1 else ''}"
    sections.append(
        f"**Interpreting the request**\n\nI'm reading \u201c{short}\u201d and deciding what matters most.\n\n"
    )
    sections.append(f"**Composing the layout**\n\n{plan}.\n\n")
    finishing = rng.choice(
        ["balancing colour and contrast", "refining edges and lighting", "checking the text and details"]
    )
    sections.append(f"**Refining the details**\n\nI'm {finishing} before rendering the final image.\n\n")
    return sections


def _split_delta(section: str) -> list[str]:
    head, sep, tail = section.partition("\n\n")
    return [head + sep, tail] if tail else [section]


class Planner:
    def __init__(self, *, signer: Signer, renderer: Renderer | None = None) -> None:
        self._signer = signer
        self._render = renderer or render

    def plan(
        self,
        request: GenerateRequest,
        scenario: Scenario,
        *,
        seed: int,
        thoughts_when_unset: bool,
        interim_images: int,
        image_format: str,
    ) -> Answer:
        rng = random.Random(request.digest)
        response_id = base64.urlsafe_b64encode(request.digest[:17]).decode().rstrip("=")[:23]
        prompt_tokens, prompt_details = prompt_usage(request)
        envelope = {"modelVersion": request.model, "responseId": response_id}

        def usage(candidates: int, thoughts: int, final: list[dict[str, Any]] | None = None) -> dict[str, Any]:
            data: dict[str, Any] = {"promptTokenCount": prompt_tokens}
            if candidates or final is not None:
                data["candidatesTokenCount"] = candidates
            data["totalTokenCount"] = prompt_tokens + candidates + thoughts
            data["promptTokensDetails"] = prompt_details
            if thoughts:
                data["thoughtsTokenCount"] = thoughts
            if final:
                data["candidatesTokensDetails"] = final
            return data

        def event(parts: list[dict[str, Any]] | None, usage_data: dict[str, Any], **candidate: Any) -> dict[str, Any]:
            body: dict[str, Any] = {"index": 0, **candidate}
            if parts is not None:
                body = {"content": {"parts": parts, "role": "model"}, **body}
            return {"candidates": [body], "usageMetadata": usage_data, **envelope}

        if scenario.outcome == "prompt_block":
            blocked = {
                "promptFeedback": {"blockReason": scenario.block_reason},
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "totalTokenCount": prompt_tokens,
                    "promptTokensDetails": prompt_details,
                },
                **envelope,
            }
            return Answer([blocked])

        aspect = request.aspect_ratio or self._implicit_aspect(request)
        thoughts_on = (
            scenario.thoughts
            if scenario.thoughts is not None
            else (request.include_thoughts if request.include_thoughts is not None else thoughts_when_unset)
        )
        interim = scenario.interim_images if scenario.interim_images is not None else interim_images
        mime_mode = scenario.mime or image_format
        answer = Answer()
        thought_tokens = 0
        hidden_thinking = 160 + rng.randrange(0, 240)  # the model thinks more than it summarises
        if request.thinking_level == "MINIMAL":
            hidden_thinking //= 4

        if thoughts_on:
            for section in _thought_sections(request, aspect, rng):
                for delta in _split_delta(section):
                    answer.events.append(event([{"text": delta, "thought": True}], usage(0, 0)))
                thought_tokens += text_tokens(section)
        thought_tokens += hidden_thinking

        wants_image = "IMAGE" in request.modalities and scenario.outcome not in {"refusal"}
        image: Callable[[], RenderedImage] | None = None
        if wants_image and scenario.outcome not in {"image_safety", "no_image"}:
            spec = ImageSpec(
                prompt=request.prompt,
                aspect_ratio=aspect,
                image_size=request.image_size,
                turn=request.turn,
                seed=int.from_bytes(request.digest[:8], "big") ^ seed,
                base=request.edit_base(),
                references=tuple(request.current_images()),
                fmt="png" if mime_mode == "png" else "jpeg",
                size_px=request.spec.pixels(aspect, request.image_size),
            )
            image = functools.cache(lambda: self._render(spec))  # drawn once, on first use, for all its events
            if thoughts_on and interim:
                for number in range(1, interim + 1):  # the last interim image equals the final image

                    def interim_event(number: int = number, image: Callable[[], RenderedImage] = image) -> Event:
                        draft = image() if number == interim else render_draft(image(), number, interim)
                        data = {"mimeType": _label(draft, mime_mode), "data": b64encode_std(draft.data)}
                        return event([{"inlineData": data, "thought": True}], usage(0, 0))

                    answer.events.append(interim_event)

        if scenario.outcome in {"image_safety", "no_image"}:
            reason = "IMAGE_SAFETY" if scenario.outcome == "image_safety" else "NO_IMAGE"
            extra: dict[str, Any] = {"finishReason": reason}
            if reason == "IMAGE_SAFETY":
                extra["finishMessage"] = IMAGE_SAFETY_MESSAGE
            answer.events.append(event(None, usage(0, thought_tokens, final=[]), **extra))
            return answer

        candidates_tokens = 0
        signed_first = False
        answer_text = ""
        if "TEXT" in request.modalities or scenario.outcome == "refusal":
            answer_text = REFUSAL_TEXT if scenario.outcome == "refusal" else self._answer_text(request)
            part = {
                "text": answer_text,
                "thoughtSignature": self._sign("text", answer_text.encode(), request.digest, 0),
            }
            signed_first = True
            candidates_tokens += text_tokens(answer_text)
            answer.events.append(event([part], usage(candidates_tokens, thought_tokens)))
        if image is not None:
            signed_first = True
            candidates_tokens += request.spec.image_tokens[request.image_size]

            def final_event(image: Callable[[], RenderedImage] = image, tokens: int = candidates_tokens) -> Event:
                final = image()
                part = {
                    "inlineData": {"mimeType": _label(final, mime_mode), "data": b64encode_std(final.data)},
                    "thoughtSignature": self._sign("image", final.data, request.digest, 1),
                }
                return event([part], usage(tokens, thought_tokens))

            answer.events.append(final_event)
        assert signed_first, "an answer has at least one signed part"

        details = []
        if image is not None:
            details.append({"modality": "IMAGE", "tokenCount": request.spec.image_tokens[request.image_size]})
        if answer_text:
            details.append({"modality": "TEXT", "tokenCount": text_tokens(answer_text)})
        closing: dict[str, Any] = {"finishReason": "STOP"}
        if request.grounding:
            closing["groundingMetadata"] = grounding_metadata(request.prompt, request.digest, answer_text)
        answer.events.append(event([{"text": ""}], usage(candidates_tokens, thought_tokens, final=details), **closing))
        return answer

    def _sign(self, kind: str, payload: bytes, digest: bytes, index: int) -> str:
        return b64encode_std(self._signer.sign(kind, payload, digest + bytes([index])))

    @staticmethod
    def _implicit_aspect(request: GenerateRequest) -> str:
        """No aspectRatio: match the input image, otherwise 1:1."""
        base = request.edit_base()
        if base is None:
            return "1:1"
        with Image.open(io.BytesIO(base)) as image:
            return closest_aspect_ratio(request.spec, image.width, image.height)

    @staticmethod
    def _answer_text(request: GenerateRequest) -> str:
        prompt = request.prompt or "your request"
        if request.edit_base() is not None and request.turn > 1:
            return f"Here is the edited image: {prompt}"
        return f"Here is the image you asked for: {prompt}"


def _label(image: RenderedImage, mode: str) -> str:
    if mode == "mislabelled":
        return "image/png"  # JPEG bytes, PNG label: a documented real-world quirk
    return "image/png" if image.fmt == "png" else "image/jpeg"
