"""Template tags for the webhook section of an integration's settings page."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from integrations.models import AtsIntegration
from webhooks import selectors
from webhooks.forms import SignatureTokensForm

register = template.Library()


@register.simple_tag
def webhook_setup_context(integration: AtsIntegration) -> dict[str, Any]:
    """Everything the Step 3 partial shows: URL, per-event state, the token form, links."""
    kwargs = {"integration_id": integration.public_id}
    return {
        "url": selectors.webhook_url(integration=integration),
        "events": selectors.webhook_setup(integration=integration),
        "not_arriving": selectors.webhooks_not_arriving(integration=integration),
        "form": SignatureTokensForm(integration=integration),
        "tokens_url": reverse("webhooks-console:tokens", kwargs=kwargs),
        "register_url": reverse("webhooks-console:register", kwargs=kwargs),
        "activity_url": reverse("webhooks-console:activity", kwargs=kwargs),
    }
