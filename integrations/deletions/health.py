"""The status page's "Deletions and anonymisation honoured" feature: the policy, the
``candidateDeleted`` webhook, and the poll for deletions whose webhook was missed."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.urls import reverse

from integrations import ats
from integrations.connection.selectors import key_refusal, reconciliation_scheduled
from integrations.deletions.selectors import deletion_settings_find, deletion_webhook_find
from integrations.features import (
    DELETIONS_HONOURED,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration, DeletionSettings


def deletions_honoured_health(integration: AtsIntegration) -> FeatureHealth:
    """Working once a poll of deleted opportunities worked or a deletion was honoured (either
    shows the feature reading deletions), and the last poll did not fail; waiting (info)
    before either; warn when the last poll failed; bad when the ATS refuses the key. Without
    the deletion webhook's token it still works (the poll finds deletions, later): an info
    line says so. At most four queries, no ATS call."""
    adapter = ats.adapter_for(integration.ats, ats.Deletions)
    settings_url = (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#deletions"
    )
    webhooks_url = (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#webhooks"
    )
    row = deletion_settings_find(integration=integration)
    policy = row.policy if row is not None else DeletionSettings.Policy.UNLINK
    health = partial(feature_health, DELETIONS_HONOURED)
    minutes = settings.RECONCILE_INTERVAL_SECONDS // 60
    if not integration.enabled:
        return health("muted", "Off", "The integration is disabled: deletions are not read.")
    checks = [
        FeatureCheck(
            "policy",
            "Policy",
            "ok",
            DeletionSettings.Policy(policy).label + f". Nothing is written to {adapter.label}.",
            settings_url if policy == DeletionSettings.Policy.UNLINK else "",
            "Change it" if policy == DeletionSettings.Policy.UNLINK else "",
        )
    ]
    refused = key_refusal(integration=integration)
    if refused:
        checks.insert(
            0,
            key_refused_check(
                refused,
                reverse("integrations:settings", kwargs={"public_id": integration.public_id}),
            ),
        )
    label = next(
        (s.label for s in adapter.webhook_events if s.code == adapter.deletion_event),
        adapter.deletion_event,
    )
    hook = deletion_webhook_find(integration=integration, event=adapter.deletion_event)
    if hook is not None and hook.signature_token_last4:
        checks.append(
            FeatureCheck(
                "webhook",
                f"{label} webhook",
                "ok",
                f"Signature token set (••••{hook.signature_token_last4}).",
                at=hook.last_delivery_at.isoformat() if hook.last_delivery_at else "",
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "webhook",
                f"{label} webhook",
                "info",
                f"Not set up: deletions are only found by the periodic check, up to "
                f"{minutes} minutes later. Use “Register webhooks in {adapter.label}” or paste its "
                "signature token.",
                webhooks_url,
                "Settings → Step 3: Webhooks",
            )
        )
    if row is not None and row.poll_error:
        checks.append(
            FeatureCheck(
                "poll",
                "Periodic check of deleted candidates",
                "warn",
                f"The last check failed: {row.poll_error}",
                at=row.poll_error_at.isoformat() if row.poll_error_at else "",
            )
        )
    elif row is not None and row.polled_at is not None:
        checks.append(
            FeatureCheck(
                "poll",
                "Periodic check of deleted candidates",
                "ok",
                "Worked.",
                at=row.polled_at.isoformat(),
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "poll",
                "Periodic check of deleted candidates",
                "info",
                f"Not run yet: it runs with the reconciliation, every {minutes} minutes."
                if reconciliation_scheduled(integration=integration)
                else "Not run yet: it runs with the reconciliation once a candidacy is linked.",
            )
        )
    honoured = row.honoured_count if row is not None else 0
    summary = (
        f"{honoured} candidac{'y' if honoured == 1 else 'ies'} unlinked so far."
        if honoured
        else "No deleted or anonymised candidate so far."
    )
    levels = {c.level for c in checks}
    if "bad" in levels:
        return health("bad", "Not working", f"Deletions can't be read: {refused}", checks=checks)
    if "warn" in levels:
        return health("warn", "Needs attention", summary, checks=checks)
    if not honoured and (row is None or row.polled_at is None):
        return health("info", "Waiting", summary, checks=checks)
    # A deletion honoured shows it working as well as a poll does (the poll may not have run
    # yet). A missing deletion webhook only delays what the poll finds: an info line says so.
    return health("ok", "Working", summary, checks=checks)
