"""The interview panels' setting (its Settings page section)."""

from __future__ import annotations

from django import forms


class PanelSettingsForm(forms.Form):
    enabled = forms.BooleanField(
        required=False,
        label="Put each scheduled Karat interview on the candidate's Lever schedule (a panel)",
    )
