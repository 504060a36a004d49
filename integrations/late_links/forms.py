"""The late-link forms: a pasted Lever candidate link (the candidacy page)."""

from __future__ import annotations

from django import forms

from karatlever.forms import SettingsSectionForm

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


class LateLinkSettingsForm(SettingsSectionForm):
    section_id = "late-links"

    enabled = forms.BooleanField(
        label="Allow attaching a Lever link to an existing candidacy", required=False
    )
