"""The deletion policy form (the Settings page's "Deleted candidates" section)."""

from __future__ import annotations

from django import forms

from integrations.models import DeletionSettings
from karatlever.forms import SettingsSectionForm


class DeletionPolicyForm(SettingsSectionForm):
    section_id = "deletions"

    policy = forms.ChoiceField(
        choices=DeletionSettings.Policy.choices,
        widget=forms.RadioSelect,
        label="When a candidate is deleted or anonymised in Lever",
    )
