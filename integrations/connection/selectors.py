"""Reads for ATS integrations, always scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from integrations import ats
from integrations.models import (
    AtsIntegration,
    AuditEntry,
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


def integration_list_named(*, user: User) -> QuerySet[AtsIntegration]:
    """``integration_list`` with each row's ``group_name`` annotated: the API pages it by a
    cursor, whose position must be an attribute of the row."""
    return integration_list(user=user).annotate(group_name=F("group__name"))


def integration_get(*, user: User, public_id: UUID | str) -> AtsIntegration:
    """The integration, or Http404 when it belongs to another organization or a group the user
    can't see (404, never 403: we don't confirm it exists)."""
    return get_object_or_404(integration_list(user=user), public_id=public_id)


def audit_entry_list(*, integration: AtsIntegration, limit: int = 100) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(integration_public_id=integration.public_id).select_related(
        "actor"
    )[:limit]


# --- key checks -------------------------------------------------------------------------------
# The key's rows as integrations/connection/services/keys.py records them; read by the Settings
# page, the status page and the API (constant queries, no ATS calls).


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


def key_refusal(
    *, integration: AtsIntegration, lines: Mapping[Any, Mapping[str, Any]] | None = None
) -> str:
    """Why no feature can use the API key in use, naming it: the ATS refused the key itself
    (not only a permission) at its last check. "" when it did not, or when there is no key yet
    (the overall status and Invite by URL ask for one). Every feature that calls the ATS with
    the key shows this as its failing "API key valid" check, so none says "Working" on a
    revoked key. ``lines``: the key check's lines, when the caller has them."""
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    if not integration.has_api_key or integration.key_status != KeyStatus.INVALID:
        return ""
    if lines is None:
        lines = key_check_lines(integration=integration)
    if (lines.get("auth") or {}).get("ok") is not False:
        return ""
    return (
        f"{label} rejected the API key {integration.masked_api_key} at its last check: "
        "paste a working key in Settings."
    )


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
    """One check for templates; ``refused``: the ATS refused the key itself; ``missing``: the
    permissions it lacks (names) when the ATS accepted it."""
    lines = [line for line in row.checks if isinstance(line, dict)]
    return {
        "last4": row.api_key_last4,
        "status": row.status,
        "summary": row.summary,
        "checks": row.checks,
        "checked_at": row.finished_at,
        "stuck": row.is_stuck,
        "refused": any(line.get("code") == "auth" and line.get("ok") is False for line in lines),
        "missing": [
            str(line.get("name"))
            for line in lines
            if line.get("ok") is False and line.get("permission")
        ],
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


def reconciliation_scheduled(*, integration: AtsIntegration) -> bool:
    """Whether the periodic reconciliation (every ``RECONCILE_INTERVAL_SECONDS``) polls the
    integration now, by the scheduler's own rule (``AtsIntegrationQuerySet.reconcile_due``):
    until then the status page must not promise a run. One query."""
    return AtsIntegration.objects.reconcile_due().filter(pk=integration.pk).exists()


def integration_region_label(*, integration: AtsIntegration) -> str:
    """The region as the ATS names it, with its API host ("US (api.lever.co)")."""
    try:
        regions = dict(ats.adapter_for(integration.ats, ats.AtsBase).regions)
    except ats.UnknownAts:
        regions = {}
    return regions.get(integration.region, integration.get_region_display())


def _ats_link(link: Any) -> dict[str, Any]:
    """The API's ``ats_link`` of one OpportunityLink (integration loaded): which opportunity of
    which integration, and its page in the ATS (``url`` None when it makes no URL)."""
    integration = link.integration
    try:
        url: str | None = ats.adapter_for(integration.ats).candidate_url(
            integration.region, link.opportunity_id
        )
    except (ValueError, ats.UnknownAts):  # a region with no site, an id that makes no URL
        url = None
    return {
        "ats": integration.ats,
        "integration": str(integration.public_id),
        "opportunity_id": link.opportunity_id,
        "url": url,
    }


def _ats_side(candidacy: Any) -> tuple[str, tuple[str, str] | None, dict[str, Any] | None]:
    """The candidacy's ATS label, its profile link and its ``ats_link`` (one or two queries).
    Not linked (never, or no more), the label is that of its group's integration, so entries
    written while it was linked still name their ATS; "" when the group has none."""
    from integrations.models import OpportunityLink

    link = OpportunityLink.objects.filter(candidacy=candidacy).select_related("integration").first()
    if link is None:
        # The first of the group's integrations, as attaching a link later picks it.
        group_ats = (
            AtsIntegration.objects.filter(group_id=candidacy.group_id)
            .order_by("pk")
            .values_list("ats", flat=True)
            .first()
        )
        try:
            label = ats.adapter_for(group_ats, ats.AtsBase).label if group_ats else ""
        except ats.UnknownAts:
            label = ""
        return label, None, None
    adapter = ats.adapter_for(link.integration.ats)
    ats_link = _ats_link(link)
    # The API's ats_link.url names the candidate; the profile button is opened, so it goes
    # where this deployment serves the page (the local sandbox's, for its region).
    url = (
        adapter.candidate_profile_url(link.integration.region, link.opportunity_id)
        if ats_link["url"]
        else None
    )
    return adapter.label, ((adapter.label, url) if url else None), ats_link


def _webhook_event_labels(ats_name: str) -> dict[str, str]:
    """Webhook event code -> label of ``ats_name``'s adapter, or of every registered ATS when
    the candidacy is no longer linked to one (its stored entries still name the event)."""
    names = [ats_name] if ats_name else list(ats.ADAPTERS)
    labels: dict[str, str] = {}
    for name in names:
        try:
            events = ats.adapter_for(name, ats.AtsBase).webhook_events
        except ats.UnknownAts:
            continue
        labels |= {spec.code: spec.label for spec in events}
    return labels


def _ats_unlinked(candidacy: Any, ats_label: str) -> dict[str, Any] | None:
    """Why a candidacy that was linked is not any more, from its last "Unlinked from the ATS"
    timeline entry: ``{"summary", "at"}`` ("The candidate was deleted in Lever: …", or a
    detach), None when it was never linked. One query."""
    from karatlever.hiring.models import CandidacyEvent

    event = (
        CandidacyEvent.objects.filter(candidacy=candidacy, kind=CandidacyEvent.Kind.ATS_UNLINKED)
        .only("summary", "occurred_at")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if event is None:
        return None
    return {"summary": event.summary_shown(ats_label=ats_label), "at": event.occurred_at}


def candidacy_page_context(candidacy: Any) -> dict[str, Any]:
    """Extra context for the candidacy page and API (see karatlever.hiring.hooks, registered by
    ``IntegrationsConfig.ready``): the ATS profile link, the ``ats_link`` (see
    ``candidacy_list_page_context``), and the ATS's name and webhook event labels that timeline
    entries from the ATS are shown with (stored entries name no ATS). Not linked any more,
    ``ats_unlinked`` says why the link went (``_ats_unlinked``), so the page never shows the
    ATS state it kept as current."""
    label, profile, ats_link = _ats_side(candidacy)
    context: dict[str, Any] = {
        "ats_profile": profile,
        "ats_link": ats_link,
        "ats_event_labels": _webhook_event_labels(ats_link["ats"] if ats_link else ""),
        "ats_unlinked": None if ats_link else _ats_unlinked(candidacy, label),
    }
    if label:
        context["ats_label"] = label
    return context


def candidacy_list_page_context(candidacies: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """``{"ats_link": …}`` for each of ``candidacies`` by pk, in one query (the candidacies API
    list; registered by ``IntegrationsConfig.ready``): ``{ats, integration, opportunity_id,
    url}`` of its opportunity in the ATS, or None when it has no link."""
    from integrations.models import OpportunityLink

    context: dict[int, dict[str, Any]] = {c.pk: {"ats_link": None} for c in candidacies}
    links = OpportunityLink.objects.filter(candidacy__in=[c.pk for c in candidacies])
    for link in links.select_related("integration"):
        context[link.candidacy_id] = {"ats_link": _ats_link(link)}
    return context
