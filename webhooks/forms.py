"""Forms of the webhook console pages."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.models import AtsIntegration, OutboundUpdate
from karatlever.hiring.models import Milestone
from webhooks.models import WebhookDelivery
from webhooks.services.setup import WebhookSetupError, event_labels, signature_token_validate


def _token_field(label: str) -> forms.CharField:
    # Write-only: a stored token is never rendered back into the page.
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )


class SignatureTokensForm(forms.Form):
    """One signature token per event the integration's ATS acts on, as its webhook page lists
    them; a blank field keeps the stored token. Fields are named ``token_<event>``."""

    def __init__(self, *args: Any, integration: AtsIntegration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = event_labels(integration)
        for event, label in self.events.items():
            self.fields[f"token_{event}"] = _token_field(label)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for event in self.events:
            name = f"token_{event}"
            value = data.get(name) or ""
            if value:
                try:
                    data[name] = signature_token_validate(value)
                except WebhookSetupError as exc:
                    self.add_error(name, str(exc))
        if not self.errors and not any(data.get(f"token_{e}") for e in self.events):
            raise forms.ValidationError("Paste at least one signature token.")
        return data

    @property
    def tokens(self) -> dict[str, str]:
        """Event → pasted token ("" = keep the stored one)."""
        return {event: self.cleaned_data.get(f"token_{event}") or "" for event in self.events}


def _filter_field(label: str, choices: list[tuple[str, str]], everything: str) -> forms.ChoiceField:
    # The refused value is not echoed back: it is whatever was in the address bar.
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", everything), *choices],
        error_messages={"invalid_choice": f"Pick a {label.lower()} from the list."},
    )


class DeliveryFilterForm(forms.Form):
    """The filters of the webhooks received; events by the label the ATS's page shows."""

    event = _filter_field("Event", [], "All events")
    status = _filter_field("Outcome", WebhookDelivery.Status.choices, "All outcomes")

    def __init__(self, *args: Any, integration: AtsIntegration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = event_labels(integration)
        self.event_field.choices = [("", "All events"), *self.labels.items()]

    @property
    def event_field(self) -> forms.ChoiceField:
        field = self.fields["event"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        return field


class OutboundUpdateFilterForm(forms.Form):
    """The filters of the updates posted to the ATS, beside the deliveries' own on the activity
    page: with ``prefix="updates"`` its fields are ``updates_status``, ``updates_kind`` and
    ``updates_milestone``."""

    status = _filter_field("Status", OutboundUpdate.Status.choices, "All statuses")
    kind = _filter_field("Update", OutboundUpdate.Kind.choices, "All updates")
    milestone = _filter_field("Milestone", Milestone.choices, "All milestones")

    def add_prefix(self, field_name: str) -> str:
        # "_" rather than Django's "-": the names are also keywords of {% querystring %}.
        return f"{self.prefix}_{field_name}" if self.prefix else field_name
