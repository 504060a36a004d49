"""The late-link forms: a pasted Lever candidate link (the candidacy page)."""

from __future__ import annotations

from typing import Any

from django import forms

# Longer input is refused by the form; the URL's own rules (the adapter's codes: too long,
# not Lever, …) come from the service.
URL_INPUT_MAX_LENGTH = 2000


class LinkAttachForm(forms.Form):
    url = forms.CharField(
        label="Lever candidate link",
        required=False,
        max_length=URL_INPUT_MAX_LENGTH,
        strip=True,
        help_text="The candidate's profile URL in Lever: https://hire.lever.co/candidates/<id>",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"max_length": "That is too long to be a Lever candidate link."},
    )


class LateLinkSettingsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Settings page holds several sections' forms: their ids must differ.
        kwargs.setdefault("auto_id", "late-links-%s")
        super().__init__(*args, **kwargs)

    enabled = forms.BooleanField(
        label="Allow attaching a Lever link to an existing candidacy", required=False
    )
