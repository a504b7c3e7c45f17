from __future__ import annotations

from django import forms

from .options import (
    ASPECT_RATIOS,
    IMAGE_SIZES,
    MAX_COUNT,
    MAX_PROMPT_CHARS,
    MAX_RETRIES,
    SAFETY_THRESHOLDS,
    GenerationOptions,
)

ASPECT_CHOICES = [("auto", "Auto")] + [(a, a) for a in ASPECT_RATIOS if a != "auto"]
FORMAT_CHOICES = [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WebP")]


class OptionsForm(forms.Form):
    aspect_ratio = forms.ChoiceField(choices=ASPECT_CHOICES, label="Aspect ratio")
    image_size = forms.ChoiceField(choices=[(s, s) for s in IMAGE_SIZES], label="Size")
    count = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(1, MAX_COUNT + 1)], coerce=int, label="Images")
    output_format = forms.ChoiceField(choices=FORMAT_CHOICES, label="Format")
    grounding = forms.BooleanField(required=False, label="Google Search grounding")
    safety = forms.ChoiceField(choices=SAFETY_THRESHOLDS, label="Safety")
    retries = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(MAX_RETRIES + 1)], coerce=int, label="Retries")

    def options(self) -> GenerationOptions:
        return GenerationOptions.from_dict(self.cleaned_data)

    @classmethod
    def initial_from(cls, options: GenerationOptions, **kwargs: object) -> OptionsForm:
        return cls(initial=options.to_dict(), **kwargs)  # type: ignore[arg-type]


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
