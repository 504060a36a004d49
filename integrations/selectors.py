"""Reads for ATS integrations, always scoped to what the user may see."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.models import (
    AtsIntegration,
    AtsPosting,
    AuditEntry,
    IntegrationStatus,
    InviteBatch,
    InviteItem,
    KeyCheck,
    PostingSyncRun,
    RoleMapping,
)
from integrations.services.postings import title_key
from karatlever.accounts.selectors import group_list_visible
from karatlever.hiring.models import Candidacy, Role

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


# --- features ---------------------------------------------------------------------------------
# The status page lists every feature the integration includes. A feature's health is computed
# by the app that implements it, which registers a provider here from its AppConfig.ready().
# Why a registry rather than a template tag from that app: health is computed once, in Python,
# and feeds both the Features section and the overall roll-up below (testable without
# templates), the view stays the one place that builds the page's context, and `integrations`
# never imports the apps that depend on it (webhooks → integrations, never the reverse).

INVITE_FROM_LEVER_URL = "invite_from_lever_url"
POST_CANDIDACY_UPDATES = "post_candidacy_updates"
AUTO_STATE_UPDATING = "auto_state_updating"
ROLE_MATCHING = "role_matching"
AUTOMATIC_INVITES = "automatic_invites"

# (key, name, what it will do) in the order of DESIGN.md; a feature's provider describes what
# it does once built.
FEATURES: tuple[tuple[str, str, str], ...] = (
    (
        INVITE_FROM_LEVER_URL,
        "Invite candidates using Lever URL",
        "Karat reads pasted Lever candidate URLs, matches each posting to a Karat role, and "
        "creates and invites the candidacies.",
    ),
    (
        POST_CANDIDACY_UPDATES,
        "Post candidacy updates to Lever",
        "Karat writes each interview milestone (invited, scheduled, completed, results) "
        "back to the Lever opportunity as notes, tags and links.",
    ),
    (
        AUTO_STATE_UPDATING,
        "Auto state updating",
        "Karat keeps each candidacy's Lever stage, archive state and hired flag current "
        "from Lever's webhooks.",
    ),
    (
        ROLE_MATCHING,
        "Ensure Lever roles match Karat roles",
        "Karat syncs Lever postings, maps them to Karat roles and counts unmatched postings "
        "on this page.",
    ),
    (
        AUTOMATIC_INVITES,
        "Automatic invites",
        "Karat invites candidates who enter a chosen Lever stage, when an admin turns it on.",
    ),
)
FEATURE_NAMES = {key: name for key, name, _ in FEATURES}


@dataclass(frozen=True)
class FeatureIssue:
    """Something to fix, with where to fix it."""

    text: str
    url: str = ""
    link_text: str = ""


@dataclass(frozen=True)
class FeatureCheck:
    """One named check of a feature (e.g. "Permission to write notes").

    ``level``: ok | info (nothing wrong, waiting for something) | warn | bad | muted (not
    applicable or off). A failing check says what is wrong in ``message`` and where to fix it
    (``fix_url``, ``fix_text``). Plain strings only: status snapshots store checks as JSON.
    """

    code: str
    name: str
    level: str
    message: str = ""
    fix_url: str = ""
    fix_text: str = ""
    # When what the check reports happened (ISO 8601, UTC), e.g. the last verified delivery;
    # "" when it has no moment. Shown through the ``when`` filter.
    at: str = ""


@dataclass(frozen=True)
class FeatureHealth:
    key: str
    name: str
    description: str
    # ok: working; info: nothing wrong, but waiting for something that has not happened yet
    # (no webhook delivered so far); warn | bad: needs attention (``issues`` say what to do);
    # muted: off, or not available yet (``available`` False).
    level: str
    label: str
    summary: str
    issues: tuple[FeatureIssue, ...] = ()
    # Every check the feature ran, healthy ones included, in a fixed order.
    checks: tuple[FeatureCheck, ...] = ()
    # A partial with the feature's details, owned by the app that provides the health.
    template: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    # False for a feature the product does not have yet: never counted as working.
    available: bool = True

    @property
    def needs_attention(self) -> bool:
        return self.level in ("warn", "bad")

    @property
    def waiting(self) -> bool:
        return self.available and self.level == "info"

    @property
    def working(self) -> bool:
        return self.available and self.level == "ok"

    @property
    def off(self) -> bool:
        """Switched off (an optional feature): muted, and never counted against Active."""
        return self.available and self.level == "muted"


def checks_level(checks: Iterable[FeatureCheck]) -> str:
    """The worst level among ``checks``: bad, then warn, else ok (info and muted are fine)."""
    levels = {check.level for check in checks}
    return "bad" if "bad" in levels else "warn" if "warn" in levels else "ok"


FeatureHealthProvider = Callable[[AtsIntegration], FeatureHealth]
_feature_health_providers: dict[str, FeatureHealthProvider] = {}


def feature_health_register(*, key: str, provider: FeatureHealthProvider) -> None:
    """Let the app that implements a feature report its health (call from AppConfig.ready())."""
    if key not in FEATURE_NAMES:
        raise ValueError(f"Unknown integration feature {key!r}")
    _feature_health_providers[key] = provider


def feature_health_provider(key: str) -> FeatureHealthProvider | None:
    """The provider registered for ``key``, or None while the feature is not built."""
    return _feature_health_providers.get(key)


def feature_not_available(*, key: str) -> FeatureHealth:
    name, description = next((n, d) for k, n, d in FEATURES if k == key)
    return FeatureHealth(
        key=key,
        name=name,
        description=description,
        level="muted",
        label="Not available yet",
        summary="",
        available=False,
    )


def integration_features(*, integration: AtsIntegration) -> list[FeatureHealth]:
    """Every feature the integration includes, in a fixed order; one without a registered
    provider is shown as not available (never as working). Each provider must run a constant
    number of queries."""
    return [
        provider(integration)
        if (provider := _feature_health_providers.get(key))
        else feature_not_available(key=key)
        for key, _, _ in FEATURES
    ]


# --- settings sections ------------------------------------------------------------------------
# An app that adds a step to an integration's Settings page (webhooks: Step 3) registers a
# provider here from its AppConfig.ready(), as features do for the status page: the settings
# view builds every section's context in Python and `integrations` never imports that app.


@dataclass(frozen=True)
class SettingsSection:
    """One extra block of the Settings page: a partial and the context it renders with."""

    template: str
    context: Mapping[str, Any]


SettingsSectionProvider = Callable[[AtsIntegration], SettingsSection]
_settings_section_providers: dict[str, SettingsSectionProvider] = {}


def settings_section_register(*, key: str, provider: SettingsSectionProvider) -> None:
    """Add a section to every integration's Settings page (call from AppConfig.ready())."""
    _settings_section_providers[key] = provider


def integration_settings_sections(*, integration: AtsIntegration) -> list[SettingsSection]:
    """The registered sections, in registration order."""
    return [provider(integration) for provider in _settings_section_providers.values()]


_LEVEL_RANK = {"ok": 0, "muted": 0, "info": 0, "warn": 1, "bad": 2}


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
        regions = dict(ats.adapter_for(integration.ats, ats.AtsBase).regions)
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


# --- role matching: postings and their Karat roles --------------------------------------------
# Candidacies have no posting of their own: a posting's candidacies are those of its mapped
# role (in the integration's group). For an unmatched posting they are the candidacies of the
# roles that claim it — same requisition code or same normalised title — i.e. the roles a
# conflict is between: candidates Karat has for what looks like this posting.

# Similar-title suggestions: difflib ratio of the normalised titles' words, at least this
# (or a character ratio of at least NEAR_SPELLING: a typo).
SUGGESTION_MIN_RATIO = 0.6
NEAR_SPELLING = 0.9
SUGGESTIONS_MAX = 3
POSTINGS_PER_PAGE = 50


@dataclass(frozen=True)
class PostingSummary:
    """One current posting of an integration, for pickers (the automatic invite's filter)."""

    posting_id: str
    title: str
    state: str
    # Where the ATS has them: tell apart postings with the same title.
    team: str = ""
    location: str = ""


def posting_role_get(*, integration: AtsIntegration, posting_id: str) -> Role | None:
    """The Karat role candidates of this posting interview for (automatic or an admin's
    mapping), or None: unknown posting, unmatched, or a conflict an admin has not settled.
    A posting deleted in the ATS keeps its last mapping (its candidates still need a role)."""
    mapping = (
        RoleMapping.objects.filter(
            posting__integration=integration, posting__posting_id=posting_id, role__isnull=False
        )
        .select_related("role")
        .first()
    )
    return mapping.role if mapping is not None else None


def posting_list(
    *, integration: AtsIntegration, states: Iterable[str] | None = None
) -> list[PostingSummary]:
    """The integration's current postings (id, title, state, team, location), by title; ``states`` narrows
    them to those ATS states (e.g. the adapter's ``posting_open_states``). One query."""
    postings = AtsPosting.objects.filter(integration=integration, removed_at__isnull=True)
    if states is not None:
        postings = postings.filter(state__in=list(states))
    return [
        PostingSummary(
            posting_id=posting_id, title=title, state=state, team=team, location=location
        )
        for posting_id, title, state, team, location in postings.order_by(
            "title", "posting_id"
        ).values_list("posting_id", "title", "state", "team", "location")
    ]


def posting_sync_run_latest(*, integration: AtsIntegration) -> PostingSyncRun | None:
    return PostingSyncRun.objects.filter(integration=integration).first()


def posting_sync_run_get(*, integration: AtsIntegration, run_id: int) -> PostingSyncRun:
    """One sync run of the integration (404 for another integration's)."""
    return get_object_or_404(PostingSyncRun, integration=integration, pk=run_id)


@dataclass(frozen=True)
class _RoleFacts:
    """The group's roles, as matching and the roles page need them (two queries)."""

    roles: dict[int, Role]
    keys: dict[int, str]
    by_code: dict[str, int]
    by_title: dict[str, list[int]]
    candidacies: dict[int, int]

    @classmethod
    def load(cls, integration: AtsIntegration) -> _RoleFacts:
        roles = {r.pk: r for r in Role.objects.filter(group_id=integration.group_id)}
        keys = {pk: title_key(r.title) for pk, r in roles.items()}
        by_code: dict[str, int] = {}
        by_title: dict[str, list[int]] = {}
        for pk, role in roles.items():
            if not role.active:
                continue
            if role.requisition_code.strip():
                by_code[role.requisition_code.strip().casefold()] = pk
            by_title.setdefault(keys[pk], []).append(pk)
        candidacies = dict(
            Candidacy.objects.filter(group_id=integration.group_id)
            .values("role_id")
            .annotate(n=Count("pk"))
            .values_list("role_id", "n")
        )
        return cls(roles, keys, by_code, by_title, candidacies)

    def claiming(self, title_key: str, codes: Iterable[str]) -> list[int]:
        """Roles with one of ``codes`` or the same normalised title."""
        found = [self.by_code[c.casefold()] for c in codes if c.casefold() in self.by_code]
        found += self.by_title.get(title_key, [])
        return list(dict.fromkeys(found))

    def candidacy_count(self, role_id: int | None, title_key: str, codes: Iterable[str]) -> int:
        if role_id is not None:
            return self.candidacies.get(role_id, 0)
        return sum(self.candidacies.get(r, 0) for r in self.claiming(title_key, codes))

    def suggestions(self, title_key: str, codes: Iterable[str]) -> list[Role]:
        """Roles an admin may want for an unmatched posting: those claiming it (a conflict),
        then similar titles, best first. Never applied without the admin."""
        claimed = self.claiming(title_key, codes)
        words = title_key.split()
        scored: list[tuple[float, int]] = []
        for pk, key in self.keys.items():
            if pk in claimed or not self.roles[pk].active:
                continue
            score = title_similarity(words, title_key, key)
            if score >= SUGGESTION_MIN_RATIO:
                scored.append((score, pk))
        scored.sort(key=lambda item: (-item[0], self.roles[item[1]].title))
        ids = claimed + [pk for _, pk in scored]
        return [self.roles[pk] for pk in ids[:SUGGESTIONS_MAX]]


def title_similarity(words: Sequence[str], key: str, other: str) -> float:
    """How alike two normalised titles are (0..1): difflib's ratio over their words, so a
    shared "engineer" alone is not similarity ("Staff Frontend Engineer" ~ "Senior Frontend
    Engineer" 0.67, "Solutions Engineer" ~ "iOS Engineer" 0.5); a near-identical spelling
    (character ratio ≥ 0.9, e.g. a typo) counts as its character ratio."""
    score = difflib.SequenceMatcher(None, words, other.split()).ratio()
    if score < SUGGESTION_MIN_RATIO:
        chars = difflib.SequenceMatcher(None, key, other)
        if chars.quick_ratio() >= NEAR_SPELLING:
            score = max(score, chars.ratio() if chars.ratio() >= NEAR_SPELLING else 0.0)
    return score


@dataclass(frozen=True)
class PostingRow:
    """One posting on the roles page with its role, how it was matched and its candidacies."""

    posting: AtsPosting
    role: Role | None
    method: str  # RoleMapping.Method value, or "" when unmatched
    method_label: str
    note: str
    candidacy_count: int
    suggestions: tuple[Role, ...]
    state_label: str

    @property
    def is_manual(self) -> bool:
        return self.method in ("admin", "unmapped")


@dataclass(frozen=True)
class RolesPage:
    rows: list[PostingRow]
    page_obj: Any
    postings_total: int
    matched: int
    unmatched_open: int
    unmapped_roles: list[Role]
    states: Sequence[tuple[str, str]]
    active_roles: list[Role]


def roles_page(
    *,
    integration: AtsIntegration,
    unmatched_only: bool = False,
    state: str = "",
    page: str | int | None = None,
) -> RolesPage:
    """The roles page: one page of current postings with their roles, the counts at the top
    and the group's roles no posting maps to. A constant number of queries, whatever the
    number of postings or roles."""
    from django.core.paginator import Paginator

    adapter = ats.adapter_for(integration.ats, ats.Postings)
    state_labels = dict(adapter.posting_states)
    current = AtsPosting.objects.filter(integration=integration, removed_at__isnull=True)
    matched_q = Q(mapping__role__isnull=False)
    counts = current.aggregate(
        total=Count("pk"),
        matched=Count("pk", filter=matched_q),
        unmatched_open=Count(
            "pk", filter=~matched_q & Q(state__in=list(adapter.posting_open_states))
        ),
    )
    listed = current.select_related("mapping", "mapping__role")
    if unmatched_only:
        listed = listed.exclude(matched_q)
    if state:
        listed = listed.filter(state=state)
    page_obj = Paginator(listed.order_by("title", "posting_id"), POSTINGS_PER_PAGE).get_page(page)
    facts = _RoleFacts.load(integration)
    labels = dict(RoleMapping.Method.choices)
    rows = []
    for posting in page_obj.object_list:
        mapping = getattr(posting, "mapping", None)
        role_id = mapping.role_id if mapping is not None else None
        role = facts.roles.get(role_id) if role_id is not None else None
        method = mapping.method if mapping is not None else ""
        rows.append(
            PostingRow(
                posting=posting,
                role=role,
                method=method,
                method_label=labels.get(method, "Not matched"),
                note=mapping.note if mapping is not None else "",
                candidacy_count=facts.candidacy_count(
                    role_id, posting.title_key, posting.requisition_codes
                ),
                suggestions=()
                if role is not None or method == RoleMapping.Method.UNMAPPED
                else tuple(facts.suggestions(posting.title_key, posting.requisition_codes)),
                state_label=state_labels.get(posting.state, posting.state),
            )
        )
    mapped_role_ids = set(
        RoleMapping.objects.filter(
            posting__integration=integration,
            posting__removed_at__isnull=True,
            role__isnull=False,
        ).values_list("role_id", flat=True)
    )
    roles = sorted(facts.roles.values(), key=lambda r: (r.title.casefold(), r.pk))
    return RolesPage(
        rows=rows,
        page_obj=page_obj,
        postings_total=counts["total"],
        matched=counts["matched"],
        unmatched_open=counts["unmatched_open"],
        unmapped_roles=[r for r in roles if r.active and r.pk not in mapped_role_ids],
        states=adapter.posting_states,
        active_roles=[r for r in roles if r.active],
    )


def unmatched_published_with_candidacies(*, integration: AtsIntegration) -> list[AtsPosting]:
    """Open postings with no role whose would-be candidacies exist (see the block comment):
    candidates Karat can't place. One query, three when there are unmatched open postings."""
    adapter = ats.adapter_for(integration.ats, ats.Postings)
    postings = AtsPosting.objects.filter(
        integration=integration,
        removed_at__isnull=True,
        state__in=list(adapter.posting_open_states),
    ).exclude(mapping__role__isnull=False)
    unmatched = list(
        postings.only("posting_id", "title", "title_key", "requisition_codes", "state")
    )
    if not unmatched:
        return []
    facts = _RoleFacts.load(integration)
    return [p for p in unmatched if facts.candidacy_count(None, p.title_key, p.requisition_codes)]


def role_matching_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Ensure Lever roles match Karat roles" feature for the status page: postings
    synced (and when), the last sync's outcome, and open postings without a role that have
    candidacies. A constant number of queries: three, at most six."""
    from django.urls import reverse

    adapter = ats.adapter_for(integration.ats, ats.Postings)
    ats_name = adapter.label
    name = FEATURE_NAMES[ROLE_MATCHING]
    description = (
        f"Karat syncs {ats_name} postings every hour and maps each to a Karat role (by "
        "requisition code, then by title); the roles page lists what is not matched."
    )
    roles_url = reverse("integrations:roles", kwargs={"public_id": integration.public_id})

    detail: dict[str, Any] = {"roles_url": roles_url}

    def health(level: str, label: str, summary: str, *checks: FeatureCheck) -> FeatureHealth:
        issues = tuple(
            FeatureIssue(c.message, c.fix_url, c.fix_text)
            for c in checks
            if c.level in ("warn", "bad")
        )
        return FeatureHealth(
            key=ROLE_MATCHING,
            name=name,
            description=description,
            level=level,
            label=label,
            summary=summary,
            issues=issues,
            checks=checks,
            template="integrations/_role_matching_feature.html",
            detail=detail,
        )

    if not integration.enabled:
        return health("muted", "Off", f"The integration is disabled: no {ats_name} postings sync.")
    if integration.key_status != KeyStatus.VALID:
        return health(
            "info",
            "Waiting",
            f"Postings sync once {ats_name} accepts the API key.",
            FeatureCheck("postings_synced", "Postings synced", "info", "Waiting for a valid key."),
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
            f"{len(unmatched)} open {ats_name} postings with candidacies have no Karat role "
            f"({titles}): candidates applying to them can't be invited. Map them.",
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
    worst = max(checks, key=lambda c: _LEVEL_RANK[c.level]).level
    if worst in ("warn", "bad"):
        return health(worst, "Needs attention", "See the checks below.", *checks)
    if succeeded is None:
        return health(
            "info", "Waiting for the first sync", "Postings have not been synced yet.", *checks
        )
    return health("ok", "Working", f"{total} postings synced.", *checks)


def role_mapping_list(
    *, integration: AtsIntegration, unmatched_only: bool = False, state: str = ""
) -> QuerySet[AtsPosting]:
    """Current postings with their mapping, role and deciding admin loaded (for the API)."""
    postings = AtsPosting.objects.filter(
        integration=integration, removed_at__isnull=True
    ).select_related("mapping", "mapping__role", "mapping__decided_by")
    if unmatched_only:
        postings = postings.exclude(mapping__role__isnull=False)
    if state:
        postings = postings.filter(state=state)
    return postings.order_by("title", "posting_id")


def role_mapping_get(*, integration: AtsIntegration, posting_id: str) -> AtsPosting:
    """One current posting with its mapping loaded; Http404 when the integration has none."""
    return get_object_or_404(role_mapping_list(integration=integration), posting_id=posting_id)
