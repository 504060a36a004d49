"""Step 3 of the setup guide: signature tokens pasted by an admin, or webhooks registered in Lever."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction

from integrations.connections import lever_client_for
from integrations.lever.client import LeverClient
from integrations.lever.errors import (
    LeverAuthError,
    LeverError,
    LeverPermissionError,
    LeverTransientError,
)
from integrations.lever.schemas import Webhook
from integrations.models import AtsIntegration, AuditEntry, WebhookEvent, WebhookSubscription
from integrations.services import audit_entry_record
from karatlever.accounts.models import User
from webhooks.selectors import webhook_url

logger = logging.getLogger(__name__)

TOKEN_MIN = 16
TOKEN_MAX = 200
# Registering runs inside the admin's request: at most ~10 Lever calls, each kept short.
INTERACTIVE_MAX_RETRIES = 0
INTERACTIVE_ACQUIRE_TIMEOUT = 5.0
INTERACTIVE_CONNECT_TIMEOUT = 3.05
INTERACTIVE_READ_TIMEOUT = 10.0
# No new event is started after this long, well inside gunicorn's 30 s worker timeout.
INTERACTIVE_BUDGET_SECONDS = 12.0


class WebhookSetupError(Exception):
    """Setting up webhooks failed; the message is safe to show to the admin."""


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
    changed: list[str] = []
    for event, raw in tokens.items():
        if event not in WebhookEvent.values:
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
            summary="Webhook signature tokens set for "
            + ", ".join(WebhookEvent(e).label for e in changed),
            detail={"events": changed, "source": "pasted"},
        )
    return changed


@dataclass
class RegisterResult:
    url: str
    created: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: int = 0
    not_removed: int = 0


def webhooks_register(*, integration: AtsIntegration, actor: User | None) -> RegisterResult:
    """Create (or repair) the three webhooks in Lever pointing at this integration's URL.

    For each event: a webhook we created before and still hold the token for is kept (its URL
    is corrected if PUBLIC_BASE_URL changed); otherwise a new one is created and its signature
    token (returned only at creation) is stored at once, the old token staying valid as the
    previous one. Other webhooks for the same event and URL would deliver with tokens we don't
    have, so they are removed where Lever allows. Raises WebhookSetupError with a message for
    the admin; work done before an error is kept.
    """
    if not integration.has_api_key:
        raise WebhookSetupError("Save a Lever API key first (Step 2).")
    url = webhook_url(integration=integration)
    client = interactive_client(integration)
    result = RegisterResult(url=url)
    try:
        deadline = time.monotonic() + INTERACTIVE_BUDGET_SECONDS
        existing = client.list_webhooks()
        for event in WebhookEvent:
            if time.monotonic() > deadline:
                raise WebhookSetupError("Lever is answering slowly, so Karat stopped early.")
            _register_event(client, integration, event.value, url, existing, result)
    except LeverPermissionError as exc:
        raise WebhookSetupError(
            "The API key may not manage webhooks in Lever (it needs the webhooks permissions). "
            "Create the three webhooks in Lever and paste their signature tokens below instead."
            + _progress(result)
        ) from exc
    except LeverAuthError as exc:
        raise WebhookSetupError(
            "Lever refused the API key. Check it in Step 2." + _progress(result)
        ) from exc
    except LeverTransientError as exc:
        raise WebhookSetupError(
            "Lever did not answer in time or could not be reached." + _progress(result)
        ) from exc
    except LeverError as exc:
        raise WebhookSetupError(
            f"Lever rejected the request: {exc.message}" + _progress(result)
        ) from exc
    except WebhookSetupError as exc:
        raise WebhookSetupError(str(exc) + _progress(result)) from exc
    finally:
        if result.created or result.repaired or result.removed:
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.WEBHOOKS_CHANGED,
                summary="Webhooks registered in Lever",
                detail={
                    "created": result.created,
                    "repaired": result.repaired,
                    "removed": result.removed,
                    "source": "lever_api",
                },
            )
    logger.info(
        "webhooks registered (integration_id=%s): created=%s repaired=%s kept=%s removed=%d",
        integration.public_id,
        result.created,
        result.repaired,
        result.kept,
        result.removed,
    )
    return result


def interactive_client(integration: AtsIntegration) -> LeverClient:
    """A client for calls made inside a web request: a tight time budget per call.

    The defaults suit workers (several retries with backoff, up to a minute waiting for a
    rate-limit token); in a request they could outlast the web server's timeout. Here a call
    fails fast and the page says what was done; clicking again repairs the rest.
    """
    client = lever_client_for(integration)
    client.max_retries = INTERACTIVE_MAX_RETRIES
    client.acquire_timeout = INTERACTIVE_ACQUIRE_TIMEOUT
    connect, read = client.timeout
    client.timeout = (
        min(connect, INTERACTIVE_CONNECT_TIMEOUT),
        min(read, INTERACTIVE_READ_TIMEOUT),
    )
    return client


def _progress(result: RegisterResult) -> str:
    """What was and wasn't registered before an error, for the admin's message."""
    done = result.created + result.repaired + result.kept
    missing = [e for e in WebhookEvent.values if e not in done]
    text = ""
    if done:
        text += " Registered: " + ", ".join(WebhookEvent(e).label for e in done) + "."
    if missing:
        text += " Not registered: " + ", ".join(WebhookEvent(e).label for e in missing) + "."
    return (
        text + " Click “Register webhooks in Lever” again to finish: what is already "
        "registered is kept, not duplicated."
    )


def _register_event(
    client: LeverClient,
    integration: AtsIntegration,
    event: str,
    url: str,
    existing: list[Webhook],
    result: RegisterResult,
) -> None:
    subscription, _ = WebhookSubscription.objects.get_or_create(
        integration=integration, event=event
    )
    known = next(
        (w for w in existing if w.id == subscription.lever_webhook_id and w.event == event), None
    )
    keep: Webhook | None = None
    if known is not None and subscription.signature_token:
        if known.url != url:
            client.update_webhook(known.id, url=url)
            result.repaired.append(event)
        else:
            result.kept.append(event)
        keep = known
    else:
        created = client.create_webhook(url=url, event=event)
        if not created.signature_token:
            raise WebhookSetupError("Lever created the webhook but returned no signature token.")
        _token_store(subscription, created.signature_token, lever_webhook_id=created.id)
        result.created.append(event)
        keep = created
    for other in existing:
        if other.event == event and other.url == url and other.id != keep.id:
            try:
                client.delete_webhook(other.id)
                result.removed += 1
            except LeverError:
                # Lever only lets the API change webhooks the API created; leave the rest.
                result.not_removed += 1
