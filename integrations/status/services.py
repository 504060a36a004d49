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

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from integrations import ats
from integrations.connection import selectors
from integrations.connection.services import keys
from integrations.features import (
    FEATURES,
    FEATURES_BY_KEY,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    feature_health_provider,
    feature_not_available,
)
from integrations.models import AtsIntegration, IntegrationStatus
from integrations.outbound.selectors import outbound_acting_user_find
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
    features = features_compute(integration=integration)
    if _key_refused_now(integration, features):
        _key_recheck(integration)
        features = _while_the_key_is_checked(integration, features)
    overall = status_selectors.integration_overall_status(
        integration=integration, features=features
    )
    basic = {
        "acting_user": _acting_user(integration),
        "activity": status_selectors.status_activity(integration=integration, now=started),
    }
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


def features_compute(*, integration: AtsIntegration) -> list[FeatureHealth]:
    """Every feature's health now, in the features table's order. A feature the integration's
    ATS can't support is "not available for" it; an ``AtsError`` or a bug in one feature's
    health becomes that feature's "could not check", never an exception."""
    return [_feature_health(feature.key, integration) for feature in FEATURES]


def _key_refused_now(integration: AtsIntegration, features: list[FeatureHealth]) -> bool:
    """A feature found the ATS refusing the key (its ``key_valid`` check failing, or a
    key-level error) while the stored key status still says valid."""
    return integration.key_status == KeyStatus.VALID and any(
        check.code in ("key_valid", "checked") and check.level == "bad"
        for feature in features
        for check in feature.checks
    )


def _while_the_key_is_checked(
    integration: AtsIntegration, features: list[FeatureHealth]
) -> list[FeatureHealth]:
    """The features as they stand until the key check just requested ends: one feature's read
    was refused, and every feature reads the ATS with that key, so none may say "Working" in
    the meantime (the check's end recomputes the snapshot; "Checking" sends no alert)."""
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    checking = FeatureCheck(
        code="key_valid",
        name="API key valid",
        level="info",
        message=f"{label} refused the key just now: Karat is checking it again.",
    )

    def with_checking_key(checks: tuple[FeatureCheck, ...]) -> tuple[FeatureCheck, ...]:
        others = tuple(check for check in checks if check.code != "key_valid")
        return (checking, *others)

    return [
        dataclasses.replace(
            feature,
            level="info",
            label="Checking",
            summary=f"{label} refused the key just now; Karat is checking it again.",
            checks=with_checking_key(feature.checks),
        )
        if feature.working
        else feature
        for feature in features
    ]


def _key_recheck(integration: AtsIntegration) -> None:
    """Check the key again (a fresh row, so the key status and the audit log catch up); only
    from "valid", so it can't repeat. Health providers only read: this is their write."""
    fresh = AtsIntegration.objects.get(pk=integration.pk)
    if fresh.key_status == KeyStatus.VALID:
        keys.api_key_check_request(integration=fresh, actor=None)


def _feature_health(key: str, integration: AtsIntegration) -> FeatureHealth:
    provider = feature_health_provider(key)
    if provider is None:
        return feature_not_available(key=key)
    try:
        if ats.capabilities_missing(integration.ats, FEATURES_BY_KEY[key].needs):
            label = ats.adapter_for(integration.ats, ats.AtsBase).label
            return dataclasses.replace(
                feature_not_available(key=key),
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
    that is not JSON (a provider's mistake) is dropped, never the snapshot."""
    data = dataclasses.asdict(feature)
    try:
        json.dumps(data, cls=DjangoJSONEncoder)
    except TypeError:
        logger.exception("status: feature %s detail is not JSON; dropped", feature.key)
        data.update(detail={})
    return data


def _acting_user(integration: AtsIntegration) -> dict[str, Any]:
    """Who Karat's changes are made as (Lever's perform_as) for Basic information, by the
    same rule updates are sent by (``outbound_acting_user``): ``{state, source, id, name,
    email, message}`` with state ``not_set`` | ``ok`` | ``invalid`` | ``unknown`` (can't
    tell), ``source`` the "Post updates as" setting (where to fix it)."""
    acting = outbound_acting_user_find(integration=integration)
    shown: dict[str, Any] = {
        "source": acting.source,
        "id": acting.user_id,
        "name": acting.name,
        "email": acting.email,
    }
    if not acting.user_id:
        return {**shown, "state": "not_set", "message": ""}
    user_id = acting.user_id
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
            "refused. Choose an active user (or nobody) in Settings.",
        }
    return {**shown, "state": "ok", "message": ""}


# --- alerts -----------------------------------------------------------------------------------
