"""The status page's snapshot: compute every feature's health in the background, store it,
and email the organization's admins once when an integration stops working (and once when it
recovers).

A snapshot (``IntegrationStatus``) is computed by ``tasks.integration_status_compute``: after
settings are saved, after a relevant failure (a key-level 401/403 from the ATS, a burst of
signature failures, dead-lettered updates; see ``status_refresh_request``), every
``STATUS_REFRESH_INTERVAL_SECONDS`` for every enabled integration (beat), and when an admin
presses "Check again". The page, the list and the API only read it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from integrations import ats, selectors
from integrations.models import AtsIntegration, AuditEntry, IntegrationStatus
from integrations.selectors import FeatureCheck, FeatureHealth
from integrations.services.audit import audit_entry_record
from karatlever.accounts.models import Membership

logger = logging.getLogger(__name__)

KeyStatus = AtsIntegration.KeyStatus
AlertState = IntegrationStatus.AlertState
# Live ATS reads behind the checks: fail fast (a snapshot may be computed inside a page view).
STATUS_PROFILE = ats.INTERACTIVE


# --- asking for a snapshot --------------------------------------------------------------------


def status_refresh_request(*, integration_id: int, reason: str) -> None:
    """Ask for the integration's snapshot to be computed again, in the background.

    Call it after anything that changes the integration's health: saved settings, a finished
    key check, a key-level 401/403 from the ATS, a burst of bad signatures, dead-lettered
    updates. Deduplicated: while a requested computation is pending (``IntegrationStatus
    .PENDING_FOR``) further requests add nothing, and a request that arrives while one runs
    is picked up when it ends. The task is enqueued on commit (a broker outage is logged,
    never raised: the 5-minute beat catches up). Unknown integrations are ignored.
    """
    if not AtsIntegration.objects.filter(pk=integration_id).exists():
        return
    now = timezone.now()
    # ON CONFLICT DO NOTHING: safe inside the caller's transaction and against a racing request.
    IntegrationStatus.objects.bulk_create(
        [IntegrationStatus(integration_id=integration_id)], ignore_conflicts=True
    )
    claimed = (
        IntegrationStatus.objects.filter(integration_id=integration_id)
        .filter(
            Q(requested_at__isnull=True)
            | Q(computed_at__gte=F("requested_at"))
            | Q(requested_at__lt=now - IntegrationStatus.PENDING_FOR)
        )
        .update(requested_at=now, request_reason=reason[:200])
    )
    if claimed:
        logger.info("status refresh requested integration pk=%s: %s", integration_id, reason)
        _enqueue_compute(integration_id)
    else:
        IntegrationStatus.objects.filter(integration_id=integration_id).update(
            requested_again_at=now
        )


def _enqueue_compute(integration_id: int) -> None:
    from integrations.tasks import integration_status_compute as integration_status_compute_task

    transaction.on_commit(
        lambda: integration_status_compute_task.delay(integration_id), robust=True
    )


def signature_failure_note(*, integration_id: int) -> None:
    """A delivery for the integration failed its signature check (webhooks intake).

    When ``STATUS_SIGNATURE_FAILURE_BURST`` of them arrive within one
    ``STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS`` window, the snapshot is recomputed (once per
    window: the counter lives in the cache, so it costs no database write)."""
    window: int = settings.STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS
    bucket = int(timezone.now().timestamp()) // window
    key = f"status:bad-signatures:{integration_id}:{bucket}"
    try:
        cache.add(key, 0, timeout=window * 2)
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        count = 1
    except Exception:
        # The cache is down: the receiver answers anyway (fail open); the beat still
        # recomputes the status within minutes.
        logger.warning("status: cache unavailable, bad signature not counted", exc_info=True)
        return
    if count == settings.STATUS_SIGNATURE_FAILURE_BURST:
        status_refresh_request(
            integration_id=integration_id,
            reason=f"{count} deliveries with a bad signature within {window // 60} minutes",
        )


def integration_statuses_refresh_all() -> int:
    """Beat: ask for a fresh snapshot of every enabled integration; returns how many."""
    ids = list(AtsIntegration.objects.enabled().values_list("pk", flat=True))
    for integration_id in ids:
        status_refresh_request(integration_id=integration_id, reason="Periodic check")
    return len(ids)


def status_snapshot_ensure(*, integration: AtsIntegration) -> IntegrationStatus:
    """The integration's snapshot; when none was ever computed, compute it now (once, with
    fast-failing ATS reads), so the first visit shows real checks instead of a blank page."""
    snapshot = selectors.integration_status_get(integration=integration)
    if snapshot is not None and snapshot.computed_at is not None:
        return snapshot
    computed = integration_status_compute(integration_id=integration.pk)
    if computed is None:  # deleted meanwhile: the caller's 404 comes next time
        raise AtsIntegration.DoesNotExist
    integration.status_snapshot = computed
    return computed


# --- computing it -----------------------------------------------------------------------------


def integration_status_compute(*, integration_id: int) -> IntegrationStatus | None:
    """Compute and store the integration's snapshot, then send an alert if it changed state.

    Calls every registered feature provider (each may read the ATS through the adapter; an
    ``AtsError`` or a bug in one provider becomes that feature's "could not check" and never
    breaks the snapshot). A computation that started before the stored one is dropped. Safe to
    run twice at once: alerts are claimed with a conditional UPDATE. None if the integration
    is gone.
    """
    started = timezone.now()
    integration = AtsIntegration.objects.select_related("group").filter(pk=integration_id).first()
    if integration is None:
        return None
    features = [_feature_health(key, integration) for key, _, _ in selectors.FEATURES]
    overall = selectors.integration_overall_status(integration=integration, features=features)
    basic = {"acting_user": _acting_user(integration)}
    IntegrationStatus.objects.bulk_create(
        [IntegrationStatus(integration=integration)], ignore_conflicts=True
    )
    stored = (
        IntegrationStatus.objects.filter(integration=integration)
        .filter(Q(computed_at__isnull=True) | Q(computed_at__lte=started))
        .update(
            level=overall.level,
            label=overall.label,
            explanation=overall.explanation,
            basic=basic,
            features=[_as_json(feature) for feature in features],
            # When the reads began: a request made while this ran is still pending after it.
            computed_at=started,
        )
    )
    snapshot = IntegrationStatus.objects.get(integration=integration)
    if snapshot.requested_again_at is not None and snapshot.requested_again_at > started:
        _enqueue_compute(integration.pk)  # asked again while we were reading
    # A computation that started later already stored (and alerted on) newer facts.
    if stored and integration.enabled:
        _alert_if_changed(integration, snapshot, overall, features)
        snapshot.refresh_from_db()
    return snapshot


# The ATS capabilities each feature reads through (beyond ``ats.AtsBase``): with an ATS that
# lacks one, the feature is shown as not available for that ATS instead of being checked.
_FEATURE_NEEDS: dict[str, tuple[type, ...]] = {
    selectors.INVITE_FROM_LEVER_URL: (
        ats.CandidateLinks,
        ats.OpportunityDetails,
        ats.Postings,
        ats.KeyChecks,
    ),
    selectors.POST_CANDIDACY_UPDATES: (ats.Writes, ats.Users, ats.OpportunityDetails),
    selectors.AUTO_STATE_UPDATING: (ats.InboundDeliveries, ats.Opportunities),
    selectors.ROLE_MATCHING: (ats.Postings,),
    selectors.AUTOMATIC_INVITES: (ats.OpportunityDetails, ats.Postings),
}


def _feature_health(key: str, integration: AtsIntegration) -> FeatureHealth:
    provider = selectors.feature_health_provider(key)
    if provider is None:
        return selectors.feature_not_available(key=key)
    try:
        if ats.capabilities_missing(integration.ats, _FEATURE_NEEDS.get(key, ())):
            label = ats.adapter_for(integration.ats, ats.AtsBase).label
            return dataclasses.replace(
                selectors.feature_not_available(key=key),
                label=f"Not available for {label}",
                summary=f"Karat does not support this feature with {label} yet.",
            )
        return provider(integration)
    except ats.AtsError as exc:
        level = "bad" if exc.fault == ats.Fault.KEY else "warn"
        reason = exc.message
    except Exception:
        # A bug in one feature's provider must not hide every other feature's health.
        logger.exception("status provider %s failed integration pk=%s", key, integration.pk)
        level, reason = "warn", "Karat hit an internal error while checking this feature."
    name = selectors.FEATURE_NAMES[key]
    description = next(d for k, _, d in selectors.FEATURES if k == key)
    return FeatureHealth(
        key=key,
        name=name,
        description=description,
        level=level,
        label="Not working" if level == "bad" else "Could not check",
        summary=f"Karat could not check this feature: {reason}",
        checks=(FeatureCheck(code="checked", name="Checked", level=level, message=reason),),
    )


def _as_json(feature: FeatureHealth) -> dict[str, Any]:
    """The feature as stored: ``dataclasses.asdict``, datetimes as ISO strings. A ``detail``
    that is not JSON (a provider's mistake) is dropped with its template, never the snapshot."""
    data = dataclasses.asdict(feature)
    try:
        json.dumps(data, cls=DjangoJSONEncoder)
    except TypeError:
        logger.exception("status: feature %s detail is not JSON; dropped", feature.key)
        data.update(detail={}, template="")
    return data


def _settings_url(integration: AtsIntegration) -> str:
    return reverse("integrations:settings", kwargs={"public_id": integration.public_id})


def _acting_user(integration: AtsIntegration) -> dict[str, Any]:
    """The acting user (Lever's perform_as) for Basic information: ``{state, id, name, email,
    message}`` with state ``not_set`` | ``ok`` | ``invalid`` | ``unknown`` (can't tell)."""
    user_id = integration.lever_user_id
    if not user_id:
        return {"state": "not_set", "id": "", "name": "", "email": "", "message": ""}
    shown: dict[str, Any] = {"id": user_id, "name": "", "email": ""}
    adapter = ats.adapter_for(integration.ats)
    lines = selectors.key_check_lines(integration=integration)
    if not integration.enabled:
        return {**shown, "state": "unknown", "message": "Not checked while disabled."}
    if not (lines.get("read_users") or {}).get("ok"):
        return {
            **shown,
            "state": "unknown",
            "message": f"Can't tell: the key's check did not show it may read {adapter.label} "
            "users.",
        }
    try:
        user = adapter.user_get(ats.account_for(integration), user_id, profile=STATUS_PROFILE)
    except ats.AtsRecordNotFound:
        return {**shown, "state": "invalid", "message": f"No {adapter.label} user has this ID."}
    except ats.AtsKeyError:
        return {
            **shown,
            "state": "unknown",
            "message": f"Can't tell: {adapter.label} refused the API key.",
        }
    except ats.AtsError as exc:
        return {**shown, "state": "unknown", "message": f"Can't tell: {exc.message}"}
    shown.update(name=user.name, email=user.email)
    if not user.active:
        return {
            **shown,
            "state": "invalid",
            "message": f"This {adapter.label} user is deactivated: changes made as them are "
            "refused. Choose an active user (or leave the User ID blank) in Settings.",
        }
    return {**shown, "state": "ok", "message": ""}


# --- Invite candidates using Lever URL (this app's own feature) -------------------------------

_INVITE_READS = (
    ("read_opportunities", "Permission to read opportunities"),
    ("read_postings", "Permission to read postings"),
    ("read_users", "Permission to read users"),
)


def invite_from_lever_url_health(integration: AtsIntegration) -> FeatureHealth:
    """ "Invite candidates using Lever URL": key valid, the reads it needs (from the latest key
    check), and confidential access (one live read). A key the ATS refuses now while the
    stored status says valid asks for a key check, so the key status catches up."""
    key = selectors.INVITE_FROM_LEVER_URL
    adapter = ats.adapter_for(integration.ats)
    ats_name = adapter.label
    settings_url = _settings_url(integration)
    fix = {"fix_url": settings_url, "fix_text": "Settings → API key"}

    def health(level: str, label: str, summary: str, checks: list[FeatureCheck]) -> FeatureHealth:
        return FeatureHealth(
            key=key,
            name=selectors.FEATURE_NAMES[key],
            description=f"Paste {ats_name} candidate URLs on the Invite page: Karat reads each "
            "opportunity and its posting, then creates and invites the candidacy.",
            level=level,
            label=label,
            summary=summary,
            checks=tuple(checks),
        )

    if not integration.enabled:
        return health("muted", "Off", "The integration is disabled.", [])
    lines = selectors.key_check_lines(integration=integration)
    checks = [_key_valid_check(integration, lines, ats_name, fix)]
    for code, name in _INVITE_READS:
        line = lines.get(code)
        if line is None or line.get("ok") is None:
            checks.append(
                FeatureCheck(
                    code=code,
                    name=name,
                    level="info",
                    message="Not checked yet: press “Check again” in Settings.",
                    **fix,
                )
            )
        elif line["ok"]:
            checks.append(FeatureCheck(code=code, name=name, level="ok", message="Allowed."))
        else:
            checks.append(
                FeatureCheck(code=code, name=name, level="bad", message=line["message"], **fix)
            )
    checks.append(_confidential_check(integration, lines, ats_name, checks, fix))
    level = selectors.checks_level(checks)
    if level == "ok" and integration.key_status == KeyStatus.CHECKING:
        return health("info", "Checking", f"Karat is checking the key with {ats_name}.", checks)
    if level == "bad":
        return health(
            "bad",
            "Not working",
            f"Karat can't read what it needs from {ats_name} to invite candidates.",
            checks,
        )
    if level == "warn":
        return health("warn", "Needs attention", "Invites may fail: see the checks.", checks)
    return health(
        "ok",
        "Working",
        f"Karat can read {ats_name} opportunities, postings and users to invite candidates.",
        checks,
    )


def _key_valid_check(
    integration: AtsIntegration, lines: dict[str, Any], ats_name: str, fix: dict[str, str]
) -> FeatureCheck:
    name = "API key valid"
    status = integration.key_status
    if not integration.has_api_key:
        return FeatureCheck("key_valid", name, "bad", "No API key yet: add one.", **fix)
    if status == KeyStatus.VALID:
        return FeatureCheck(
            "key_valid", name, "ok", f"{ats_name} accepted ••••{integration.api_key_last4}."
        )
    if status == KeyStatus.CHECKING:
        return FeatureCheck("key_valid", name, "info", f"Checking the key with {ats_name}…")
    if status == KeyStatus.UNREACHABLE:
        return FeatureCheck(
            "key_valid",
            name,
            "warn",
            f"The last check got no answer from {ats_name}: press “Check again”.",
            **fix,
        )
    auth = lines.get("auth") or {}
    message = (
        auth.get("message")
        if auth.get("ok") is False
        else "The key lacks a permission Karat needs."
    )
    return FeatureCheck("key_valid", name, "bad", f"{message} Paste a working key.", **fix)


def _confidential_check(
    integration: AtsIntegration,
    lines: dict[str, Any],
    ats_name: str,
    checks: list[FeatureCheck],
    fix: dict[str, str],
) -> FeatureCheck:
    """Confidential access yes / no, from one live read; a refused key is reported on the
    key line (``checks[0]``) instead."""
    name = "Confidential access"
    meaning_no = (
        f"Candidates on confidential {ats_name} postings can't be invited or updated (each "
        f"fails with its own reason; everything else works). {ats_name} grants this access "
        "only when a key is created: to include them, create a key with “Allow access to "
        "confidential data” and paste it in Settings."
    )
    if integration.key_status != KeyStatus.VALID or not (lines.get("read_postings") or {}).get(
        "ok"
    ):
        return FeatureCheck(
            "confidential", name, "info", "Can't tell until the key can read postings."
        )
    adapter = ats.adapter_for(integration.ats)
    try:
        allowed = adapter.confidential_access(ats.account_for(integration), profile=STATUS_PROFILE)
    except ats.AtsKeyError as exc:
        checks[0] = FeatureCheck("key_valid", "API key valid", "bad", f"{exc.message}", **fix)
        _key_check_request(integration)
        return FeatureCheck("confidential", name, "info", "Can't tell: the key was refused.")
    except ats.AtsError as exc:
        return FeatureCheck("confidential", name, "info", f"Can't tell: {exc.message}")
    if allowed:
        return FeatureCheck(
            "confidential",
            name,
            "ok",
            "Yes: Karat can invite candidates on confidential postings too.",
        )
    if allowed is False:
        return FeatureCheck("confidential", name, "info", f"No. {meaning_no}", **fix)
    return FeatureCheck(
        "confidential",
        name,
        "info",
        f"No confidential postings are visible to this key: either your {ats_name} account "
        f"has none, or the key was created without confidential access. If it is the "
        f"latter: {meaning_no}",
    )


def _key_check_request(integration: AtsIntegration) -> None:
    """The ATS refused the key that its last check passed: check it again (a fresh row, so
    the key status and audit log catch up). Only from "valid", so it can't repeat."""
    from integrations.services import keys

    fresh = AtsIntegration.objects.get(pk=integration.pk)
    if fresh.key_status == KeyStatus.VALID:
        keys.api_key_check_request(integration=fresh, actor=None)


# --- alerts -----------------------------------------------------------------------------------


def _alert_if_changed(
    integration: AtsIntegration,
    snapshot: IntegrationStatus,
    overall: selectors.OverallStatus,
    features: list[FeatureHealth],
) -> None:
    """Email the admins when the integration goes from healthy to "Not working", and once
    again when it works again. Each change of ``alert_state`` is one conditional UPDATE: of two
    workers computing at once, only the one whose UPDATE matched sends."""
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
    overall: selectors.OverallStatus,
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
    recipients = _admin_emails(integration)
    sent = 0
    if recipients:
        try:
            sent = send_mail(subject, "\n".join(lines), None, recipients, fail_silently=False)
        except Exception:
            # The audit entry below still records the alert; the log says why no email left.
            logger.exception("status alert email failed integration pk=%s", integration.pk)
    audit_entry_record(
        integration=integration,
        actor=None,
        action=AuditEntry.Action.STATUS_FAILING if failing else AuditEntry.Action.STATUS_RECOVERED,
        summary=(
            f"Alert: not working ({'; '.join(what for _, what, _ in failures)})"
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


def _admin_emails(integration: AtsIntegration) -> list[str]:
    """Emails of the organization's admins who can see the integration's group."""
    group = integration.group
    memberships = (
        Membership.objects.filter(organization_id=group.organization_id, role=Membership.Role.ADMIN)
        .filter(Q(groups__isnull=True) | Q(groups=group))
        .select_related("user")
        .distinct()
    )
    return sorted({m.user.email for m in memberships if m.user.is_active and m.user.email})
