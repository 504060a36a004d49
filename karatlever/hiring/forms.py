"""Forms for the roles and candidates pages: they validate input, services do the writing."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from karatlever.accounts.models import Group
from karatlever.hiring import selectors
from karatlever.hiring.models import Candidacy, KaratStatus, Milestone, Recommendation, Role
from karatlever.hiring.services import SUMMARY_MAX_LENGTH, milestones_allowed


class RoleForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True)
    requisition_code = forms.CharField(
        label="Requisition code",
        max_length=100,
        required=False,
        strip=True,
        help_text="Optional. Unique within the group; used to match Lever postings.",
    )
    active = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Inactive roles keep their candidates but take no new invitations.",
    )

    def __init__(self, *args: Any, group: Group, role: Role | None = None, **kwargs: Any) -> None:
        self.group = group
        self.role = role
        if role is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": role.title,
                    "requisition_code": role.requisition_code,
                    "active": role.active,
                },
            )
        super().__init__(*args, **kwargs)

    def clean_requisition_code(self) -> str:
        code: str = self.cleaned_data["requisition_code"]
        if selectors.role_requisition_code_taken(
            group=self.group, requisition_code=code, exclude=self.role
        ):
            raise forms.ValidationError(
                "Another role in %(group)s already uses this requisition code.",
                code="duplicate",
                params={"group": self.group.name},
            )
        return code


class CandidateFilterForm(forms.Form):
    """GET filters; an invalid value is simply not applied (see `filters`)."""

    group = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        label="Karat status",
        required=False,
        choices=[("", "Any status"), *KaratStatus.choices],
    )
    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)

    def __init__(self, *args: Any, groups: QuerySet[Group], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._groups = {str(g.code): g for g in groups}
        # self.fields holds per-instance copies of the declared fields, typed as plain Field.
        group_field = cast(forms.ChoiceField, self.fields["group"])
        group_field.choices = [("", "All groups")] + [
            (code, g.name) for code, g in self._groups.items()
        ]
        self.fields["q"].widget.attrs.update({"placeholder": "Name or email", "type": "search"})

    def filters(self) -> dict[str, Any]:
        """The valid filters as selector arguments; invalid fields are dropped, never raised."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "group": self._groups.get(data.get("group") or ""),
            "karat_status": data.get("status") or "",
            "search": data.get("q") or "",
        }


class MilestoneForm(forms.Form):
    """An admin records a milestone by hand; the service decides what is allowed."""

    milestone = forms.ChoiceField(label="Milestone", choices=Milestone.choices)
    scheduled_at = forms.DateTimeField(
        label="Interview time",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Needed when scheduling; in your time zone.",
    )
    recommendation = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *Recommendation.choices],
        help_text="Needed when results are ready.",
    )
    summary = forms.CharField(
        required=False, max_length=SUMMARY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    report_url = forms.URLField(label="Report link", required=False, max_length=500)

    def __init__(self, *args: Any, candidacy: Candidacy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = milestones_allowed(candidacy.karat_status)
        # Offer only the allowed next steps; a forged value still reaches the service's check.
        self.fields["milestone"].widget.choices = [("", "Choose…")] + [
            (value, label) for value, label in Milestone.choices if value in allowed
        ]
        self.has_next_steps = bool(allowed)
