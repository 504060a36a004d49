"""Reads for ATS integrations, always scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.features import (
    FeatureHealth,
)
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    IntegrationStatus,
    InviteBatch,
    InviteItem,
    KeyCheck,
)
from karatlever.accounts.selectors import group_list_visible

if TYPE_CHECKING:
    from karatlever.accounts.models import User

KeyStatus = AtsIntegration.KeyStatus


def integration_list(*, user: User) -> QuerySet[AtsIntegration]:
    """Integrations of the groups the user may see (none for a user without a membership)."""
    return (
        AtsIntegration.objects.filter(group__in=group_list_visible(user=user))
        .select_related("group", "status_snapshot")
        .order_by("group__name", "ats")
    )


def integration_get(*, user: User, public_id: UUID | str) -> AtsIntegration:
    """The integration, or Http404 when it belongs to another organization or a group the user
    can't see (404, never 403: we don't confirm it exists)."""
    return get_object_or_404(integration_list(user=user), public_id=public_id)


def audit_entry_list(*, integration: AtsIntegration, limit: int = 100) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(integration_public_id=integration.public_id).select_related(
        "actor"
    )[:limit]


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
    ats_name = ats.adapter_for(integration.ats).label
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


# --- status snapshots -------------------------------------------------------------------------
# The status page, the list and the API read the snapshot services/status.py computes in the
# background; they never compute health themselves (constant queries, no ATS calls).

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
    (``state``) and ``failing`` (show its fix link)."""
    features = []
    for feature in snapshot.features:
        checks = [
            {
                **check,
                "state": CHECK_STATES.get(check.get("level", ""), ""),
                "failing": check.get("level") in ("warn", "bad"),
            }
            for check in feature.get("checks", [])
        ]
        features.append({**feature, "checks": checks})
    return features


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
        "tab": "status",
    }


def key_check_lines(*, integration: AtsIntegration) -> dict[str, dict[str, Any]]:
    """The lines of the latest finished check of the key in use, by code (``auth``,
    ``read_users``, ``user_id``…; each ``{code, name, ok, message}``); {} before any check."""
    row = (
        KeyCheck.objects.filter(
            integration_id=integration.pk,
            subject=KeyCheck.Subject.CURRENT,
            api_key_fingerprint=integration.api_key_fingerprint,
            finished_at__isnull=False,
        )
        .order_by("-id")
        .only("checks")
        .first()
    )
    if row is None or not integration.api_key_fingerprint:
        return {}
    return {line["code"]: line for line in row.checks if isinstance(line, dict) and "code" in line}


def _live(row: KeyCheck | None, fingerprint: str) -> KeyCheck | None:
    """The row if it checks the key stored now (a row for a replaced key is history)."""
    return (
        row if row is not None and fingerprint and row.api_key_fingerprint == fingerprint else None
    )


def key_check_latest_finished(*, integrations: Iterable[AtsIntegration]) -> dict[int, KeyCheck]:
    """The key's status as rows: for each integration, the latest finished check of the key in
    use (by integration pk). Two queries, however many integrations."""
    pks = [integration.pk for integration in integrations]
    latest = (
        KeyCheck.objects.filter(
            integration_id=OuterRef("pk"),
            api_key_fingerprint=OuterRef("api_key_fingerprint"),
            finished_at__isnull=False,
        )
        .order_by("-id")
        .values("id")[:1]
    )
    ids = (
        AtsIntegration.objects.filter(pk__in=pks)
        .exclude(api_key_fingerprint="")
        .annotate(latest=Subquery(latest))
        .values_list("latest", flat=True)
    )
    rows = KeyCheck.objects.filter(pk__in=[pk for pk in ids if pk is not None])
    return {row.integration_id: row for row in rows}


def _pk(row: KeyCheck) -> int:
    return row.pk


def _shown(row: KeyCheck) -> dict[str, Any]:
    return {
        "last4": row.api_key_last4,
        "status": row.status,
        "summary": row.summary,
        "checks": row.checks,
        "checked_at": row.finished_at,
        "stuck": row.is_stuck,
    }


def key_check_view(*, integration: AtsIntegration) -> dict[str, Any]:
    """The key checks shaped for templates: the key in use's last result, the pending key's
    check, a rejected replacement, whether a check runs now and whether one did not finish."""

    def latest(**filters: Any) -> Subquery:
        rows = KeyCheck.objects.filter(integration_id=integration.pk, **filters).order_by("-id")
        return Subquery(rows.values("id")[:1])

    # One query: the latest row of each subject and the key in use's latest finished row.
    rows = {
        row.pk: row
        for row in KeyCheck.objects.filter(
            Q(pk=latest(subject=KeyCheck.Subject.CURRENT))
            | Q(pk=latest(subject=KeyCheck.Subject.PENDING))
            | Q(
                pk=latest(
                    api_key_fingerprint=integration.api_key_fingerprint, finished_at__isnull=False
                )
            )
        )
    }
    by_subject = {
        subject: max((r for r in rows.values() if r.subject == subject), key=_pk, default=None)
        for subject in KeyCheck.Subject.values
    }
    current_latest = _live(by_subject[KeyCheck.Subject.CURRENT], integration.api_key_fingerprint)
    pending_latest = by_subject[KeyCheck.Subject.PENDING]
    pending_live = _live(pending_latest, integration.pending_api_key_fingerprint)
    finished = max(
        (
            r
            for r in rows.values()
            if r.is_finished and r.api_key_fingerprint == integration.api_key_fingerprint
        ),
        key=_pk,
        default=None,
    )

    pending = None
    if integration.pending_api_key_last4:
        pending = (
            _shown(pending_live)
            if pending_live is not None
            else {"last4": integration.pending_api_key_last4, "status": "checking", "checks": []}
        )
    # A replacement that failed is shown only while its check is the latest word on the keys:
    # a later save of a key (api_key_set_at) or a later check of the key in use ("Check again",
    # a settings change) makes it history, so an old verdict never outlives its moment.
    current_any = by_subject[KeyCheck.Subject.CURRENT]
    rejected = None
    if (
        pending_latest is not None
        and pending_latest.outcome == KeyCheck.Outcome.INVALID
        and not integration.pending_api_key_last4
        and (
            integration.api_key_set_at is None
            or pending_latest.requested_at >= integration.api_key_set_at
        )
        and (current_any is None or current_any.pk < pending_latest.pk)
    ):
        rejected = _shown(pending_latest)
    running = [row for row in (current_latest, pending_live) if row and not row.is_finished]
    return {
        "current": _shown(finished) if finished is not None else None,
        "pending": pending,
        "rejected": rejected,
        "in_progress": any(not row.is_stuck for row in running),
        "stuck": any(row.is_stuck for row in running),
    }


def key_check_in_progress(*, integration: AtsIntegration) -> bool:
    """True while a check of the key in use or of a pending key runs (and is not lost)."""
    return bool(key_check_view(integration=integration)["in_progress"])


def integration_region_label(*, integration: AtsIntegration) -> str:
    """The region as the ATS names it, with its API host ("US (api.lever.co)")."""
    try:
        regions = dict(ats.adapter_for(integration.ats).regions)
    except ats.UnknownAts:
        regions = {}
    return regions.get(integration.region, integration.get_region_display())


def candidacy_ats_profile(*, candidacy: Any) -> tuple[str, str] | None:
    """(ATS label, URL) of the candidate's profile in the ATS, on the integration's region
    host; None when the candidacy is not linked to an ATS. The candidacy page shows it
    through the hook ``IntegrationsConfig.ready`` registers with karatlever.hiring.views."""
    from integrations.models import OpportunityLink

    link = OpportunityLink.objects.filter(candidacy=candidacy).select_related("integration").first()
    if link is None:
        return None
    adapter = ats.adapter_for(link.integration.ats)
    try:
        url = adapter.candidate_url(link.integration.region, link.opportunity_id)
    except ValueError:  # a region the ATS has no site for
        return None
    return adapter.label, url


def candidacy_page_context(candidacy: Any) -> dict[str, Any]:
    """Extra context for the candidacy page (see karatlever.hiring.views)."""
    return {"ats_profile": candidacy_ats_profile(candidacy=candidacy)}


# --- invites ----------------------------------------------------------------------------------


def invite_batch_get(*, user: User, public_id: UUID | str) -> InviteBatch:
    """An invite batch of a group the user can see; Http404 otherwise (never 403)."""
    return get_object_or_404(
        InviteBatch.objects.filter(group__in=group_list_visible(user=user)).select_related(
            "group", "integration"
        ),
        public_id=public_id,
    )


def invite_items(*, batch: InviteBatch) -> QuerySet[InviteItem]:
    return batch.items.select_related("role", "candidacy").order_by("position")


def auto_invite_recent(*, integration: AtsIntegration, limit: int = 20) -> QuerySet[AuditEntry]:
    """The integration's latest automatic invites (audit entries), newest first."""
    return AuditEntry.objects.filter(
        integration_public_id=integration.public_id, action=AuditEntry.Action.AUTO_INVITED
    )[:limit]
