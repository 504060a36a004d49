"""The one table of the integration's product features, and the health each reports.

Both the status page (one block per feature) and the Settings page (one section per feature
that has settings) follow ``FEATURES`` in its order, whatever order Django loads the apps in;
on the Settings page a section that is a step of the setup guide (``settings_step``) comes
first, right after the key, as the guide goes.
Each row names, as ``"module:attribute"`` strings resolved when called (the way ``ats.ADAPTERS``
names adapters), the function that reports the feature's health and the one that builds its
Settings section. The strings keep this module a leaf: it imports no feature, and the webhooks
app, which depends on ``integrations``, can still own a feature (healthchecks' ``TRANSPORTS``
is the same kind of table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.module_loading import import_string

from integrations import ats

if TYPE_CHECKING:
    from integrations.models import AtsIntegration

INVITE_FROM_LEVER_URL = "invite_from_lever_url"
POST_CANDIDACY_UPDATES = "post_candidacy_updates"
AUTO_STATE_UPDATING = "auto_state_updating"
ROLE_MATCHING = "role_matching"
AUTOMATIC_INVITES = "automatic_invites"
LATE_LINKS = "late_links"
INTERVIEW_PANELS = "interview_panels"
ROLE_FOLLOWERS_FROM_ATS = "role_followers_from_ats"
RECRUITER_FOLLOWS_OWNER = "recruiter_follows_owner"
FEEDBACK_FORMS = "feedback_forms"
DELETIONS_HONOURED = "deletions_honoured"


@dataclass(frozen=True)
class Feature:
    """One row of the table.

    ``health``: ``"module.path.function"`` of a ``FeatureHealthProvider`` ("" while the feature
    is not built: shown as not available, never as working). ``settings_section``: the same for
    a ``SettingsSectionProvider`` ("" when the feature adds nothing to the Settings page).
    ``needs``: the ATS capabilities (``integrations.ats``) the feature reads through beyond
    ``AtsBase``; with an ATS that lacks one, the feature is shown as not available for it.
    ``status_template``: the partial that shows the feature's ``detail`` on the status page
    (named here, not stored in snapshots, so a renamed partial never breaks a stored one).
    ``activity``: ``"module.path.function"`` of an ``ActivityProvider``, the feature's share of
    the status page's last-24-hours chart ("" when it has none).
    ``settings_step``: the setup guide's step the Settings section is (3 for the webhooks), 0
    for an optional section; guide steps come first on the Settings page, in step order, so
    the page reads as the guide does while the status page keeps the guide's feature order.
    """

    key: str
    name: str
    description: str
    health: str = ""
    settings_section: str = ""
    needs: tuple[type, ...] = ()
    status_template: str = ""
    activity: str = ""
    settings_step: int = 0


# In the setup guide's order of features; the status page lists them so, and the Settings page
# shows the sections of those that have one in the same order.
FEATURES: tuple[Feature, ...] = (
    Feature(
        INVITE_FROM_LEVER_URL,
        "Invite candidates using Lever URL",
        "Karat reads pasted Lever candidate URLs, matches each posting to a Karat role, and "
        "creates and invites the candidacies.",
        health="integrations.invites.health.invite_from_lever_url_health",
        needs=(ats.CandidateLinks, ats.OpportunityDetails, ats.Postings, ats.KeyChecks),
    ),
    Feature(
        POST_CANDIDACY_UPDATES,
        "Post candidacy updates to Lever",
        "Karat writes each interview milestone (invited, scheduled, completed, results) "
        "back to the Lever opportunity as notes, tags and links.",
        health="integrations.outbound.health.post_candidacy_updates_health",
        settings_section="integrations.outbound.views.settings_section",
        needs=(ats.Writes, ats.Users, ats.OpportunityDetails),
        status_template="integrations/outbound/_status_feature.html",
        activity="integrations.outbound.selectors.outbound_update_hourly",
    ),
    Feature(
        AUTO_STATE_UPDATING,
        "Auto state updating",
        "Karat keeps each candidacy's Lever stage, archive state and hired flag current "
        "from Lever's webhooks.",
        health="webhooks.health.auto_state_updating_health",
        settings_section="webhooks.console_views.settings_section",
        needs=(ats.InboundDeliveries, ats.Opportunities),
        status_template="webhooks/_status_feature.html",
        activity="webhooks.selectors.webhook_delivery_hourly",
        settings_step=3,
    ),
    Feature(
        ROLE_MATCHING,
        "Ensure Lever roles match Karat roles",
        "Karat syncs Lever postings, maps them to Karat roles and counts unmatched postings "
        "on this page.",
        health="integrations.roles.health.role_matching_health",
        needs=(ats.Postings,),
        status_template="integrations/roles/_status_feature.html",
    ),
    Feature(
        AUTOMATIC_INVITES,
        "Automatic invites",
        "Karat invites candidates who enter a chosen Lever stage, when an admin turns it on.",
        health="integrations.auto_invites.health.automatic_invites_health",
        settings_section="integrations.auto_invites.views.settings_section",
        needs=(ats.OpportunityDetails, ats.Postings),
    ),
    Feature(
        LATE_LINKS,
        "Attach a Lever link later",
        "Members link a candidacy invited without a Lever link to its Lever candidate; Karat "
        "then posts the milestones it already reached, when an admin turns it on.",
        health="integrations.late_links.health.late_links_health",
        settings_section="integrations.late_links.views.settings_section",
        needs=(ats.CandidateLinks, ats.OpportunityDetails, ats.Postings, ats.Writes),
    ),
    Feature(
        INTERVIEW_PANELS,
        "Karat interview on Lever's schedule",
        "When an admin turns it on, a scheduled Karat interview becomes a Lever panel: "
        "rescheduling moves it, cancellation or expiry removes it.",
        health="integrations.panels.health.interview_panels_health",
        settings_section="integrations.panels.views.settings_section",
        needs=(ats.Panels, ats.Writes),
    ),
    Feature(
        ROLE_FOLLOWERS_FROM_ATS,
        "Hiring team from Lever",
        "Karat makes each role's followers the hiring team (owner, hiring manager, followers) "
        "of its Lever postings, when an admin turns it on.",
        health="integrations.hiring_team.health.role_followers_from_ats_health",
        settings_section="integrations.hiring_team.views.settings_section",
        needs=(ats.Postings,),
    ),
    Feature(
        RECRUITER_FOLLOWS_OWNER,
        "Recruiter follows the Lever owner",
        "Karat makes each candidacy's recruiter the owner of its Lever opportunity, when an "
        "admin turns it on.",
        health="integrations.hiring_team.health.recruiter_follows_owner_health",
        needs=(ats.Opportunities,),
    ),
    Feature(
        FEEDBACK_FORMS,
        "Results as a Lever feedback form",
        "Karat posts each candidate's results as a feedback form on the Lever opportunity "
        "(updated after a redo, removed on cancellation), when an admin turns it on.",
        health="integrations.feedback.health.feedback_forms_health",
        settings_section="integrations.feedback.views.settings_section",
        needs=(ats.FeedbackForms,),
    ),
    Feature(
        DELETIONS_HONOURED,
        "Deletions and anonymisation honoured",
        "When a candidate is deleted or anonymised in Lever, Karat unlinks (or anonymises) "
        "the candidacy and never writes to that opportunity again.",
        health="integrations.deletions.health.deletions_honoured_health",
        settings_section="integrations.deletions.views.settings_section",
        needs=(ats.Deletions, ats.Opportunities),
    ),
)
FEATURES_BY_KEY: Mapping[str, Feature] = {feature.key: feature for feature in FEATURES}


# --- what a feature reports -------------------------------------------------------------------


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
    # What the feature's status partial (``Feature.status_template``) shows.
    detail: Mapping[str, Any] = field(default_factory=dict)
    # False for a feature the product does not have yet: never counted as working.
    available: bool = True

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


FeatureHealthProvider = Callable[["AtsIntegration"], FeatureHealth]

LEVEL_RANK = {"ok": 0, "muted": 0, "info": 0, "warn": 1, "bad": 2}


def key_refused_check(message: str, fix_url: str) -> FeatureCheck:
    """The failing "API key valid" check a feature that calls the ATS with the key shows when
    the key can't be used (``connection.selectors.key_refusal`` says why)."""
    return FeatureCheck("key_valid", "API key valid", "bad", message, fix_url, "Settings → API key")


def checks_level(checks: Iterable[FeatureCheck]) -> str:
    """The worst level among ``checks``: bad, then warn, else ok (info and muted are fine)."""
    levels = {check.level for check in checks}
    return "bad" if "bad" in levels else "warn" if "warn" in levels else "ok"


def issues_from_checks(checks: Iterable[FeatureCheck]) -> tuple[FeatureIssue, ...]:
    """One issue per failing (warn or bad) check: its message and its fix link."""
    return tuple(
        FeatureIssue(check.message, check.fix_url, check.fix_text)
        for check in checks
        if check.level in ("warn", "bad")
    )


def feature_health(
    key: str,
    level: str,
    label: str,
    summary: str,
    *,
    checks: Iterable[FeatureCheck] = (),
    issues: Iterable[FeatureIssue] | None = None,
    description: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> FeatureHealth:
    """The health of feature ``key`` as the status page shows it: the one builder every
    ``health.py`` calls (bind what does not change with ``functools.partial``).

    ``description`` defaults to the table's; ``issues`` default to one per failing check
    (``issues_from_checks``). Raises ``KeyError`` for a key not in ``FEATURES``."""
    feature = FEATURES_BY_KEY[key]
    checks = tuple(checks)
    return FeatureHealth(
        key=key,
        name=feature.name,
        description=feature.description if description is None else description,
        level=level,
        label=label,
        summary=summary,
        issues=issues_from_checks(checks) if issues is None else tuple(issues),
        checks=checks,
        detail={} if detail is None else detail,
    )


def feature_not_available(*, key: str) -> FeatureHealth:
    """A feature the product does not have yet: muted, and never counted as working."""
    return FeatureHealth(
        key=key,
        name=FEATURES_BY_KEY[key].name,
        description=FEATURES_BY_KEY[key].description,
        level="muted",
        label="Not available yet",
        summary="",
        available=False,
    )


def feature_health_provider(key: str) -> FeatureHealthProvider | None:
    """The function that reports feature ``key``'s health (imported when asked, so a test can
    replace it on its module), or None while the feature is not built."""
    path = FEATURES_BY_KEY[key].health
    return import_string(path) if path else None


# --- the status page's last 24 hours ----------------------------------------------------------

ACTIVITY_SERIES = ("received", "sent", "failed")


class ActivityProvider(Protocol):
    """A feature's rows per hour from ``since`` on, in one grouped query: ``{series: {hour:
    count}}``, each series one of ``ACTIVITY_SERIES`` and each hour the aware start of a UTC
    hour (``TruncHour(..., tzinfo=UTC)``). The status selectors add the features' counts up."""

    def __call__(
        self, *, integration: AtsIntegration, since: datetime
    ) -> Mapping[str, Mapping[datetime, int]]: ...


def activity_providers() -> list[ActivityProvider]:
    """The features' activity counters, in the table's order (imported when asked)."""
    return [import_string(feature.activity) for feature in FEATURES if feature.activity]


# --- the Settings page's sections -------------------------------------------------------------


@dataclass(frozen=True)
class SettingsSection:
    """One feature's block of the Settings page: a partial and the context it renders with,
    and the ``anchor`` (the section's element id) and ``title`` (its heading) that the page's
    "On this page" index links it by."""

    template: str
    context: Mapping[str, Any]
    anchor: str
    title: str


SettingsSectionProvider = Callable[["AtsIntegration"], SettingsSection]


def settings_features() -> list[Feature]:
    """The features with a Settings section, in the page's order: the setup guide's steps
    first (in step order), then the optional ones in the table's order."""
    with_section = [feature for feature in FEATURES if feature.settings_section]
    return sorted(with_section, key=lambda f: (f.settings_step == 0, f.settings_step))


def integration_settings_sections(*, integration: AtsIntegration) -> list[SettingsSection]:
    """The Settings page's feature sections, in the page's order (``settings_features``)."""
    providers: list[SettingsSectionProvider] = [
        import_string(feature.settings_section) for feature in settings_features()
    ]
    return [provider(integration) for provider in providers]
