"""Forms of the webhook console pages."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.models import WebhookEvent
from webhooks.models import WebhookDelivery
from webhooks.services.setup import WebhookSetupError, signature_token_validate


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


# Form field → Lever event, in the order Lever's Webhooks page lists them.
TOKEN_FIELDS = {
    "stage_change_token": WebhookEvent.CANDIDATE_STAGE_CHANGE,
    "archive_change_token": WebhookEvent.CANDIDATE_ARCHIVE_CHANGE,
    "hired_token": WebhookEvent.CANDIDATE_HIRED,
}


class SignatureTokensForm(forms.Form):
    """The three signature tokens from Lever's Webhooks page; a blank field keeps the token."""

    stage_change_token = _token_field(WebhookEvent.CANDIDATE_STAGE_CHANGE.label)
    archive_change_token = _token_field(WebhookEvent.CANDIDATE_ARCHIVE_CHANGE.label)
    hired_token = _token_field(WebhookEvent.CANDIDATE_HIRED.label)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in TOKEN_FIELDS:
            value = data.get(name) or ""
            if value:
                try:
                    data[name] = signature_token_validate(value)
                except WebhookSetupError as exc:
                    self.add_error(name, str(exc))
        if not self.errors and not any(data.get(name) for name in TOKEN_FIELDS):
            raise forms.ValidationError("Paste at least one signature token.")
        return data

    @property
    def tokens(self) -> dict[str, str]:
        """Event → pasted token ("" = keep the stored one)."""
        return {
            event.value: self.cleaned_data.get(name) or "" for name, event in TOKEN_FIELDS.items()
        }


class DeliveryFilterForm(forms.Form):
    event = forms.ChoiceField(required=False, choices=[("", "All events"), *WebhookEvent.choices])
    status = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "All outcomes"), *WebhookDelivery.Status.choices],
    )
