"""The deletions feature's console pieces: its Settings section and the policy's save."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connection import selectors
from integrations.deletions import services
from integrations.deletions.forms import DeletionPolicyForm
from integrations.deletions.selectors import deletion_policy, deletion_settings_find
from integrations.features import SettingsSection
from integrations.models import AtsIntegration
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The "Deleted candidates" section of the Settings page: the policy, as a form."""
    return SettingsSection(
        template="integrations/deletions/_section.html",
        context={
            "form": DeletionPolicyForm(
                initial={"policy": deletion_policy(integration=integration)}
            ),
            "row": deletion_settings_find(integration=integration),
            "url": reverse("deletions:policy", kwargs={"public_id": integration.public_id}),
        },
        anchor="deletions",
        title="Deleted candidates",
    )


@admin_required
@require_POST
def policy(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Save the deletion policy; back to the Settings page's section either way."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    back = reverse("integrations:settings", kwargs={"public_id": public_id}) + "#deletions"
    form = DeletionPolicyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what Karat does with deleted candidates.")
        return redirect(back)
    try:
        services.deletion_policy_set(
            integration=integration, policy=form.cleaned_data["policy"], actor=request.user
        )
    except services.DeletionPolicyError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, "Deleted candidates: policy saved.")
    return redirect(back)
