"""Forms for the integration pages; the input rules themselves live in services."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations import ats
from integrations.connection.services import lifecycle
from integrations.models import Ats, AtsIntegration, RegionSource
from karatlever.accounts.models import Group


class IntegrationCreateForm(forms.Form):
    """Group (a drop-down only when the user sees several groups) and "Select ATS"."""

    group = forms.ModelChoiceField(
        queryset=Group.objects.none(),
        to_field_name="code",
        empty_label=None,
        label="Group",
        error_messages={"invalid_choice": "Choose one of your organization's groups."},
    )
    ats = forms.ChoiceField(
        choices=[("", "Select ATS"), *Ats.choices],
        label="Select ATS",
        error_messages={
            "invalid_choice": "Choose an ATS from the list.",
            "required": "Choose an ATS.",
        },
    )

    def __init__(self, *args: Any, groups: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["group"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        # Every visible group stays valid input (so a stale page gets a clear error below),
        # but the drop-down offers only the groups that can still take an integration.
        field.queryset = groups
        taken: dict[int, set[str]] = {}
        for group_id, ats_code in AtsIntegration.objects.filter(group__in=groups).values_list(
            "group_id", "ats"
        ):
            taken.setdefault(group_id, set()).add(ats_code)
        every_ats = {value for value, _ in Ats.choices}
        labels = dict(Ats.choices)
        self.available_groups = [g for g in groups if not every_ats <= taken.get(g.pk, set())]
        # (group, why it can't take one), e.g. "Platform already has a Lever integration".
        self.unavailable_groups = [
            (g, self._taken_reason(g.name, taken[g.pk], labels))
            for g in groups
            if every_ats <= taken.get(g.pk, set())
        ]
        self._full_group_ids = {g.pk for g, _ in self.unavailable_groups}
        field.choices = [(g.code, g.name) for g in self.available_groups]
        if len(self.available_groups) == 1:
            # One group: nothing to choose, so no drop-down (seed guide step 2).
            field.widget = forms.HiddenInput()
            field.initial = self.available_groups[0].code

    @staticmethod
    def _taken_reason(name: str, codes: set[str], labels: dict[str, str]) -> str:
        names = " and ".join(sorted(labels[c] for c in codes if c in labels))
        return f"{name} already has a {names} integration"

    def clean_group(self) -> Any:
        group = self.cleaned_data.get("group")
        if group is not None and group.pk in self._full_group_ids:
            reason = {g.pk: why for g, why in self.unavailable_groups}[group.pk]
            raise forms.ValidationError(
                f"{reason}. Open it from the list to change it.", code="duplicate"
            )
        return group

    @property
    def has_group_choice(self) -> bool:
        return not isinstance(self.fields["group"].widget, forms.HiddenInput)


class IntegrationSettingsForm(forms.Form):
    """API key (write-only), optional User ID and region."""

    api_key = forms.CharField(
        label="API Key",
        required=False,
        strip=False,  # lifecycle.api_key_normalize strips and explains what's wrong
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
        ),
    )
    ats_user_id = forms.CharField(
        label="User ID",
        required=False,
        max_length=200,
        help_text="Optional. You don't need to add a User ID. If you do, Karat's notes and "
        "changes in Lever are made as this Lever user.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    region = forms.ChoiceField(
        label="Region",
        # Detect first, then the ATS's region names with their API hosts ("US (api.lever.co)").
        choices=[
            (lifecycle.REGION_DETECT, "Detect from the key (recommended)"),
            *ats.adapter_for(Ats.LEVER).regions,
        ],
        required=False,
        help_text="Where your Lever account lives. Karat finds it from the key: the region "
        "whose Lever accepts it. Choose one only to override that: you sign in to Lever at "
        "hire.lever.co → US; at hire.eu.lever.co → EU; hire.sandbox.lever.co → Sandbox.",
        error_messages={
            "invalid_choice": "Choose a region (US, EU or Sandbox), or Detect from the key."
        },
    )

    def __init__(self, *args: Any, integration: AtsIntegration, **kwargs: Any) -> None:
        chosen = integration.region_source == RegionSource.CHOSEN
        kwargs.setdefault(
            "initial",
            {
                "ats_user_id": integration.ats_user_id,
                "region": integration.region if chosen else lifecycle.REGION_DETECT,
            },
        )
        super().__init__(*args, **kwargs)
        if integration.region_source == RegionSource.DETECTED:
            label = dict(ats.adapter_for(integration.ats).regions).get(
                integration.region, integration.get_region_display()
            )
            self.fields[
                "region"
            ].help_text = f"Detected from the key: {label}. {self.fields['region'].help_text}"
        if integration.has_api_key:
            keep = f"Leave blank to keep {integration.masked_api_key}."
            if integration.pending_api_key_last4:
                keep += f" A new key ••••{integration.pending_api_key_last4} is waiting for Lever's check."
        else:
            keep = "Paste the key you generated in Lever (Settings → Integrations → Karat)."
        self.fields["api_key"].help_text = keep

    def clean_api_key(self) -> str | None:
        return lifecycle.api_key_normalize(self.cleaned_data.get("api_key"))

    def clean_ats_user_id(self) -> str:
        return lifecycle.ats_user_id_normalize(self.cleaned_data.get("ats_user_id"))
