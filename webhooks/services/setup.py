"""Step 3 of the setup guide: signature tokens pasted by an admin, or webhooks registered through the ATS."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.models import AtsIntegration, AuditEntry, WebhookSubscription
from integrations.status.refresh import status_refresh_request
from karatlever.accounts.models import User
from karatlever.errors import ApplicationError
from webhooks.selectors import webhook_url

logger = logging.getLogger(__name__)

TOKEN_MIN = 16
TOKEN_MAX = 200
# Registering runs inside the admin's request (at most ~10 calls, each with the INTERACTIVE
# profile's short timeouts). No new event is started after this long, well inside gunicorn's
# 30 s worker timeout.
INTERACTIVE_BUDGET_SECONDS = 12.0


class WebhookSetupError(ApplicationError):
    """Setting up webhooks failed; the message is safe to show to the admin. An
    ``ApplicationError``, so the API's handler and ``form_errors_from`` show it as they are."""

    default_code = "webhook_setup"


def signature_token_validate(token: str) -> str:
    """A pasted token, trimmed; raises WebhookSetupError when it cannot be one of Lever's."""
    token = token.strip()
    if not TOKEN_MIN <= len(token) <= TOKEN_MAX or any(c.isspace() for c in token):
        raise WebhookSetupError(
            f"A signature token is {TOKEN_MIN} to {TOKEN_MAX} characters without spaces."
        )
    return token


def _token_store(
    subscription: WebhookSubscription, token: str, *, lever_webhook_id: str | None = None
) -> bool:
    """Make ``token`` current; the replaced one stays valid as the previous token."""
    if lever_webhook_id is not None:
        subscription.lever_webhook_id = lever_webhook_id
    if subscription.signature_token == token and lever_webhook_id is None:
        return False
    if subscription.signature_token != token:
        subscription.previous_signature_token = subscription.signature_token
        subscription.signature_token = token
        subscription.signature_token_last4 = token[-4:]
    subscription.save(
        update_fields=[
            "signature_token",
            "signature_token_last4",
            "previous_signature_token",
            "lever_webhook_id",
            "updated_at",
        ]
    )
    return True


@transaction.atomic
def signature_tokens_set(
    *, integration: AtsIntegration, tokens: dict[str, str], actor: User | None
) -> list[str]:
    """Store the tokens an admin pasted from Lever's Webhooks page (blank = keep).

    Returns the events whose token changed. The previous token keeps verifying deliveries,
    so Lever's in-flight retries signed with it still land. Audited without the tokens.
    """
    labels = event_labels(integration)
    changed: list[str] = []
    for event, raw in tokens.items():
        if event not in labels:
            raise WebhookSetupError(f"Unknown webhook event “{event}”.")
        if not raw or not raw.strip():
            continue
        token = signature_token_validate(raw)
        subscription, _ = WebhookSubscription.objects.select_for_update().get_or_create(
            integration=integration, event=event
        )
        if _token_store(subscription, token):
            changed.append(event)
    if changed:
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.WEBHOOKS_CHANGED,
            summary="Webhook signature tokens set for " + ", ".join(labels[e] for e in changed),
            detail={"events": changed, "source": "pasted"},
        )
        # Status page: Step 3 saved; recompute the status on commit.
        status_refresh_request(integration_id=integration.pk, reason="Webhook tokens saved")
    return changed


@dataclass
class RegisterResult:
    url: str
    created: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: int = 0
    not_removed: int = 0


def event_labels(integration: AtsIntegration) -> dict[str, str]:
    """The events this integration's ATS acts on, code -> label, in display order."""
    return {
        spec.code: spec.label
        for spec in ats.adapter_for(integration.ats, ats.AtsBase).webhook_events
    }


def webhooks_register(*, integration: AtsIntegration, actor: User | None) -> RegisterResult:
    """Create (or repair) the integration's webhooks in the ATS pointing at its URL.

    For each event: a webhook we created before and still hold the token for is kept (its URL
    is corrected if PUBLIC_BASE_URL changed); otherwise a new one is created and its signature
    token (returned only at creation) is stored at once, the old token staying valid as the
    previous one. Other webhooks for the same event and URL would deliver with tokens we don't
    have, so they are removed where the ATS allows. Raises WebhookSetupError with a message for
    the admin; work done before an error is kept. Calls use the INTERACTIVE profile.
    """
    adapter = ats.adapter_for(integration.ats, ats.WebhooksApi)
    if not integration.has_api_key:
        raise WebhookSetupError(f"Save a {adapter.label} API key first (Step 2).")
    url = webhook_url(integration=integration)
    account = ats.account_for(integration)
    labels = event_labels(integration)
    result = RegisterResult(url=url)
    try:
        deadline = time.monotonic() + INTERACTIVE_BUDGET_SECONDS
        existing = adapter.webhooks_list(account, profile=ats.INTERACTIVE)
        for event in labels:
            if time.monotonic() > deadline:
                raise WebhookSetupError(
                    f"{adapter.label} is answering slowly, so Karat stopped early."
                )
            _register_event(adapter, account, integration, event, url, existing, result)
    except ats.AtsKeyError as exc:
        if exc.status_code == 403:
            raise WebhookSetupError(
                f"The API key may not manage webhooks in {adapter.label} (it needs the webhooks "
                f"permissions). Create the webhooks in {adapter.label} and paste their "
                "signature tokens below instead." + _progress(result, labels, adapter.label)
            ) from exc
        raise WebhookSetupError(
            f"{adapter.label} refused the API key. Check it in Step 2."
            + _progress(result, labels, adapter.label)
        ) from exc
    except ats.AtsUnavailable as exc:
        raise WebhookSetupError(
            f"{adapter.label} did not answer in time or could not be reached."
            + _progress(result, labels, adapter.label)
        ) from exc
    except ats.AtsError as exc:
        raise WebhookSetupError(exc.message + _progress(result, labels, adapter.label)) from exc
    except WebhookSetupError as exc:
        raise WebhookSetupError(str(exc) + _progress(result, labels, adapter.label)) from exc
    finally:
        if result.created or result.repaired or result.removed:
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.WEBHOOKS_CHANGED,
                summary=f"Webhooks registered in {adapter.label}",
                detail={
                    "created": result.created,
                    "repaired": result.repaired,
                    "removed": result.removed,
                    "source": f"{adapter.ats}_api",
                },
            )
            # Status page: the webhooks changed in the ATS; recompute the status on commit.
            status_refresh_request(integration_id=integration.pk, reason="Webhooks registered")
    logger.info(
        "webhooks registered: created=%s repaired=%s kept=%s removed=%d",
        result.created,
        result.repaired,
        result.kept,
        result.removed,
        extra={"integration_id": integration.public_id},
    )
    return result


def _progress(result: RegisterResult, labels: dict[str, str], ats_label: str = "Lever") -> str:
    """What was and wasn't registered before an error, for the admin's message."""
    done = result.created + result.repaired + result.kept
    missing = [e for e in labels if e not in done]
    text = ""
    if done:
        text += " Registered: " + ", ".join(labels[e] for e in done) + "."
    if missing:
        text += " Not registered: " + ", ".join(labels[e] for e in missing) + "."
    return (
        text + f" Click “Register webhooks in {ats_label}” again to finish: what is already "
        "registered is kept, not duplicated."
    )


def _register_event(
    adapter: ats.WebhooksApi,
    account: ats.AtsAccount,
    integration: AtsIntegration,
    event: str,
    url: str,
    existing: list[ats.RemoteWebhook],
    result: RegisterResult,
) -> None:
    subscription, _ = WebhookSubscription.objects.get_or_create(
        integration=integration, event=event
    )
    known = next(
        (w for w in existing if w.id == subscription.lever_webhook_id and w.event == event), None
    )
    if known is not None and subscription.signature_token:
        if known.url != url:
            adapter.webhook_update_url(account, known.id, url=url, profile=ats.INTERACTIVE)
            result.repaired.append(event)
        else:
            result.kept.append(event)
        keep = known
    else:
        created = adapter.webhook_create(account, url=url, event=event, profile=ats.INTERACTIVE)
        if not created.signature_token:
            raise WebhookSetupError(
                f"{adapter.label} created the webhook but returned no signature token."
            )
        _token_store(subscription, created.signature_token, lever_webhook_id=created.id)
        result.created.append(event)
        keep = created
    for other in existing:
        if other.event == event and other.url == url and other.id != keep.id:
            try:
                adapter.webhook_delete(account, other.id, profile=ats.INTERACTIVE)
                result.removed += 1
            except ats.AtsError:
                # Lever only lets the API change webhooks the API created; leave the rest.
                result.not_removed += 1
