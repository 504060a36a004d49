"""The status page's "Invite candidates using Lever URL": key, its reads, confidential access."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse

from integrations import ats
from integrations.connection import selectors
from integrations.features import (
    INVITE_FROM_LEVER_URL,
    FeatureCheck,
    FeatureHealth,
    checks_level,
    feature_health,
)
from integrations.models import AtsIntegration, Region

KeyStatus = AtsIntegration.KeyStatus

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
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
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
    checks.append(_links_region_check(integration, lines, ats_name, checks))
    checks.append(_confidential_check(integration, lines, ats_name, checks, fix))
    level = checks_level(checks)
    if level == "ok" and integration.key_status == KeyStatus.CHECKING:
        return health(
            "info", "Checking", f"Karat is checking the key with {ats_name}.", checks=checks
        )
    if level == "bad":
        failing = {check.code for check in checks if check.level == "bad"}
        return health(
            "bad",
            "Not working",
            f"Karat refuses the {ats_name} links recruiters paste: the integration's region "
            "is not the account's."
            if failing == {"links_region"}
            else f"Karat can't read what it needs from {ats_name} to invite candidates.",
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
    refused = selectors.key_refusal(integration=integration, lines=lines)
    if refused:
        return FeatureCheck("key_valid", name, "bad", refused, **fix)
    return FeatureCheck(
        "key_valid",
        name,
        "bad",
        f"{ats_name} accepted ••••{integration.api_key_last4}, but it lacks a permission "
        "Karat needs (see below): add it to the key in Lever, or paste a key that has it.",
        **fix,
    )


# Any valid opportunity id: only the host of a region's candidate links is shown.
_EXAMPLE_ID = "00000000-0000-0000-0000-000000000000"


def _region_label(region: str) -> str:
    return Region(region).label if region in Region.values else region


def _links_host(adapter: ats.AtsAdapter, region: str) -> str:
    return urlsplit(adapter.candidate_url(region, _EXAMPLE_ID)).netloc


def _links_region_check(
    integration: AtsIntegration, lines: dict[str, Any], ats_name: str, checks: list[FeatureCheck]
) -> FeatureCheck:
    """Whether the integration's region opens the candidate links its own ATS account gives
    (one live read of one record's link): with another region, every pasted link is refused.
    A refused key is reported on the key line (``checks[0]``) instead."""
    name = "Candidate links of this region"
    if integration.key_status != KeyStatus.VALID or not (lines.get("read_opportunities") or {}).get(
        "ok"
    ):
        return FeatureCheck(
            "links_region", name, "info", "Can't tell until the key can read opportunities."
        )
    adapter = ats.adapter_for(integration.ats)
    try:
        found = adapter.candidate_links_region(
            ats.account_for(integration), profile=ats.INTERACTIVE
        )
    except ats.AtsKeyError as exc:
        settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
        checks[0] = FeatureCheck(
            "key_valid",
            "API key valid",
            "bad",
            f"{exc.message}",
            fix_url=settings_url,
            fix_text="Settings → API key",
        )
        return FeatureCheck("links_region", name, "info", "Can't tell: the key was refused.")
    except ats.AtsError as exc:
        return FeatureCheck("links_region", name, "info", f"Can't tell: {exc.message}")
    own = _region_label(integration.region)
    if found is None:
        return FeatureCheck(
            "links_region",
            name,
            "info",
            f"Can't tell yet: no {ats_name} candidate with a link was found. Links from "
            f"{_links_host(adapter, integration.region)} ({own}) will work.",
        )
    if found == integration.region:
        return FeatureCheck(
            "links_region",
            name,
            "ok",
            f"{ats_name} links candidates on {_links_host(adapter, found)}, this "
            f"integration's region ({own}): pasted links open.",
        )
    theirs = _region_label(found)
    return FeatureCheck(
        "links_region",
        name,
        "bad",
        f"{ats_name} links this account's candidates on {_links_host(adapter, found)} "
        f"({theirs}), but the integration's region is {own}: Karat refuses every link "
        f"recruiters paste. Set the region to “Detect from the key” or to {theirs}.",
        fix_url=reverse("integrations:settings", kwargs={"public_id": integration.public_id}),
        fix_text="Settings → Region",
    )


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
        # Fail fast, like every status check: a snapshot may be computed inside a page view.
        allowed = adapter.confidential_access(ats.account_for(integration), profile=ats.INTERACTIVE)
    except ats.AtsKeyError as exc:
        # The status service sees this failing key line and asks for a key recheck.
        checks[0] = FeatureCheck("key_valid", "API key valid", "bad", f"{exc.message}", **fix)
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
