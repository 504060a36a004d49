"""The interview panels' setting (its Settings page section)."""

from __future__ import annotations

from django import forms

from karatlever.forms import SettingsSectionForm


class PanelSettingsForm(SettingsSectionForm):
    """Karat interviews as panels on the candidate's Lever schedule, on or off."""

    section_id = "interview-panels"

    enabled = forms.BooleanField(
        required=False,
        label="Put each scheduled Karat interview on the candidate's Lever schedule (a panel)",
    )
