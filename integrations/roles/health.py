"""Role matching's health for the status page (named by its row in ``integrations/features.py``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse

from integrations import ats
from integrations.connection.selectors import key_refusal
from integrations.features import (
    LEVEL_RANK,
    ROLE_MATCHING,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun
from integrations.roles.selectors import unmatched_published_with_candidacies

KeyStatus = AtsIntegration.KeyStatus


def role_matching_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Ensure Lever roles match Karat roles" feature for the status page: postings
    synced (and when), the last sync's outcome, and open postings without a role that have
    candidacies. A constant number of queries: three, at most six."""
    adapter = ats.adapter_for(integration.ats, ats.Postings)
    ats_name = adapter.label
    roles_url = reverse("integrations:roles", kwargs={"public_id": integration.public_id})
    detail: dict[str, Any] = {"roles_url": roles_url}
    builder = partial(
        feature_health,
        ROLE_MATCHING,
        description=f"Karat syncs {ats_name} postings every hour and maps each to a Karat role "
        "(by requisition code, then by title); the roles page lists what is not matched.",
        detail=detail,
    )

    if not integration.enabled:
        return builder("muted", "Off", f"The integration is disabled: no {ats_name} postings sync.")
    refused = key_refusal(integration=integration)
    if refused:
        return builder(
            "bad",
            "Not working",
            f"{ats_name} postings can't be synced: {refused}",
            checks=[key_refused_check(refused, _settings_url(integration))],
        )
    if integration.key_status != KeyStatus.VALID:
        return builder(
            "info",
            "Waiting",
            f"Postings sync once {ats_name} accepts the API key.",
            checks=[
                FeatureCheck(
                    "postings_synced", "Postings synced", "info", "Waiting for a valid key."
                )
            ],
        )
    latest = PostingSyncRun.objects.filter(integration=integration).first()
    succeeded = latest
    if latest is not None and latest.status != PostingSyncRun.Status.SUCCEEDED:
        succeeded = PostingSyncRun.objects.filter(
            integration=integration, status=PostingSyncRun.Status.SUCCEEDED
        ).first()
    matched_q = Q(mapping__role__isnull=False)
    counts = AtsPosting.objects.filter(integration=integration, removed_at__isnull=True).aggregate(
        total=Count("pk"),
        matched=Count("pk", filter=matched_q),
        unmatched_open=Count(
            "pk", filter=~matched_q & Q(state__in=list(adapter.posting_open_states))
        ),
    )
    total = counts["total"]
    detail.update(counts)
    if succeeded is None:
        synced = FeatureCheck(
            "postings_synced",
            "Postings synced",
            "info",
            "The first sync is running." if latest and latest.is_active else "Not synced yet.",
            roles_url,
            "Roles → Sync now",
        )
    else:
        hidden = (
            " Confidential postings are left out: the key may not read them."
            if succeeded.confidential_included is False
            else ""
        )
        synced = FeatureCheck(
            "postings_synced", "Postings synced", "ok", f"{total} postings.{hidden}"
        )
    # Moments go in ``at`` (ISO 8601, UTC): the page renders them through the ``when`` filter.
    finished = succeeded.finished_at.isoformat() if succeeded and succeeded.finished_at else ""
    if latest is not None and latest.status == PostingSyncRun.Status.FAILED:
        last = FeatureCheck(
            "last_sync",
            "Last sync",
            "bad",
            f"The last sync failed: {latest.error} What it read is kept; it continues from "
            "there at the next sync.",
            roles_url,
            "Roles → Sync now",
        )
    elif latest is not None and latest.is_active and succeeded is not None:
        last = FeatureCheck(
            "last_sync", "Last sync", "ok", "A sync is running; the last one finished", at=finished
        )
    elif succeeded is not None:
        last = FeatureCheck("last_sync", "Last sync", "ok", "Succeeded, finished", at=finished)
    else:
        last = FeatureCheck(
            "last_sync",
            "Last sync",
            "info",
            "The first sync is running." if latest and latest.is_active else "None yet.",
        )
    unmatched = unmatched_published_with_candidacies(integration=integration)
    if unmatched:
        titles = ", ".join(p.title for p in unmatched[:3]) + ("…" if len(unmatched) > 3 else "")
        problem = FeatureCheck(
            "unmatched_with_candidacies",
            "Open postings without a Karat role",
            "warn",
            # Its candidacies got their role by hand: the next candidates get none on their own.
            f"{_postings(len(unmatched), ats_name)} with candidacies "
            f"{'has' if len(unmatched) == 1 else 'have'} no Karat role ({titles}): each "
            f"new candidate from {'it' if len(unmatched) == 1 else 'them'} needs a role picked "
            f"by hand. Map {'it' if len(unmatched) == 1 else 'them'}.",
            roles_url + "?unmatched=1",
            "Roles → unmatched postings",
        )
    else:
        problem = FeatureCheck(
            "unmatched_with_candidacies",
            "Open postings without a Karat role",
            "ok",
            "Every open posting with candidacies has a role.",
        )
    checks = (synced, last, problem)
    worst = max(checks, key=lambda c: LEVEL_RANK[c.level]).level
    if worst in ("warn", "bad"):
        return builder(worst, "Needs attention", "See the checks below.", checks=checks)
    if succeeded is None:
        return builder(
            "info",
            "Waiting for the first sync",
            "Postings have not been synced yet.",
            checks=checks,
        )
    return builder("ok", "Working", f"{total} postings synced.", checks=checks)


def _settings_url(integration: AtsIntegration) -> str:
    return reverse("integrations:settings", kwargs={"public_id": integration.public_id})


def _postings(count: int, ats_name: str) -> str:
    """ "1 open Lever posting", "3 open Lever postings"."""
    return f"{count} open {ats_name} posting{'' if count == 1 else 's'}"
