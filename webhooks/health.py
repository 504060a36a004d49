"""The "Auto state updating" feature on the status page: is every webhook set up, arriving and
processed? (Named in ``integrations.features.FEATURES``.)"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.selectors import (
    key_check_lines,
    key_refusal,
    reconciliation_scheduled,
)
from integrations.features import (
    AUTO_STATE_UPDATING,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration
from integrations.sentences import sentences_join
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.selectors import (
    EventSetup,
    delivery_failure_counts,
    rejection_counts,
    webhook_registration,
    webhook_setup,
    webhook_url,
)

# Bad signatures in 24 hours, with no verified delivery, before the tokens are suspected (a
# stray or forged request alone must not flip the feature).
SIGNATURE_FAILURES_WARN = 3
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def auto_state_updating_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Auto state updating" feature for the status page, as named checks: per webhook,
    its signature token, whether it is registered in the ATS (Webhooks API, where the key
    may list them), its last verified delivery and whether the reconciliation found changes
    it did not announce (its toggle in the ATS is probably off: flagged from the first such
    change until its next delivery); then signature failures and processing failures over
    the last 24 hours. Four queries and at most one ATS call, whatever the volume."""
    kwargs = {"public_id": integration.public_id}
    settings_url = (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#webhooks"
    )
    step3 = "Settings → Step 3: Webhooks"
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs)
    # Only the events that announce a state change: the deletion webhook is reported by the
    # "Deletions and anonymisation honoured" feature (integrations/deletions/health.py).
    deletions = ats.capability(integration.ats, ats.Deletions)
    deletion_event = deletions.deletion_event if deletions is not None else ""
    events = [e for e in webhook_setup(integration=integration) if e.event != deletion_event]
    rejections = rejection_counts(integration=integration)
    failures = delivery_failure_counts(integration=integration)
    bad_signatures = rejections.get(WebhookRejection.Reason.BAD_SIGNATURE, 0)
    detail = {
        "rejected_total": sum(rejections.values()),
        "rejections": [
            (WebhookRejection.Reason(reason).label, count)
            for reason, count in rejections.items()
            if count
        ],
        "bad_signatures": bad_signatures,
        "failures": failures,
        "settings_url": settings_url,
        "activity_url": activity_url,
    }
    adapter = ats.adapter_for(integration.ats, ats.AtsBase)
    ats_name = adapter.label  # the ATS's name in what the admin reads
    toggles = f"{_NUMBER_WORDS.get(len(events), str(len(events)))} webhook toggles"
    event_names = ", ".join(e.label for e in events)
    description = (
        f"{ats_name}'s webhooks ({event_names}) keep each Karat candidacy's {ats_name} stage, "
        "archive state and hired flag current."
    )

    health = partial(
        feature_health,
        AUTO_STATE_UPDATING,
        description=description,
        detail=detail,
    )

    if not integration.enabled:
        return health(
            "muted", "Off", f"The integration is disabled: Karat ignores {ats_name}'s webhooks."
        )

    registration = webhook_registration(integration=integration)
    day_ago = timezone.now() - timedelta(hours=24)
    checks: list[FeatureCheck] = []
    # Every delivery is applied by reading the opportunity from the ATS with the key.
    lines = key_check_lines(integration=integration)
    refused = key_refusal(integration=integration, lines=lines)
    key_fix = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    if refused:
        checks.append(key_refused_check(refused, key_fix))
    reads = lines.get("read_opportunities") or {}
    if not refused and reads.get("ok") is False:
        checks.append(
            FeatureCheck(
                "read_opportunities",
                "Permission to read opportunities",
                "bad",
                str(reads.get("message") or "Missing."),
                key_fix,
                "Settings → API key",
            )
        )
    # Asked only before the first reconciliation: the announced checks say when it will run.
    scheduled = integration.reconciled_at is None and reconciliation_scheduled(
        integration=integration
    )
    for e in events:
        if e.configured:
            checks.append(
                FeatureCheck(
                    f"{e.event}:token",
                    f"{e.label}: signature token",
                    "ok",
                    f"Set (••••{e.token_last4}).",
                )
            )
        else:
            checks.append(
                FeatureCheck(
                    f"{e.event}:token",
                    f"{e.label}: signature token",
                    "warn",
                    f"Missing: Karat rejects these webhooks. Add the token, or use “Register "
                    f"webhooks in {ats_name}”.",
                    settings_url,
                    step3,
                )
            )
        registered_name = f"{e.label}: registered in {ats_name}"
        recent = e.last_delivery_at is not None and e.last_delivery_at >= day_ago
        if registration.unknown:
            checks.append(
                FeatureCheck(f"{e.event}:registered", registered_name, "info", registration.unknown)
            )
        elif e.event not in registration.events and not recent:
            checks.append(
                FeatureCheck(
                    f"{e.event}:registered",
                    registered_name,
                    "warn",
                    f"{ats_name} has no {e.label} webhook: nothing will be sent. Register it.",
                    settings_url,
                    step3,
                )
            )
        elif registration.events.get(e.event, webhook_url(integration=integration)) != (
            webhook_url(integration=integration)
        ):
            checks.append(
                FeatureCheck(
                    f"{e.event}:registered",
                    registered_name,
                    "warn",
                    f"{ats_name}'s {e.label} webhook points elsewhere "
                    f"({registration.events[e.event]}): point it at Karat's webhook URL.",
                    settings_url,
                    step3,
                )
            )
        else:
            checks.append(
                FeatureCheck(f"{e.event}:registered", registered_name, "ok", "Registered.")
            )
        if e.last_delivery_at is not None:
            checks.append(
                FeatureCheck(
                    f"{e.event}:last_delivery",
                    f"{e.label}: last verified delivery",
                    "ok",
                    "Received",
                    at=e.last_delivery_at.isoformat(),
                )
            )
        else:
            checks.append(
                FeatureCheck(
                    f"{e.event}:last_delivery",
                    f"{e.label}: last verified delivery",
                    "info",
                    "No verified delivery yet.",
                )
            )
        checks.append(
            _announced_check(integration, e, ats_name, settings_url, step3, scheduled=scheduled)
        )

    issues: list[FeatureIssue] = []
    missing = [e.label for e in events if not e.configured]
    if missing:
        issues.append(
            FeatureIssue(
                f"No signature token for {', '.join(missing)}: Karat rejects these webhooks. "
                f"Add the tokens, or use “Register webhooks in {ats_name}”.",
                settings_url,
                step3,
            )
        )
    unregistered = [c for c in checks if c.code.endswith(":registered") and c.level == "warn"]
    if unregistered:
        issues.append(
            FeatureIssue(
                sentences_join(
                    [f"{ats_name} does not send every webhook to Karat"]
                    + [c.message for c in unregistered]
                ),
                settings_url,
                step3,
            )
        )

    verified_today = any(e.last_delivery_at and e.last_delivery_at >= day_ago for e in events)
    signature_name = "Signature failures (last 24 hours)"
    if not bad_signatures:
        checks.append(FeatureCheck("signatures", signature_name, "ok", "None."))
    elif verified_today or bad_signatures < SIGNATURE_FAILURES_WARN:
        # Forged or stray requests alone must not flip the state while real ones verify.
        checks.append(
            FeatureCheck(
                "signatures",
                signature_name,
                "info",
                f"{bad_signatures} rejected. While verified deliveries arrive, the tokens "
                "match; repeat Step 3 if deliveries stop.",
                f"{activity_url}",
                "Activity with Lever",
            )
        )
    else:
        text = (
            f"{bad_signatures} rejected and none verified: the tokens in Karat don't match "
            f"{ats_name}'s. Copy each webhook's token again."
        )
        checks.append(FeatureCheck("signatures", signature_name, "warn", text, settings_url, step3))
        issues.append(FeatureIssue(text, settings_url, step3))

    issues += [
        FeatureIssue(c.message, c.fix_url, c.fix_text)
        for c in checks
        if c.code.endswith(":announced") and c.level == "warn"
    ]
    failed = failures["failed"] + failures["dead"]
    if failed:
        status = (
            WebhookDelivery.Status.FAILED if failures["failed"] else WebhookDelivery.Status.DEAD
        )
        text = (
            f"{failed} {'delivery' if failed == 1 else 'deliveries'} in the last 24 hours "
            "could not be processed: open each one to see why and process it again."
        )
        url = f"{activity_url}?status={status}"
        checks.append(
            FeatureCheck(
                "processing", "Processing (last 24 hours)", "warn", text, url, "Failed deliveries"
            )
        )
        issues.append(FeatureIssue(text, url, "Failed deliveries"))
    else:
        checks.append(
            FeatureCheck(
                "processing", "Processing (last 24 hours)", "ok", "Every delivery processed."
            )
        )
    key_problems = [c for c in checks if c.level == "bad"]
    if key_problems:
        return health(
            "bad",
            "Not working",
            f"Karat reads {ats_name} with the API key to apply each webhook, so no candidacy's "
            f"{ats_name} state is updated: {key_problems[0].message}",
            checks=checks,
            issues=[FeatureIssue(c.message, c.fix_url, c.fix_text) for c in key_problems] + issues,
        )
    if issues:
        return health(
            "warn",
            "Needs attention",
            f"Some {ats_name} changes may not reach Karat.",
            checks=checks,
            issues=issues,
        )
    if not any(e.last_delivery_at for e in events):
        # Nothing is wrong yet: nothing has happened. Waiting, not a problem to fix.
        return health(
            "info",
            "Waiting for the first delivery",
            f"The tokens are set; no verified {ats_name} webhook has arrived yet. The next "
            f"candidate change (or {ats_name}'s test delivery, sent when a webhook is saved) "
            f"shows up here. Nothing arriving after a candidate moved? Check the {toggles} "
            f"are ON in {ats_name}.",
            checks=checks,
            issues=issues,
        )
    return health(
        "ok",
        "Working",
        f"{ats_name}'s webhooks are arriving and keep candidacies' ATS state current.",
        checks=checks,
        issues=issues,
    )


def _announced_check(
    integration: AtsIntegration,
    e: EventSetup,
    ats_name: str,
    settings_url: str,
    step3: str,
    *,
    scheduled: bool,
) -> FeatureCheck:
    """Whether the reconciliation found changes this webhook should have announced and did
    not: the ATS does not say whether its toggle is on, so this is the evidence.
    ``scheduled``: the reconciliation polls the integration (it has not run yet when
    ``reconciled_at`` is empty)."""
    minutes = settings.RECONCILE_INTERVAL_SECONDS // 60
    name = f"{e.label}: changes announced"
    code = f"{e.event}:announced"
    if e.missed_at is not None:
        n = e.missed_count
        where = f"{ats_name}: {e.turn_on_where}" if e.turn_on_where else f"{ats_name}'s settings"
        return FeatureCheck(
            code,
            name,
            "warn",
            f"{n} {e.label} {'change' if n == 1 else 'changes'} reached Karat only through the "
            f"{minutes}-minute reconciliation: {ats_name} is not sending this webhook. To fix "
            f"it, turn on {e.label} in {where}.",
            settings_url,
            step3,
        )
    if integration.reconciled_at is None:
        return FeatureCheck(
            code,
            name,
            "info",
            f"Checked by the reconciliation, every {minutes} minutes: it has not run yet."
            if scheduled
            else f"Checked by the {minutes}-minute reconciliation once a candidacy is linked.",
        )
    return FeatureCheck(
        code,
        name,
        "ok",
        f"The {minutes}-minute reconciliation found no {e.label} change this webhook missed.",
    )
