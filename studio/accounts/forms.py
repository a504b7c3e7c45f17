from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from .models import User


class SignUpForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]{3,40}$",
        max_length=40,
        error_messages={"invalid": "Use 3 to 40 letters, digits or . @ + - _"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not too common.",
    )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean_email(self) -> str:
        # Never say whether an address has an account: the view answers both cases alike.
        email: str = self.cleaned_data["email"].lower()
        return email

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if isinstance(password, str):
            probe = User(username=str(cleaned.get("username", "")), email=str(cleaned.get("email", "")))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(AuthenticationForm):
    pass


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=80, required=False, help_text="Shown to your teams instead of your username."
    )


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120, label="Team name")
