"""Reads for the status page, the list and the API: the stored snapshot and the overall roll-up (constant queries, no ATS calls)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.selectors import integration_region_label
from integrations.features import (
    ACTIVITY_SERIES,
    FEATURES_BY_KEY,
    FeatureHealth,
    activity_providers,
)
from integrations.models import (
    AtsIntegration,
    IntegrationStatus,
)

KeyStatus = AtsIntegration.KeyStatus

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class OverallStatus:
    level: str  # ok | info | warn | bad | muted (console.css badge-* names)
    label: str
    explanation: str


def _names(features: Sequence[FeatureHealth]) -> str:
    """ "A", "A and B", "A, B and C"."""
    names = [f.name for f in features]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(features: Sequence[FeatureHealth], one: str, many: str) -> str:
    return one if len(features) == 1 else many


def integration_overall_status(
    *, integration: AtsIntegration, features: Sequence[FeatureHealth] = ()
) -> OverallStatus:
    """Overall status from the enabled flag and the key check, then the features' health.

    The four answers of the status page: "Disabled" (muted); "Not working" (bad: no key, a key
    the ATS rejects, or a feature failing); "Needs attention" (warn: something degraded);
    "Active" (ok: every included feature healthy). A feature only waiting (nothing delivered
    yet) or switched off (an optional feature such as Automatic invites) is healthy and does
    not count against Active. A feature not built yet is never counted as working: while one
    is missing, a healthy integration is "Partly available" (info). The explanation names each
    feature that is not working, what waits, what is off and what works. Without
    ``features``, the status is the key-driven one only. The list, Overview and Status pages
    and the API all show this roll-up (stored in the status snapshot).
    """
    ats_name = ats.adapter_for(integration.ats, ats.AtsBase).label
    if not integration.enabled:
        return OverallStatus(
            "muted", "Disabled", f"The integration is off: Karat makes no {ats_name} calls."
        )
    status = integration.key_status
    if not integration.has_api_key or status == KeyStatus.NOT_SET:
        return OverallStatus(
            "bad", "Not working", f"No API key yet: add your {ats_name} API key in Settings."
        )
    if status == KeyStatus.CHECKING:
        return OverallStatus("info", "Checking", f"Karat is checking the API key with {ats_name}.")
    if status == KeyStatus.UNREACHABLE:
        return OverallStatus(
            "warn",
            "Needs attention",
            f"The last check got no answer from {ats_name}: press “Check again” in Settings.",
        )
    if status == KeyStatus.INVALID:
        return OverallStatus(
            "bad",
            "Not working",
            f"{ats_name} rejected the key or it lacks a permission: the key check in Settings "
            "says which; paste a key with every permission there.",
        )
    failing = [f for f in features if f.available and f.level == "bad"]
    troubled = [f for f in features if f.available and f.level == "warn"]
    waiting = [f for f in features if f.waiting]
    working = [f for f in features if f.working]
    off = [f for f in features if f.off]
    missing = [f for f in features if not f.available]
    parts = []
    if failing or troubled:
        problems = []
        if failing:
            problems.append(f"{_names(failing)} {_verb(failing, 'is', 'are')} not working")
        if troubled:
            problems.append(f"{_names(troubled)} {_verb(troubled, 'needs', 'need')} attention")
        # A failing feature may be failing because the ATS refuses the key now: only a
        # degraded integration can say the key was accepted.
        lead = "" if failing else f"{ats_name} accepted the API key, but "
        text = " and ".join(problems)
        parts.append(
            f"{lead}{text if lead else text[:1].upper() + text[1:]} (the Status page's "
            "Features say what to do)"
        )
    parts += [f"{f.name} is {f.label[:1].lower()}{f.label[1:]}" for f in waiting]
    if working:
        parts.append(f"{_names(working)} {_verb(working, 'works', 'work')}")
    if off:
        parts.append(f"{_names(off)} {_verb(off, 'is', 'are')} off")
    if missing:
        parts.append(f"{_names(missing)} {_verb(missing, 'is', 'are')} not available yet")
    explanation = "; ".join(parts) + "." if parts else ""
    if failing:
        return OverallStatus("bad", "Not working", explanation)
    if troubled:
        return OverallStatus("warn", "Needs attention", explanation)
    if missing:
        return OverallStatus("info", "Partly available", explanation)
    return OverallStatus("ok", "Active", f"{ats_name} accepted the API key. {explanation}".strip())


NOT_COMPUTED = OverallStatus(
    "muted",
    "Not checked yet",
    "Karat has not computed this integration's status yet; it does within a few minutes, or "
    "open its Status page.",
)


def integration_overall_from_snapshot(*, integration: AtsIntegration) -> OverallStatus:
    """The stored overall status (no query when ``status_snapshot`` was select_related).

    A disabled integration is "Disabled" at once, whatever the snapshot says."""
    if not integration.enabled:
        return integration_overall_status(integration=integration)
    snapshot = integration_status_get(integration=integration)
    if snapshot is None or snapshot.computed_at is None:
        return NOT_COMPUTED
    return OverallStatus(snapshot.level, snapshot.label, snapshot.explanation)


def integration_status_get(*, integration: AtsIntegration) -> IntegrationStatus | None:
    """The integration's snapshot row, or None (cached on the instance by select_related)."""
    try:
        return integration.status_snapshot
    except IntegrationStatus.DoesNotExist:
        return None


# A check's level as a word on its badge.
CHECK_STATES = {"ok": "OK", "info": "Info", "warn": "Warning", "bad": "Failing", "muted": "Off"}


def status_features(*, snapshot: IntegrationStatus) -> list[dict[str, Any]]:
    """The snapshot's features shaped for templates: each check gets its badge word
    (``state``) and ``failing`` (show its fix link); each feature with a ``detail`` gets the
    partial that shows it (``template``, from the features table: snapshots store none)."""
    features = []
    for feature in snapshot.features:
        row = FEATURES_BY_KEY.get(feature.get("key", ""))
        template = row.status_template if row is not None and feature.get("detail") else ""
        checks = [
            {
                **check,
                "state": CHECK_STATES.get(check.get("level", ""), ""),
                "failing": check.get("level") in ("warn", "bad"),
            }
            for check in feature.get("checks", [])
        ]
        features.append({**feature, "checks": checks, "template": template})
    return features


# --- the last 24 hours -----------------------------------------------------------------------

ACTIVITY_HOURS = 24


def status_activity(*, integration: AtsIntegration, now: datetime) -> list[dict[str, Any]]:
    """Per hour of the last 24 (UTC, oldest first, the current hour last): webhook deliveries
    received, updates sent to the ATS, and failures (deliveries Karat could not process or gave
    up on, updates it gave up on), as ``{"hour": ISO 8601, "received", "sent", "failed"}``.

    Each feature of the features table with an ``activity`` counter adds its share in one
    grouped query: a constant number of queries however many rows. Stored in the status
    snapshot, so the chart is as recent as the rest of the page."""
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [last - timedelta(hours=n) for n in range(ACTIVITY_HOURS - 1, -1, -1)]
    totals: dict[datetime, dict[str, int]] = {
        hour: dict.fromkeys(ACTIVITY_SERIES, 0) for hour in hours
    }
    for provider in activity_providers():
        for series, counts in provider(integration=integration, since=hours[0]).items():
            for hour, count in counts.items():
                if hour in totals and series in ACTIVITY_SERIES:
                    totals[hour][series] += count
    return [{"hour": hour.isoformat(), **totals[hour]} for hour in hours]


# The chart's drawing, in SVG user units (the viewBox scales it to the card's width).
_CHART_LEFT, _CHART_TOP, _CHART_HEIGHT, _CHART_SLOT, _CHART_BAR = 30, 8, 110, 30, 8
_CHART_SERIES_LABELS = {"received": "Received", "sent": "Sent", "failed": "Failed"}


def status_activity_chart(*, activity: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """What the status page's last-24-hours chart draws from ``status_activity``'s rows: one
    group of three bars (received, sent, failed) per hour, scaled to the busiest, with an hour
    label every 6 hours, and the totals for the caption. None without rows (a snapshot stored
    before the chart existed)."""
    rows = [row for row in activity if isinstance(row, Mapping) and "hour" in row]
    if not rows:
        return None
    top = max([1, *(int(row.get(s) or 0) for row in rows for s in ACTIVITY_SERIES)])
    base = _CHART_TOP + _CHART_HEIGHT
    hours = []
    for i, row in enumerate(rows):
        start = datetime.fromisoformat(str(row["hour"])).astimezone(UTC)
        x = _CHART_LEFT + i * _CHART_SLOT
        bars = []
        for j, series in enumerate(ACTIVITY_SERIES):
            count = int(row.get(series) or 0)
            # A single row is still one visible pixel high next to a busy hour.
            height = max(round(count / top * _CHART_HEIGHT, 1), 1.0) if count else 0
            bars.append(
                {
                    "series": series,
                    "label": _CHART_SERIES_LABELS[series],
                    "count": count,
                    "x": x + 3 + j * _CHART_BAR,
                    "y": round(base - height, 1),
                    "height": height,
                }
            )
        hours.append(
            {
                "start": start,
                "day": f"{start:%Y-%m-%d}",
                "label": f"{start:%H}:00",
                "end_label": f"{(start + timedelta(hours=1)):%H}:00",
                "bars": bars,
                "tick": i % 6 == 0,
                "tick_x": x + _CHART_SLOT // 2,
                **{bar["series"]: bar["count"] for bar in bars},
            }
        )
    return {
        "hours": hours,
        "top": top,
        "totals": {s: sum(h[s] for h in hours) for s in ACTIVITY_SERIES},
        "width": _CHART_LEFT + len(rows) * _CHART_SLOT,
        "height": base + 20,
        "plot_top": _CHART_TOP,
        "base": base,
        "bar_width": _CHART_BAR - 1,
        "left": _CHART_LEFT,
        "label_y": base + 14,
    }


def status_page_context(
    *, integration: AtsIntegration, snapshot: IntegrationStatus
) -> dict[str, Any]:
    """Everything the status page (and its live part) shows, from the integration row and its
    snapshot only: a constant number of queries however many deliveries, updates or
    postings there are."""
    path = reverse(
        "webhooks:receive", kwargs={"ats": integration.ats, "public_id": integration.public_id}
    )
    return {
        "integration": integration,
        "snapshot": snapshot,
        "overall": integration_overall_from_snapshot(integration=integration),
        "features": status_features(snapshot=snapshot),
        "acting_user": snapshot.basic.get("acting_user") or {"state": "not_set"},
        "webhook_url": f"{settings.PUBLIC_BASE_URL}{path}",
        # Older than two refresh intervals: the periodic recompute is not running.
        "stale": snapshot.computed_at is None
        or snapshot.computed_at
        < timezone.now() - 2 * timedelta(seconds=settings.STATUS_REFRESH_INTERVAL_SECONDS),
        "region_label": integration_region_label(integration=integration),
        "activity": status_activity_chart(activity=snapshot.basic.get("activity") or []),
        "tab": "status",
    }
