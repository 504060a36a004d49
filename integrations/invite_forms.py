"""Forms of the invite pages (``/candidates/invite/``); the rules live in services/invites.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from integrations.services.invites import MAX_URLS
from karatlever.accounts.models import Group
from karatlever.hiring.models import Role


class InviteForm(forms.Form):
    """The paste: one Lever candidate URL per line, and the group to invite into."""

    urls = forms.CharField(
        label="Lever candidate URLs",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=f"One URL per line, up to {MAX_URLS}. Copy each from the candidate's profile "
        "in Lever: https://hire.lever.co/candidates/… (EU accounts: hire.eu.lever.co; the "
        "sandbox: hire.sandbox.lever.co).",
        error_messages={"required": "Paste at least one Lever candidate URL."},
        # Well above 200 URLs with tracking parameters; anything longer is a paste accident.
        max_length=200_000,
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.none(),
        to_field_name="code",
        empty_label=None,
        label="Group",
        error_messages={"invalid_choice": "Choose one of your groups."},
    )

    def __init__(self, *args: Any, groups: QuerySet[Group], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["group"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = groups


class AutoInviteForm(forms.Form):
    """The automatic invite of one integration (its Settings page section)."""

    enabled = forms.BooleanField(label="Invite candidates automatically", required=False)
    stage_id = forms.CharField(label="When a candidate enters the Lever stage", required=False)
    posting_ids = forms.MultipleChoiceField(
        label="Only for these postings (none chosen: every posting)", required=False
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
        label="Role when the posting matches no Karat role (empty: skip those candidates)",
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
