"""The interview panels' setting (its Settings page section)."""

from __future__ import annotations

from typing import Any

from django import forms


class PanelSettingsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Settings page holds several sections' forms: their ids must differ.
        kwargs.setdefault("auto_id", "interview-panels-%s")
        super().__init__(*args, **kwargs)

    enabled = forms.BooleanField(
        required=False,
        label="Put each scheduled Karat interview on the candidate's Lever schedule (a panel)",
    )
