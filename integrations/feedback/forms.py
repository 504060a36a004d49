"""The feedback-form option's form (its section of the Settings page)."""

from __future__ import annotations

from typing import Any

from django import forms


class FeedbackSettingsForm(forms.Form):
    """Turn posting results as a Lever feedback form on or off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Settings page holds several sections' forms: their ids must differ.
        kwargs.setdefault("auto_id", "feedback-form-%s")
        super().__init__(*args, **kwargs)

    enabled = forms.BooleanField(
        label="Post results as a Lever feedback form",
        required=False,
        help_text="Karat creates its feedback template in Lever once, then posts each "
        "candidate's results as a completed form, updates it after a redo and removes it on "
        "cancellation. Lever needs the key's feedback permissions and a user to post as.",
    )
