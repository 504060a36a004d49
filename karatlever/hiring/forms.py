"""Forms for the roles and candidates pages: they validate input, services do the writing."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from karatlever.accounts.models import Group, User
from karatlever.hiring import selectors
from karatlever.hiring.models import Candidacy, KaratStatus, Milestone, Recommendation, Role
from karatlever.hiring.services import MILESTONE_RULES, SUMMARY_MAX_LENGTH, milestones_allowed


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


_YES_NO = {"yes": True, "no": False}


# Up to this many roles, the candidates' role filter is a drop-down; beyond, a search.
ROLE_SELECT_MAX = 50


class CandidateFilterForm(forms.Form):
    """GET filters; an invalid value is simply not applied (see `filters`)."""

    group = forms.ChoiceField(required=False)
    role = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        label="Karat status",
        required=False,
        choices=[("", "Any status"), *KaratStatus.choices],
    )
    stage = forms.ChoiceField(label="Lever stage", required=False)
    archived = forms.ChoiceField(
        label="Archived",
        required=False,
        choices=[("", "Either"), ("yes", "Archived"), ("no", "Not archived")],
    )
    hired = forms.ChoiceField(
        label="Hired",
        required=False,
        choices=[("", "Either"), ("yes", "Hired"), ("no", "Not hired")],
    )
    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)

    def __init__(
        self,
        *args: Any,
        groups: QuerySet[Group],
        roles: QuerySet[Role] | None = None,
        stage_names: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._groups = {str(g.code): g for g in groups}
        # One query of at most ROLE_SELECT_MAX + 1 roles: beyond that the role filter is a
        # search of role titles and codes, not a drop-down of every role.
        listed = list(roles[: ROLE_SELECT_MAX + 1]) if roles is not None else []
        self.role_search = len(listed) > ROLE_SELECT_MAX
        self._roles = {} if self.role_search else {str(r.code): r for r in listed}
        self.several_groups = several_groups = len(self._groups) > 1
        # self.fields holds per-instance copies of the declared fields, typed as plain Field.
        cast(forms.ChoiceField, self.fields["group"]).choices = [("", "All groups")] + [
            (code, g.name) for code, g in self._groups.items()
        ]
        cast(forms.ChoiceField, self.fields["role"]).choices = [("", "All roles")] + [
            (code, f"{r.title} ({r.group.name})" if several_groups else r.title)
            for code, r in self._roles.items()
        ]
        if self.role_search:
            self.fields["role"] = forms.CharField(label="Role", required=False, max_length=100)
            self.fields["role"].widget.attrs.update(
                {"placeholder": "Role title or requisition code", "type": "search"}
            )
        cast(forms.ChoiceField, self.fields["stage"]).choices = [("", "Any stage")] + [
            (name, name) for name in stage_names or []
        ]
        self.fields["q"].widget.attrs.update({"placeholder": "Name or email", "type": "search"})

    def filters(self) -> dict[str, Any]:
        """The valid filters as `selectors.candidacy_list_filtered` arguments; invalid fields
        are dropped, never raised."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "group": self._groups.get(data.get("group") or ""),
            "role": None if self.role_search else self._roles.get(data.get("role") or ""),
            "role_search": (data.get("role") or "") if self.role_search else "",
            "karat_status": data.get("status") or "",
            "ats_stage_name": data.get("stage") or "",
            "ats_archived": _YES_NO.get(data.get("archived") or ""),
            "ats_hired": _YES_NO.get(data.get("hired") or ""),
            "search": data.get("q") or "",
        }


# The optional fields each milestone uses (the form shows and keeps only these), the ones it
# requires, and a line saying what recording it does.
MILESTONE_FIELDS: dict[str, tuple[str, ...]] = {
    Milestone.SCHEDULED: ("scheduled_at",),
    Milestone.RESULTS_READY: ("recommendation", "summary", "report_url"),
}
MILESTONE_REQUIRED: dict[str, dict[str, str]] = {
    Milestone.SCHEDULED: {"scheduled_at": "A scheduled interview needs its time."},
    Milestone.RESULTS_READY: {"recommendation": "Results need a recommendation."},
}
MILESTONE_HELP: dict[str, str] = {
    Milestone.SCHEDULED: "Sets (or moves) the interview time.",
    Milestone.COMPLETED: "The candidate took the interview; results follow.",
    Milestone.RESULTS_READY: "Records Karat's recommendation, with an optional summary and "
    "report link.",
    Milestone.CANCELLED: "The interview will not take place.",
    Milestone.EXPIRED: "The invitation ran out before the candidate scheduled or took it.",
    Milestone.REDO: "The candidate takes the interview again: the Karat status goes back to "
    "invited and the previous time and results are cleared.",
}
_DETAIL_FIELDS = ("scheduled_at", "recommendation", "summary", "report_url")


class MilestoneForm(forms.Form):
    """An admin records a milestone by hand; the service decides what is allowed.

    Only the fields of the chosen milestone are part of the form (shown, validated and
    passed on): the POSTed ``milestone`` when bound, else the ``milestone`` argument (the
    page's ``?milestone=``, which the select asks for through htmx when it changes).
    """

    milestone = forms.ChoiceField(label="Milestone", choices=Milestone.choices)
    scheduled_at = forms.DateTimeField(
        label="Interview time (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In UTC, as Karat's interview platform reports it.",
    )
    recommendation = forms.ChoiceField(
        required=False, choices=[("", "Choose…"), *Recommendation.choices]
    )
    summary = forms.CharField(
        required=False,
        max_length=SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Optional; up to {SUMMARY_MAX_LENGTH:,} characters.",
    )
    report_url = forms.URLField(
        label="Report link",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Optional; an http(s) link to Karat's report.",
    )

    def __init__(
        self,
        *args: Any,
        candidacy: Candidacy,
        milestone: str = "",
        fields_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        allowed = milestones_allowed(candidacy.karat_status)
        chosen = str(self.data.get("milestone", "")) if self.is_bound else milestone
        # A milestone that may not follow still shows its fields: the service says why not.
        self.chosen = chosen if chosen in MILESTONE_RULES else ""
        if not self.is_bound and self.chosen in allowed:
            self.initial["milestone"] = self.chosen
        for name in _DETAIL_FIELDS:
            if name not in MILESTONE_FIELDS.get(self.chosen, ()):
                del self.fields[name]
        for name, message in MILESTONE_REQUIRED.get(self.chosen, {}).items():
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = message
        # Offer only the allowed next steps; a forged value still reaches the service's check.
        select = self.fields["milestone"].widget
        select.choices = [("", "Choose…")] + [
            (value, label) for value, label in Milestone.choices if value in allowed
        ]
        if fields_url:
            # Changing the milestone swaps in its fields (no script of ours; htmx does it).
            select.attrs.update(
                {
                    "hx-get": fields_url,
                    "hx-target": "#milestone-fields",
                    "hx-select": "#milestone-fields",
                    "hx-swap": "outerHTML",
                }
            )
        self.has_next_steps = bool(allowed)
        self.help = MILESTONE_HELP.get(self.chosen, "")

    @property
    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in _DETAIL_FIELDS if name in self.fields]


class _UserChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        name = obj.display_name
        return f"{name} <{obj.email}>" if name != obj.email else obj.email


class RoleFollowerForm(forms.Form):
    """An admin adds a Karat user of the organization as a follower of a role."""

    user = _UserChoiceField(
        queryset=User.objects.none(),
        label="Add a follower",
        empty_label="— choose a Karat user —",
        error_messages={"invalid_choice": "Choose a Karat user of your organization."},
    )

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = users
