"""Forms of the invite pages (``/candidates/invite/``); the rules live in invites/services/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import QuerySet

from integrations.invites.services.preview import MAX_URLS
from karatlever.accounts.models import Group


class PasteField(forms.CharField):
    """Pasted lines as given: a line with a NUL gets its own row and reason (the rows say what
    is wrong with each line), rather than an error that refuses the whole paste."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class InviteForm(forms.Form):
    """The paste: one Lever candidate URL per line, and the group to invite into."""

    urls = PasteField(
        label="Lever candidate URLs",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=f"One URL per line, up to {MAX_URLS}. Copy each from the candidate's profile "
        "in Lever: https://hire.lever.co/candidates/… (EU accounts: hire.eu.lever.co; the "
        "sandbox: hire.sandbox.lever.co).",
        error_messages={
            "required": "Paste at least one Lever candidate URL.",
            "max_length": f"That paste is too long: paste at most {MAX_URLS} links at a time.",
        },
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
