"""Alerts: one email to the organization's admins when an integration stops working, one when it works again."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.features import (
    FeatureHealth,
)
from integrations.models import AtsIntegration, AuditEntry, IntegrationStatus
from integrations.sentences import sentences_join
from integrations.status.selectors import OverallStatus
from karatlever.accounts.models import Membership
from karatlever.email_headers import address_problem, header_text

logger = logging.getLogger(__name__)

AlertState = IntegrationStatus.AlertState


def alert_if_changed(
    integration: AtsIntegration,
    snapshot: IntegrationStatus,
    overall: OverallStatus,
    features: list[FeatureHealth],
) -> None:
    """Email the admins when the integration goes from healthy to "Not working", and once
    again when it works again. Each change of ``alert_state`` is one conditional UPDATE: of two
    workers computing at once, only the one whose UPDATE matched sends.

    Only settled states count: while something is still being checked (the key, or a feature
    that says "Checking") nothing changes, so a key rotation (revoked, new key checking, new
    key valid) sends one "not working" and one "works again", never a recovery that is only
    a check in progress."""
    if not alert_state_settled(integration, overall, features):
        return
    now = timezone.now()
    rows = IntegrationStatus.objects.filter(pk=snapshot.pk)
    if overall.level == "bad":
        if rows.filter(alert_state=AlertState.HEALTHY).update(
            alert_state=AlertState.FAILING, alert_changed_at=now
        ):
            _alert_send(integration, overall, features, failing=True)
        return
    if rows.filter(alert_state=AlertState.FAILING).update(
        alert_state=AlertState.HEALTHY, alert_changed_at=now
    ):
        _alert_send(integration, overall, features, failing=False)
        return
    # A new integration that works for the first time: from now on a failure is news.
    rows.filter(alert_state=AlertState.NEVER_HEALTHY).update(
        alert_state=AlertState.HEALTHY, alert_changed_at=now
    )


def alert_state_settled(
    integration: AtsIntegration, overall: OverallStatus, features: list[FeatureHealth]
) -> bool:
    """False while the state is still being checked: the key in use (its status, or the
    overall "Checking"), or any feature that says "Checking"."""
    if integration.key_status == AtsIntegration.KeyStatus.CHECKING or overall.label == "Checking":
        return False
    return not any(feature.label == "Checking" for feature in features)


def _absolute(url: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{url}" if url.startswith("/") else url


def _failures(features: list[FeatureHealth]) -> list[tuple[str, str, str]]:
    """(feature, what is wrong, fix URL) for every failing check (or issue) of every feature
    that is not working or needs attention."""
    found = []
    for feature in features:
        if not feature.available or feature.level not in ("bad", "warn"):
            continue
        for check in feature.checks:
            if check.level in ("bad", "warn"):
                found.append((feature.name, f"{check.name}: {check.message}", check.fix_url))
        if not feature.checks:
            found += [(feature.name, issue.text, issue.url) for issue in feature.issues]
    return found


def _alert_send(
    integration: AtsIntegration,
    overall: OverallStatus,
    features: list[FeatureHealth],
    *,
    failing: bool,
) -> None:
    group = integration.group
    ats_name = ats.adapter_for(integration.ats).label
    status_url = _absolute(
        reverse("integrations:status", kwargs={"public_id": integration.public_id})
    )
    failures = _failures(features) if failing else []
    if failing:
        subject = f"Karat: the {ats_name} integration for {group.name} is not working"
        lines = [
            f"The {ats_name} integration for {group.name} stopped working.",
            "",
            overall.explanation,
            "",
            *(
                f"- {feature}: {what}" + (f"\n  Fix it: {_absolute(url)}" if url else "")
                for feature, what, url in failures
            ),
        ]
    else:
        subject = f"Karat: the {ats_name} integration for {group.name} works again"
        lines = [
            f"The {ats_name} integration for {group.name} works again: {overall.label}.",
            "",
            overall.explanation,
        ]
    lines += ["", f"Status page: {status_url}"]
    recipients = admin_emails(integration)
    sent = 0
    if recipients:
        try:
            sent = send_mail(
                header_text(subject), "\n".join(lines), None, recipients, fail_silently=False
            )
        except Exception:
            # The audit entry below still records the alert; the log says why no email left.
            logger.exception("status alert email failed integration pk=%s", integration.pk)
    audit_entry_record(
        integration=integration,
        actor=None,
        action=AuditEntry.Action.STATUS_FAILING if failing else AuditEntry.Action.STATUS_RECOVERED,
        summary=(
            f"Alert: not working. {sentences_join(what for _, what, _ in failures)}"
            if failing
            else f"Alert: works again ({overall.label})"
        ),
        detail={
            "level": overall.level,
            "label": overall.label,
            "failures": [{"feature": f, "what": w, "fix_url": u} for f, w, u in failures],
            "emailed": len(recipients) if sent else 0,
        },
    )
    logger.info(
        "status alert %s integration pk=%s emailed=%s",
        "failing" if failing else "recovered",
        integration.pk,
        len(recipients) if sent else 0,
    )


def admin_emails(integration: AtsIntegration) -> list[str]:
    """Emails of the organization's admins who can see the integration's group (each one plain
    address: ``address_problem``)."""
    group = integration.group
    memberships = (
        Membership.objects.filter(organization_id=group.organization_id, role=Membership.Role.ADMIN)
        .filter(Q(groups__isnull=True) | Q(groups=group))
        .select_related("user")
        .distinct()
    )
    emails = {m.user.email for m in memberships if m.user.is_active and m.user.email}
    unusable = {e for e in emails if address_problem(e)}
    if unusable:  # an account saved around the form's check: the others still get the alert
        logger.warning(
            "status alert skips %s admin address(es) that are not one plain address "
            "integration pk=%s",
            len(unusable),
            integration.pk,
        )
    return sorted(emails - unusable)
