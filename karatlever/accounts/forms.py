"""Login form: email instead of username."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        # Emails are stored lower-case (UserManager.create_user); match them the same way.
        username: str = self.cleaned_data["username"]  # EmailField cleans to a str
        return username.strip().lower()
