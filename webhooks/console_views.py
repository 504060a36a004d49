"""Webhook console pages: Step 3 actions (tokens, register in Lever) and the activity page."""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from integrations.auto_invites.selectors import auto_invite_recent
from integrations.connection.selectors import integration_get
from integrations.features import SettingsSection
from integrations.models import AtsIntegration, OutboundUpdate
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.hiring.models import Milestone
from karatlever.paging import keyset_page
from webhooks import selectors
from webhooks.forms import DeliveryFilterForm, OutboundUpdateFilterForm, SignatureTokensForm
from webhooks.models import WebhookRejection
from webhooks.services import processing, setup

DELIVERIES_PER_PAGE = 50


def _integration(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> AtsIntegration:
    return integration_get(user=request.user, public_id=public_id)


def _settings_url(integration: AtsIntegration) -> str:
    kwargs = {"public_id": integration.public_id}
    return reverse("integrations:settings", kwargs=kwargs) + "#webhooks"


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """Step 3 on the integration's Settings page: URL, per-event state, the token form, links
    (a row of the features table, integrations/features.py)."""
    kwargs = {"public_id": integration.public_id}
    return SettingsSection(
        template="webhooks/_integration_webhooks.html",
        context={
            "url": selectors.webhook_url(integration=integration),
            "events": selectors.webhook_setup(integration=integration),
            "not_arriving": selectors.webhooks_not_arriving(integration=integration),
            "form": SignatureTokensForm(integration=integration),
            "tokens_url": reverse("webhooks-console:tokens", kwargs=kwargs),
            "register_url": reverse("webhooks-console:register", kwargs=kwargs),
            "activity_url": reverse("webhooks-console:activity", kwargs=kwargs),
        },
        anchor="webhooks",
        title="Step 3: Webhooks",
    )


# Takes signature tokens (one field per event): error reports show no posted value and no local
# variable of this view or what it calls.
@sensitive_post_parameters()
@sensitive_variables()
@admin_required
@require_POST
def tokens_save(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = _integration(request, public_id)
    form = SignatureTokensForm(request.POST, integration=integration)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return HttpResponseRedirect(_settings_url(integration))
    changed = setup.signature_tokens_set(
        integration=integration,
        tokens=form.tokens,
        actor=request.user,
    )
    if changed:
        labels = ", ".join(form.events[e] for e in changed)
        messages.success(request, f"Signature token saved for {labels}.")
    else:
        messages.info(request, "Those tokens were already saved.")
    return HttpResponseRedirect(_settings_url(integration))


# Handles the API key and the tokens Lever returns: no local variable in error reports.
@sensitive_variables()
@admin_required
@require_POST
def register(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = _integration(request, public_id)
    try:
        result = setup.webhooks_register(integration=integration, actor=request.user)
    except setup.WebhookSetupError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_settings_url(integration))
    done = []
    if result.created:
        done.append(f"created {len(result.created)}")
    if result.repaired:
        done.append(f"repaired {len(result.repaired)}")
    if result.kept:
        done.append(f"{len(result.kept)} already in place")
    messages.success(
        request,
        "Webhooks registered in Lever ("
        + ", ".join(done)
        + "). Now switch the three toggles ON in Lever: Settings → Integrations and API → "
        "Webhooks (Candidate Stage Change, Candidate Archive State Change, Candidate Hired), "
        "and Candidate Deleted's too, so deletions reach Karat at once.",
    )
    if result.not_removed:
        messages.warning(
            request,
            f"{result.not_removed} other webhook(s) in Lever point at this URL and could not be "
            "removed through the API; delete them on Lever's Webhooks page.",
        )
    return HttpResponseRedirect(_settings_url(integration))


# The updates' filter fields are prefixed so they never clash with the deliveries' ones.
UPDATES_FILTER_PREFIX = "updates"


@admin_required
@require_GET
def activity(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """What the ATS sent (webhook deliveries) and what Karat posted to it (outbound updates),
    each list with its own filters. A filter value not on offer is refused with a 400 that
    says so, and that list is shown unfiltered."""
    integration = _integration(request, public_id)
    form = DeliveryFilterForm(request.GET or None, integration=integration)
    updates_form = OutboundUpdateFilterForm(request.GET or None, prefix=UPDATES_FILTER_PREFIX)
    event = status = ""
    if form.is_valid():
        event, status = form.cleaned_data["event"], form.cleaned_data["status"]
    deliveries = selectors.delivery_list(integration=integration, event=event, status=status)
    # Keyset paging: the last of 100k deliveries costs what the first does (no offset, no
    # count); ?cursor= is untrusted and anything malformed shows the newest page.
    page = keyset_page(
        deliveries,
        cursor=request.GET.get("cursor"),
        per_page=DELIVERIES_PER_PAGE,
        time_field="received_at",
    )
    counts = selectors.rejection_counts(integration=integration)
    # Deliveries whose opportunity Karat unlinked still name the candidacy they concerned.
    former = selectors.former_candidacies(integration=integration, deliveries=page.rows)
    return render(
        request,
        "webhooks/activity.html",
        {
            "integration": integration,
            "form": form,
            "keyset": page,
            "deliveries": page.rows,
            "delivery_rows": [
                (d, form.labels.get(d.event, d.event), former.get(d.pk)) for d in page.rows
            ],
            "filtered": bool(event or status),
            "rejections": [
                (WebhookRejection.Reason(reason).label, count) for reason, count in counts.items()
            ],
            "settings_url": _settings_url(integration),
            # Each automatic invite (integrations/auto_invites/services.py) is listed here too.
            "auto_invites": auto_invite_recent(integration=integration),
            # Post candidacy updates: the outbound side of the same integration.
            **_outbound_context(request, integration, updates_form),
        },
        status=400 if form.errors or updates_form.errors else 200,
    )


OUTBOUND_PER_PAGE = 50
# The Activity header says what the list holds: "one per note, …, feedback form or feedback
# form removal", from the kinds themselves so a new kind is never left out.
_KIND_WORDS = [label[0].lower() + label[1:] for label in OutboundUpdate.Kind.labels]
OUTBOUND_KINDS_IN_WORDS = ", ".join(_KIND_WORDS[:-1]) + " or " + _KIND_WORDS[-1]


def _outbound_context(
    request: AuthenticatedHttpRequest,
    integration: AtsIntegration,
    form: OutboundUpdateFilterForm,
) -> dict[str, object]:
    """Updates posted to the ATS, newest first, filtered by ``form`` when it is valid, paged by
    ``opage`` (beside the deliveries)."""
    from integrations.outbound import selectors as outbound_selectors

    filters = {"status": "", "kind": "", "milestone": ""}
    if form.is_valid():
        filters = {name: form.cleaned_data[name] for name in filters}
    updates = outbound_selectors.outbound_update_list(integration=integration, **filters)
    page = Paginator(updates, OUTBOUND_PER_PAGE).get_page(request.GET.get("opage"))
    milestones = dict(Milestone.choices)
    return {
        "updates_form": form,
        "updates_kinds": OUTBOUND_KINDS_IN_WORDS,
        "updates_filtered": any(filters.values()),
        "outbound_page": page,
        "outbound_updates": page.object_list,
        "outbound_rows": [(u, milestones.get(u.milestone, u.milestone)) for u in page.object_list],
    }


@admin_required
@require_GET
def delivery_detail(
    request: AuthenticatedHttpRequest, public_id: uuid.UUID, delivery_id: int
) -> HttpResponse:
    integration = _integration(request, public_id)
    delivery = selectors.delivery_get(integration=integration, delivery_id=delivery_id)
    former = selectors.former_candidacies(integration=integration, deliveries=[delivery])
    payload = None
    if delivery.payload is not None:
        # Real characters (names, the mask "••••••"), not \u escapes.
        payload = json.dumps(
            selectors.payload_masked(delivery.payload),
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        )
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "integration": integration,
            "delivery": delivery,
            "event_label": setup.event_labels(integration).get(delivery.event, delivery.event),
            "former": former.get(delivery.pk),
            "payload": payload,
        },
    )


@admin_required
@require_POST
def delivery_process_again(
    request: AuthenticatedHttpRequest, public_id: uuid.UUID, delivery_id: int
) -> HttpResponse:
    integration = _integration(request, public_id)
    delivery = selectors.delivery_get(integration=integration, delivery_id=delivery_id)
    if processing.delivery_replay(delivery=delivery, actor=request.user):
        messages.success(request, f"Delivery #{delivery.pk} will be processed again shortly.")
    else:
        messages.warning(request, f"Delivery #{delivery.pk} is being processed right now.")
    return redirect(
        "webhooks-console:delivery-detail", public_id=public_id, delivery_id=delivery.pk
    )
