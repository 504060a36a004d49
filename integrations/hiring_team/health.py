"""The status page's two hiring team features: role followers from the ATS hiring teams, and
recruiters following the ATS opportunity owners. Each is "Off" until an admin turns it on,
and never "On" (working) while what it depends on fails."""

from __future__ import annotations

from django.urls import reverse

from integrations import ats
from integrations.connection.selectors import key_refusal
from integrations.features import (
    RECRUITER_FOLLOWS_OWNER,
    ROLE_FOLLOWERS_FROM_ATS,
    FeatureCheck,
    FeatureHealth,
    checks_level,
    feature_health,
    key_refused_check,
)
from integrations.hiring_team.selectors import (
    candidacy_owner_not_in_karat,
    hiring_team_settings_find,
    opportunity_owners_key_refusal,
    posting_teams_incomplete_count,
    posting_teams_key_refusal,
)
from integrations.models import AtsIntegration, PostingSyncRun
from integrations.roles.selectors import posting_sync_run_latest


def _settings_url(integration: AtsIntegration) -> str:
    url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    return f"{url}#hiring-team"


def _label(level: str) -> str:
    """The feature's badge: "On" when every check is fine, "Not working" when one fails (an
    admin must act), "Needs attention" otherwise."""
    return {"ok": "On", "bad": "Not working"}.get(level, "Needs attention")


def _off(key: str, integration: AtsIntegration, what: str) -> FeatureHealth:
    why = "turned off" if integration.enabled else "off while the integration is disabled"
    return feature_health(
        key,
        "muted",
        "Off",
        f"{what} {why}.",
        checks=[
            FeatureCheck(
                "setting", "Setting", "muted", "Off.", _settings_url(integration), "Turn it on"
            )
        ],
    )


def role_followers_from_ats_health(integration: AtsIntegration) -> FeatureHealth:
    """Off; or on with: the key usable, the last posting sync (teams come with it), postings
    whose team could not be read, and people listed as not in Karat. At most five queries;
    after a failed sync, one ATS read tells a key refused the postings permission (not
    working: every sync will fail) from an outage (needs attention: the next sync may work)."""
    found = hiring_team_settings_find(integration=integration)
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    if found is None or not found.role_followers_enabled or not integration.enabled:
        return _off(ROLE_FOLLOWERS_FROM_ATS, integration, "Role followers from the hiring team are")
    refused = key_refusal(integration=integration)
    if refused:
        return feature_health(
            ROLE_FOLLOWERS_FROM_ATS,
            "bad",
            "Not working",
            f"Hiring teams can't be read: {refused}",
            checks=[key_refused_check(refused, _settings_url(integration))],
        )
    roles_url = reverse("hiring:role-list") + f"?group={integration.group.code}"
    run = posting_sync_run_latest(integration=integration)
    checks: list[FeatureCheck] = []
    if run is None or (
        run.status != PostingSyncRun.Status.SUCCEEDED and not found.followers_synced_at
    ):
        checks.append(
            FeatureCheck(
                "teams_read",
                "Hiring teams read",
                "info",
                f"Waiting for the first posting sync: the hiring teams come with the {label} "
                "postings.",
            )
        )
        return feature_health(
            ROLE_FOLLOWERS_FROM_ATS, "info", "Waiting", "No hiring team read yet.", checks=checks
        )
    refused_now = (
        posting_teams_key_refusal(integration=integration)
        if run.status == PostingSyncRun.Status.FAILED
        else ""
    )
    if refused_now:
        checks.append(
            FeatureCheck(
                "teams_read",
                "Hiring teams read",
                "bad",
                f"Hiring teams can't be read: {refused_now} Followers are as of the last "
                "sync that worked.",
                reverse("integrations:settings", kwargs={"public_id": integration.public_id}),
                "Settings → API key",
            )
        )
    elif run.status == PostingSyncRun.Status.FAILED:
        checks.append(
            FeatureCheck(
                "teams_read",
                "Hiring teams read",
                "warn",
                f"The last posting sync failed ({run.error[:200] or 'no reason given'}): "
                "followers are as of the sync before.",
                reverse("integrations:roles", kwargs={"public_id": integration.public_id}),
                "Roles → Sync now",
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "teams_read",
                "Hiring teams read",
                "ok",
                "With the postings, at every posting sync.",
                at=found.followers_synced_at.isoformat() if found.followers_synced_at else "",
            )
        )
    incomplete = posting_teams_incomplete_count(integration=integration)
    checks.append(
        FeatureCheck(
            "teams_complete",
            "Every posting's team readable",
            "warn" if incomplete else "ok",
            f"{label} did not send the hiring team of {incomplete} posting"
            f"{'s' if incomplete != 1 else ''}: their followers are as last read."
            if incomplete
            else "Yes.",
        )
    )
    missing = found.followers_not_in_karat
    checks.append(
        FeatureCheck(
            "not_in_karat",
            "Hiring team members in Karat",
            "info" if missing else "ok",
            f"{missing} hiring team member{'s' if missing != 1 else ''} of mapped postings "
            f"{'have' if missing != 1 else 'has'} no Karat account: listed as “not in Karat” "
            "on the roles, never created."
            if missing
            else "Everyone has a Karat account.",
            roles_url if missing else "",
            "Roles" if missing else "",
        )
    )
    level = checks_level(checks)
    return feature_health(
        ROLE_FOLLOWERS_FROM_ATS,
        level,
        _label(level),
        f"Each role's followers follow the hiring team of its {label} postings; manual "
        "followers stay.",
        checks=checks,
    )


def recruiter_follows_owner_health(integration: AtsIntegration) -> FeatureHealth:
    """Off; or on with: the key usable, the last owner read (usable or not), and candidacies
    whose owner has no Karat account. At most four queries; when the integration recorded a
    failure after the last owner read, one ATS read tells a key refused the opportunities
    permission (not working: no owner can be read) from anything else."""
    found = hiring_team_settings_find(integration=integration)
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    if found is None or not found.recruiter_follows_owner or not integration.enabled:
        return _off(RECRUITER_FOLLOWS_OWNER, integration, "Recruiters following the owner are")
    refused = key_refusal(integration=integration)
    if refused:
        return feature_health(
            RECRUITER_FOLLOWS_OWNER,
            "bad",
            "Not working",
            f"Opportunity owners can't be read: {refused}",
            checks=[key_refused_check(refused, _settings_url(integration))],
        )
    checks: list[FeatureCheck] = []
    read, unreadable = found.owner_read_at, found.owner_unreadable_at
    failed_at = integration.last_error_at
    refused_now = (
        opportunity_owners_key_refusal(integration=integration)
        if failed_at is not None and (read is None or failed_at > read)
        else ""
    )
    if refused_now:
        checks.append(
            FeatureCheck(
                "owner_read",
                "Opportunity owner read",
                "bad",
                f"Opportunity owners can't be read: {refused_now} Recruiters are left as "
                "they were.",
                reverse("integrations:settings", kwargs={"public_id": integration.public_id}),
                "Settings → API key",
            )
        )
    elif unreadable and (read is None or unreadable >= read):
        checks.append(
            FeatureCheck(
                "owner_read",
                "Opportunity owner read",
                "warn",
                f"{label}'s last answer did not say who owns the opportunity: recruiters "
                "were left as they were.",
                at=unreadable.isoformat(),
            )
        )
    elif read is None:
        checks.append(
            FeatureCheck(
                "owner_read",
                "Opportunity owner read",
                "info",
                f"Waiting for the next webhook or periodic read of a linked {label} opportunity.",
            )
        )
        return feature_health(
            RECRUITER_FOLLOWS_OWNER, "info", "Waiting", "No owner read yet.", checks=checks
        )
    else:
        checks.append(
            FeatureCheck(
                "owner_read",
                "Opportunity owner read",
                "ok",
                "On every webhook and periodic read.",
                at=read.isoformat(),
            )
        )
    unmatched = candidacy_owner_not_in_karat(integration=integration).count()
    checks.append(
        FeatureCheck(
            "owner_in_karat",
            "Owners in Karat",
            "info" if unmatched else "ok",
            f"{unmatched} candidac{'ies' if unmatched != 1 else 'y'} whose {label} owner has "
            "no Karat account kept their recruiter (the candidacy says so)."
            if unmatched
            else "Every owner read has a Karat account.",
            reverse("hiring:candidate-list") if unmatched else "",
            "Candidates" if unmatched else "",
        )
    )
    level = checks_level(checks)
    return feature_health(
        RECRUITER_FOLLOWS_OWNER,
        level,
        _label(level),
        f"Each candidacy's recruiter follows its {label} opportunity's owner.",
        checks=checks,
    )
