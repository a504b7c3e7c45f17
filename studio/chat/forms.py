from __future__ import annotations

from typing import Any

from django import forms

from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import selectable_models

from .options import MAX_COUNT, MAX_PROMPT_CHARS, MAX_RETRIES, SAFETY_THRESHOLDS, GenerationOptions

FORMAT_CHOICES = [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WebP")]


def _size_label(size: str) -> str:
    return f"{size} px" if size.isdigit() else size


class OptionsForm(forms.Form):
    """The generation controls, offering only what `model` (a catalogue entry) supports."""

    aspect_ratio = forms.ChoiceField(label="Aspect ratio")
    image_size = forms.ChoiceField(label="Size")
    count = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(1, MAX_COUNT + 1)], coerce=int, label="Images")
    output_format = forms.ChoiceField(choices=FORMAT_CHOICES, label="Format")
    grounding = forms.BooleanField(required=False, label="Google Search grounding")
    safety = forms.ChoiceField(choices=SAFETY_THRESHOLDS, label="Safety")
    retries = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(MAX_RETRIES + 1)], coerce=int, label="Retries")
    thinking_level = forms.ChoiceField(required=False, label="Thinking")

    def __init__(self, *args: Any, model: GeminiModel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        name = model.display_name
        fields = self.fields
        self._offer("aspect_ratio", [("auto", "Auto")] + [(a, a) for a in model.aspect_ratios], name)
        self._offer("image_size", [(s, _size_label(s)) for s in model.image_sizes], name)
        if model.thinking_levels:
            levels = [(level, level.capitalize()) for level in model.thinking_levels]
            self._offer("thinking_level", [("", "Model default"), *levels], name)
        else:
            del fields["thinking_level"]
        if not model.grounding:
            del fields["grounding"]

    def _offer(self, field_name: str, choices: list[tuple[str, str]], model_name: str) -> None:
        field = self.fields[field_name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.error_messages["invalid_choice"] = f"{model_name} does not offer %(value)s here. Pick one it lists."

    @property
    def has_thinking_level(self) -> bool:
        return "thinking_level" in self.fields

    OPTION_FIELDS = ("aspect_ratio", "image_size", "count", "output_format", "grounding", "safety", "retries")

    @property
    def option_errors(self) -> list[str]:
        """Errors of the generation controls, named, for the line under them (the panel may be closed)."""
        names = (*self.OPTION_FIELDS, "thinking_level")
        return [f"{self.fields[n].label}: {e}" for n in names if n in self.fields for e in self.errors.get(n, [])]

    def options(self) -> GenerationOptions:
        return GenerationOptions.from_dict(self.cleaned_data)

    @classmethod
    def initial_from(cls, options: GenerationOptions, *, model: GeminiModel, **kwargs: Any) -> OptionsForm:
        return cls(initial=options.to_dict(), model=model, **kwargs)


class ComposerForm(OptionsForm):
    prompt = forms.CharField(
        max_length=MAX_PROMPT_CHARS,
        required=False,  # the service explains an empty prompt better than "This field is required"
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Describe an image, or the change to make…"}),
        label="Prompt",
    )
    # "latest": the newest finished image on the shown branch, resolved when the turn is sent;
    # "none": a fresh image; a number: the response the person chose with "Edit this".
    parent_response = forms.RegexField(regex=r"^(latest|none|\d+)$", required=False, widget=forms.HiddenInput)


class ProjectForm(OptionsForm):
    name = forms.CharField(max_length=120)
    system_instruction = forms.CharField(
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "House style, brand rules, things to avoid…"}),
    )
    gemini_model = forms.ModelChoiceField(
        queryset=GeminiModel.objects.none(),
        required=False,
        label="Model",
        help_text="Settings the new model lacks are adjusted when you save.",
    )

    def __init__(self, *args: Any, model: GeminiModel, default_model: GeminiModel, **kwargs: Any) -> None:
        super().__init__(*args, model=model, **kwargs)
        field = self.fields["gemini_model"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectable_models()
        field.empty_label = f"Studio default ({default_model.display_name})"
