"""What a model can do, asked of its catalogue row: the composer's choices and the checks on a turn."""

from __future__ import annotations

from studio.chat.options import GenerationOptions, InvalidOptions
from studio.chat.references import ReferenceLimits

from .models import GeminiModel


def reference_limits(model: GeminiModel) -> ReferenceLimits:
    return ReferenceLimits(
        total=model.max_reference_images,
        people=model.max_people,
        objects=model.max_objects,
        model_name=model.display_name,
    )


def _listed(values: list[str]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else "".join(values)


def check_options(model: GeminiModel, options: GenerationOptions) -> None:
    """Refuse settings the model does not support, saying what it does support."""
    name = model.display_name
    if options.aspect_ratio != "auto" and options.aspect_ratio not in model.aspect_ratios:
        raise InvalidOptions(
            f"{name} does not make {options.aspect_ratio} images. Choose auto or {_listed(model.aspect_ratios)}."
        )
    if options.image_size not in model.image_sizes:
        raise InvalidOptions(f"{name} does not make {options.image_size} images. Choose {_listed(model.image_sizes)}.")
    if options.thinking_level and options.thinking_level not in model.thinking_levels:
        if not model.thinking_levels:
            raise InvalidOptions(f"{name} thinks at its own level; the thinking level cannot be set.")
        raise InvalidOptions(f"Thinking level for {name} is {_listed(model.thinking_levels)}.")
    if options.grounding and not model.grounding:
        raise InvalidOptions(f"{name} cannot use Google Search grounding. Turn grounding off.")


def ratio_value(label: str) -> float:
    width, height = (int(x) for x in label.split(":"))
    return width / height


def nearest_ratio(labels: list[str], width: int, height: int) -> str:
    """Of `labels` ("16:9"...), the one nearest to a width x height shape."""
    return min(labels, key=lambda label: abs(ratio_value(label) - width / height))


def closest_aspect_ratio(model: GeminiModel, width: int, height: int) -> str:
    """The model's supported ratio nearest to an image's shape ("auto" follows the first reference)."""
    return nearest_ratio(model.aspect_ratios, width, height)


def fit_options(model: GeminiModel, options: GenerationOptions) -> GenerationOptions:
    """A project's defaults carried over to another model: what it lacks falls back to its defaults."""
    sizes = model.image_sizes
    return GenerationOptions(
        **{
            **options.to_dict(),
            "aspect_ratio": options.aspect_ratio if options.aspect_ratio in model.aspect_ratios else "auto",
            "image_size": options.image_size if options.image_size in sizes else ("1K" if "1K" in sizes else sizes[0]),
            "thinking_level": options.thinking_level if options.thinking_level in model.thinking_levels else "",
            "grounding": options.grounding and model.grounding,
        }
    )
