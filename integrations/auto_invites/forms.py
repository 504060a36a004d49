"""The automatic invite's form (its page under the integration's Settings)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from karatlever.hiring.models import Role


class AutoInviteForm(forms.Form):
    """The automatic invite of one integration (its Settings page section)."""

    enabled = forms.BooleanField(label="Invite candidates automatically", required=False)
    stage_id = forms.CharField(label="When a candidate enters the Lever stage", required=False)
    posting_ids = forms.MultipleChoiceField(
        label="Only for these postings",
        required=False,
        help_text="None chosen: every posting.",
        # The page renders the chosen postings and a search's matches as checkboxes.
        widget=forms.CheckboxSelectMultiple,
    )
    origins = forms.MultipleChoiceField(
        label="Only for these origins (none chosen: every origin)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    role = forms.ModelChoiceField(
        queryset=Role.objects.none(),
        to_field_name="code",
        required=False,
        label="Role when the posting matches no Karat role",
        empty_label="— no fallback role —",
        help_text="With no fallback role, candidates whose posting matches no Karat role are "
        "skipped.",
        error_messages={"invalid_choice": "Choose an active role of this group."},
    )

    def __init__(
        self,
        *args: Any,
        roles: QuerySet[Role],
        stages: list[tuple[str, str]],
        postings: list[tuple[str, str]],
        origins: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ModelChoiceField)  # noqa: S101 - declared above
        role.queryset = roles
        if stages:
            # The ATS answered: a drop-down of its stages instead of a free id.
            self.fields["stage_id"] = forms.ChoiceField(
                label=self.fields["stage_id"].label,
                required=False,
                choices=[("", "Choose a stage"), *stages],
                error_messages={"invalid_choice": "Choose one of the Lever stages."},
            )
        posting_field = self.fields["posting_ids"]
        assert isinstance(posting_field, forms.MultipleChoiceField)  # noqa: S101
        posting_field.choices = postings
        origin_field = self.fields["origins"]
        assert isinstance(origin_field, forms.MultipleChoiceField)  # noqa: S101
        origin_field.choices = origins
        self.stage_names = dict(stages)
