"""Forms for the roles page; the rules themselves live in ``roles/services/mappings.py``."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.models import AtsIntegration
from karatlever.hiring.models import Role


class RoleMappingForm(forms.Form):
    """One admin decision on one posting: map to a role, leave unmatched, or back to automatic.

    ``role`` is a role's public code among the integration's group's active roles.
    """

    ACTIONS = (
        ("map", "Map to a role"),
        ("unmap", "Leave unmatched"),
        ("automatic", "Match automatically"),
    )

    posting = forms.CharField(max_length=64, error_messages={"required": "Choose a posting."})
    action = forms.ChoiceField(
        choices=ACTIONS, error_messages={"invalid_choice": "Choose map, unmap or automatic."}
    )
    role = forms.ModelChoiceField(
        queryset=Role.objects.none(),
        to_field_name="code",
        required=False,
        error_messages={"invalid_choice": "Choose an active role of this integration's group."},
    )

    def __init__(self, *args: Any, integration: AtsIntegration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["role"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = Role.objects.filter(group_id=integration.group_id, active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "map" and not data.get("role") and "role" not in self.errors:
            self.add_error("role", "Choose the role to map this posting to.")
        return data


class _PostingIds(forms.MultipleChoiceField):
    """Posting ids as posted; whether each is one of the integration's is the service's call."""

    def valid_value(self, value: Any) -> bool:
        # Printable only: a NUL would reach the database (PostgreSQL refuses it in text: a 500).
        return isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable()


class RolesCreateForm(forms.Form):
    """ "Create a Karat role from this posting", for one posting or several (bulk)."""

    MAX_POSTINGS = 200

    postings = _PostingIds(
        error_messages={
            "required": "Choose at least one posting.",
            "invalid_choice": "That is not a posting id.",
        },
    )

    def clean_postings(self) -> list[str]:
        postings = list(self.cleaned_data["postings"])
        if len(postings) > self.MAX_POSTINGS:
            raise forms.ValidationError(f"Choose at most {self.MAX_POSTINGS} postings at a time.")
        return postings
