"""The feedback-form option's form (its section of the Settings page)."""

from __future__ import annotations

from django import forms

from karatlever.forms import SettingsSectionForm


class FeedbackSettingsForm(SettingsSectionForm):
    """Turn posting results as a Lever feedback form on or off."""

    section_id = "feedback-form"

    enabled = forms.BooleanField(
        label="Post results as a Lever feedback form",
        required=False,
        help_text="Karat creates its feedback template in Lever once, then posts each "
        "candidate's results as a completed form, updates it after a redo and removes it on "
        "cancellation. Lever needs the key's feedback permissions and a user to post as.",
    )
