"""The "Updates posted to Lever" settings form; lookups and rules live in outbound/services/."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from integrations.models import AtsIntegration, OutboundSettings
from integrations.outbound.services import actions, notes
from karatlever.hiring.models import Milestone, Recommendation

PerformAs = OutboundSettings.PerformAs
# Lever tags are plain strings; a comma would read as two tags in most tools.
_PREFIX_OK = re.compile(r"^[^,\n\r\t]*$")


def template_field(milestone: str) -> str:
    return f"template_{milestone}"


def stage_field(recommendation: str) -> str:
    return f"stage_{recommendation}"


class OutboundSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Post updates to Lever")
    notes_enabled = forms.BooleanField(required=False, label="Write a note for each milestone")
    secret_notes = forms.BooleanField(
        required=False, label="Make the notes secret (only users with sensitive-data access)"
    )
    score_enabled = forms.BooleanField(
        required=False, label="Score the results note from the recommendation (1 to 4)"
    )
    tags_enabled = forms.BooleanField(required=False, label="Keep a Karat status tag")
    tag_prefix = forms.CharField(
        required=False,
        max_length=40,
        label="Tag prefix",
        help_text="Tags read “<prefix>: <status>”, e.g. “Karat: Scheduled”. Blank: the status alone.",
    )
    links_enabled = forms.BooleanField(
        required=False, label="Add the Karat report link to the profile when results are ready"
    )
    perform_as = forms.ChoiceField(choices=PerformAs.choices, label="Post updates as")
    perform_as_email = forms.EmailField(
        required=False,
        label="Lever user's email",
        help_text="Used when posting as a Lever user picked by email.",
    )
    stage_moves_enabled = forms.BooleanField(
        required=False, label="Move the Lever stage when results are ready (never archives)"
    )

    def __init__(self, *args: Any, integration: AtsIntegration, **kwargs: Any) -> None:
        self.integration = integration
        current = notes.outbound_settings_get(integration=integration)
        self.current = current
        initial = {
            name: getattr(current, name)
            for name in (
                "enabled",
                "notes_enabled",
                "secret_notes",
                "score_enabled",
                "tags_enabled",
                "tag_prefix",
                "links_enabled",
                "perform_as",
                "stage_moves_enabled",
            )
        }
        initial["perform_as_email"] = current.perform_as_email
        for milestone in Milestone.values:
            initial[template_field(milestone)] = notes.template_for(
                outbound=current, milestone=milestone
            )
        for recommendation in Recommendation.values:
            rule = (current.stage_rules or {}).get(recommendation) or {}
            initial[stage_field(recommendation)] = rule.get("stage_id", "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for milestone, label in Milestone.choices:
            self.fields[template_field(milestone)] = forms.CharField(
                required=False,
                max_length=notes.TEMPLATE_MAX_LENGTH,
                label=f"Note for “{label}”",
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="Blank: the default note.",
            )
        self._stage_fields_add()

    def _stage_fields_add(self) -> None:
        """One drop-down of the ATS's stages per recommendation. When the ATS can't be asked,
        each keeps its current stage selectable (or "No move") and ``stages_unavailable``
        says why; a value not on offer is refused with that reason."""
        options = actions.stage_options(integration=self.integration)
        self.stages_unavailable = options.unavailable
        self.stage_names: dict[str, str] = dict(options.stages)
        invalid = options.unavailable or "Pick one of Lever's stages from the list."
        for recommendation, label in Recommendation.choices:
            rule = (self.current.stage_rules or {}).get(recommendation) or {}
            choices = [("", "No move"), *options.stages]
            current = str(rule.get("stage_id") or "")
            if current and current not in self.stage_names:
                # Kept as it is: not in the list now (Lever unreachable, or the stage is gone).
                name = str(rule.get("stage_name") or current)
                note = "current" if options.unavailable else "current, not in Lever's list now"
                choices.append((current, f"{name} ({note})"))
            self.fields[stage_field(recommendation)] = forms.ChoiceField(
                required=False,
                choices=choices,
                label=f"Stage for “{label}”",
                error_messages={"invalid_choice": invalid},
            )

    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.base_fields]

    def template_fields(self) -> list[forms.BoundField]:
        return [self[template_field(m)] for m in Milestone.values]

    def stage_fields(self) -> list[forms.BoundField]:
        return [self[stage_field(r)] for r in Recommendation.values]

    def stages_open(self) -> bool:
        """Whether the folded stage moves start open: an error to see there."""
        return bool(self["stage_moves_enabled"].errors) or any(
            f.errors for f in self.stage_fields()
        )

    def templates_open(self) -> bool:
        """Whether the folded note templates start open: an error to see there."""
        return any(field.errors for field in self.template_fields())

    def clean_tag_prefix(self) -> str:
        prefix: str = self.cleaned_data.get("tag_prefix", "").strip()
        if not _PREFIX_OK.match(prefix):
            raise forms.ValidationError("The prefix can't contain commas, tabs or line breaks.")
        return prefix

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        templates: dict[str, str] = {}
        for milestone in Milestone.values:
            name = template_field(milestone)
            text = (data.get(name) or "").strip()
            if not text or text == notes.DEFAULT_TEMPLATES[milestone]:
                continue  # the default: stored as blank so later default changes apply
            try:
                notes.template_check(text, milestone=milestone)
            except notes.OutboundError as exc:
                self.add_error(name, str(exc))
                continue
            templates[milestone] = text
        data["note_templates"] = templates
        self._clean_perform_as(data)
        self._clean_stages(data)
        return data

    def _clean_perform_as(self, data: dict[str, Any]) -> None:
        email = (data.get("perform_as_email") or "").strip().lower()
        data["perform_as_user_id"] = self.current.perform_as_user_id
        data["perform_as_name"] = self.current.perform_as_name
        data["perform_as_email"] = email
        if data.get("perform_as") != PerformAs.LEVER_USER:
            return
        if not email:
            self.add_error("perform_as_email", "Enter the email of the Lever user to post as.")
            return
        if email == self.current.perform_as_email and self.current.perform_as_user_id:
            return  # unchanged: no need to ask Lever again
        try:
            user = actions.perform_as_user_find(integration=self.integration, email=email)
        except notes.OutboundError as exc:
            self.add_error("perform_as_email", str(exc))
            return
        data["perform_as_user_id"], data["perform_as_name"] = user.id, user.name

    def _clean_stages(self, data: dict[str, Any]) -> None:
        current = {
            str(rule.get("stage_id") or ""): str(rule.get("stage_name") or "")
            for rule in (self.current.stage_rules or {}).values()
            if isinstance(rule, dict)
        }
        rules = {}
        for recommendation in Recommendation.values:
            stage_id = data.get(stage_field(recommendation)) or ""
            if stage_id:  # one of the choices offered (the field checked it)
                name = self.stage_names.get(stage_id) or current.get(stage_id, "")
                rules[recommendation] = {"stage_id": stage_id, "stage_name": name}
        data["stage_rules"] = rules
        if not rules and data.get("stage_moves_enabled"):
            self.add_error("stage_moves_enabled", "Pick a stage for at least one recommendation.")

    def values(self) -> dict[str, Any]:
        """The model fields to save (after is_valid())."""
        data = self.cleaned_data
        names = (
            "enabled",
            "notes_enabled",
            "secret_notes",
            "score_enabled",
            "tags_enabled",
            "tag_prefix",
            "links_enabled",
            "perform_as",
            "perform_as_email",
            "perform_as_user_id",
            "perform_as_name",
            "stage_moves_enabled",
            "note_templates",
            "stage_rules",
        )
        return {name: data[name] for name in names}


class PreviewForm(forms.Form):
    """Render one milestone's note for a chosen candidacy of the group (nothing is saved)."""

    candidacy = forms.CharField(max_length=64, label="Candidacy")
    milestone = forms.ChoiceField(choices=Milestone.choices, label="Milestone")
