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
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection import selectors
from integrations.features import (
    FEATURES,
    INVITE_FROM_LEVER_URL,
    FeatureCheck,
    FeatureHealth,
    checks_level,
    feature_health,
    feature_health_provider,
    feature_not_available,
)
from integrations.models import AtsIntegration, IntegrationStatus
from integrations.status import selectors as status_selectors
from integrations.status.alerts import alert_if_changed
from integrations.status.refresh import status_compute_enqueue

logger = logging.getLogger(__name__)

KeyStatus = AtsIntegration.KeyStatus
AlertState = IntegrationStatus.AlertState
# Live ATS reads behind the checks: fail fast (a snapshot may be computed inside a page view).
STATUS_PROFILE = ats.INTERACTIVE


# --- asking for a snapshot --------------------------------------------------------------------


def status_snapshot_ensure(*, integration: AtsIntegration) -> IntegrationStatus:
    """The integration's snapshot; when none was ever computed, compute it now (once, with
    fast-failing ATS reads), so the first visit shows real checks instead of a blank page."""
    snapshot = status_selectors.integration_status_get(integration=integration)
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
    features = [_feature_health(feature.key, integration) for feature in FEATURES]
    overall = status_selectors.integration_overall_status(
        integration=integration, features=features
    )
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
        status_compute_enqueue(integration.pk)  # asked again while we were reading
    # A computation that started later already stored (and alerted on) newer facts.
    if stored and integration.enabled:
        alert_if_changed(integration, snapshot, overall, features)
        snapshot.refresh_from_db()
    return snapshot


def _feature_health(key: str, integration: AtsIntegration) -> FeatureHealth:
    provider = feature_health_provider(key)
    if provider is None:
        return feature_not_available(key=key)
    try:
        return provider(integration)
    except ats.AtsError as exc:
        level = "bad" if exc.fault == ats.Fault.KEY else "warn"
        reason = exc.message
    except Exception:
        # A bug in one feature's provider must not hide every other feature's health.
        logger.exception("status provider %s failed integration pk=%s", key, integration.pk)
        level, reason = "warn", "Karat hit an internal error while checking this feature."
    return feature_health(
        key,
        level,
        "Not working" if level == "bad" else "Could not check",
        f"Karat could not check this feature: {reason}",
        checks=[FeatureCheck(code="checked", name="Checked", level=level, message=reason)],
        issues=(),
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
    user_id = integration.ats_user_id
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
    adapter = ats.adapter_for(integration.ats)
    ats_name = adapter.label
    settings_url = _settings_url(integration)
    fix = {"fix_url": settings_url, "fix_text": "Settings → API key"}
    health = partial(
        feature_health,
        INVITE_FROM_LEVER_URL,
        description=f"Paste {ats_name} candidate URLs on the Invite page: Karat reads each "
        "opportunity and its posting, then creates and invites the candidacy.",
        issues=(),
    )

    if not integration.enabled:
        return health("muted", "Off", "The integration is disabled.")
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
    level = checks_level(checks)
    if level == "ok" and integration.key_status == KeyStatus.CHECKING:
        return health(
            "info", "Checking", f"Karat is checking the key with {ats_name}.", checks=checks
        )
    if level == "bad":
        return health(
            "bad",
            "Not working",
            f"Karat can't read what it needs from {ats_name} to invite candidates.",
            checks=checks,
        )
    if level == "warn":
        return health("warn", "Needs attention", "Invites may fail: see the checks.", checks=checks)
    return health(
        "ok",
        "Working",
        f"Karat can read {ats_name} opportunities, postings and users to invite candidates.",
        checks=checks,
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
    from integrations.connection.services import keys

    fresh = AtsIntegration.objects.get(pk=integration.pk)
    if fresh.key_status == KeyStatus.VALID:
        keys.api_key_check_request(integration=fresh, actor=None)


# --- alerts -----------------------------------------------------------------------------------
