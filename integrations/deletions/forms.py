"""The deletion policy form (the Settings page's "Deleted candidates" section)."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.models import DeletionSettings


class DeletionPolicyForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Settings page holds several sections' forms: their ids must differ.
        kwargs.setdefault("auto_id", "deletions-%s")
        super().__init__(*args, **kwargs)

    policy = forms.ChoiceField(
        choices=DeletionSettings.Policy.choices,
        widget=forms.RadioSelect,
        label="When a candidate is deleted or anonymised in Lever",
    )
