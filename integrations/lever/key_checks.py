"""What a Lever API key may do: the permission probes run when a key is saved, the region hint,
and confidential access (integrations/lever/README.md §4.3, §2, §4.2)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings

from integrations import ats
from integrations.ats import (
    AtsAccount,
    AtsKeyError,
    CallProfile,
    KeyCheckResult,
    KeyChecks,
    KeyCheckStatus,
    PermissionCheck,
)
from integrations.lever import links
from integrations.lever.base import REGIONS, LeverBase
from integrations.lever.calls import client_for, translated
from integrations.lever.client import LeverClient, base_url_for_region
from integrations.lever.errors import (
    LeverAuthError,
    LeverError,
    LeverNotFound,
    LeverPermissionError,
    LeverRedirected,
    LeverTransientError,
)

logger = logging.getLogger(__name__)


# Why each read matters to the product; the probe is the cheapest call that needs it.
_READ_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("read_users", "Read users", "to check the User ID and find who makes changes"),
    ("read_opportunities", "Read opportunities", "to invite candidates from a Lever URL"),
    ("read_postings", "Read postings", "to match Lever postings to Karat roles"),
    ("read_stages", "Read stages", "to show each candidate's Lever stage"),
    ("read_archive_reasons", "Read archive reasons", "to show why a candidate was archived"),
    ("read_webhooks", "Read webhooks", "to set up and check the three webhooks"),
)
# Writes can't be probed without changing data in Lever, so they are only reported.
_WRITE_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("write_notes", "Write notes"),
    ("write_opportunities", "Update opportunities (tags, links, stage)"),
    ("write_webhooks", "Manage webhooks"),
)
# The list probes ask for every record (the client's default ``confidentiality=all``), like
# every other list read: a key is checked the way it is used.
_PROBES: dict[str, Callable[[LeverClient], object]] = {
    "read_users": lambda c: next(iter(c.iter_users()), None),
    "read_opportunities": lambda c: next(iter(c.iter_opportunities()), None),
    "read_postings": lambda c: next(iter(c.iter_postings()), None),
    "read_stages": lambda c: c.list_stages(),
    "read_archive_reasons": lambda c: c.list_archive_reasons(),
    "read_webhooks": lambda c: c.list_webhooks(),
}


class LeverKeyChecks(LeverBase, KeyChecks):
    """Read-only checks of the account's key."""

    def key_check(
        self, account: AtsAccount, *, budget_seconds: float, detect_region: bool = False
    ) -> KeyCheckResult:
        """Probe each read permission with its cheapest call, then the acting user.

        GETs only. A 401 makes the key (and its region) invalid; a 403 on a list endpoint is
        a missing permission; no answer is ``unreachable``. Never raises for Lever trouble.
        When the account's region refuses the key, the other regions are asked (one GET
        each): with ``detect_region`` the checks run again where the key is accepted (the
        result's ``region``) and a key no region accepts is invalid; without it, the region
        that accepts it is suggested.
        """
        client = client_for(account, ats.KEY_CHECK)
        deadline = time.monotonic() + budget_seconds
        host = self._host(account.region)
        result = _key_check(client, account, host=host, deadline=deadline)
        if not _refused(result):
            accepted = any(c.code == "auth" and c.ok for c in result.checks)
            return replace(result, region=account.region if accepted else "")
        found, asked = _region_accepting(account, host_of=self._host, deadline=deadline)
        if detect_region:
            return self._detected(result, account, found, asked=[host, *asked], deadline=deadline)
        if found is None:
            return result
        label = links.REGION_LABELS[links.Region(found)]
        line = PermissionCheck(
            "region",
            "Region",
            False,
            f"{host} does not accept this key, but {self.api_host(found)} ({label}) does: "
            f"your Lever account is in the {label} region. Switch the region to {label}.",
            suggested_region=found,
        )
        return _with_line(result, line)

    def _detected(
        self,
        refused: KeyCheckResult,
        account: AtsAccount,
        found: str | None,
        *,
        asked: list[str],
        deadline: float,
    ) -> KeyCheckResult:
        """The check where ``found`` accepts the key, or "no region accepts it"."""
        if found is None:
            line = PermissionCheck(
                "region",
                "Region",
                False,
                f"No Lever region accepts this key ({', '.join(asked)} refused it). Copy the "
                "key again from Lever (Settings → Integrations); if it still fails, generate "
                "a new one.",
            )
            return _with_line(refused, line)
        there = replace(account, region=found)
        host = self._host(found)
        result = _key_check(client_for(there, ats.KEY_CHECK), there, host=host, deadline=deadline)
        if not any(c.code == "region" and c.ok for c in result.checks):
            return result  # no verdict there after all (no answer, out of time)
        label = links.REGION_LABELS[links.Region(found)]
        line = PermissionCheck(
            "region",
            "Region",
            True,
            f"Detected from the key: {host} accepts it, so your Lever account is in the "
            f"{label} region.",
        )
        return replace(_with_line(result, line), region=found)

    def _host(self, region: str) -> str:
        return f"{self.api_host(region)} ({region.upper()})"

    def confidential_access(self, account: AtsAccount, *, profile: CallProfile) -> bool | None:
        """One page of ``GET /postings?confidentiality=confidential`` (limit 1).

        Lever grants confidential access only when a key is created
        (integrations/lever/README.md §4.2). A key without it gets a 403 or, as the sandbox
        does, an empty list; an empty list is also what an account without confidential
        postings returns, so that is None.
        A 401 raises AtsKeyError.
        """
        client = client_for(account, profile)
        try:
            with translated(client, record=False):
                first = next(iter(client.iter_postings(confidentiality="confidential")), None)
        except AtsKeyError as exc:
            if exc.status_code == 403:
                return False
            raise
        return True if first is not None else None

    def candidate_links_region(self, account: AtsAccount, *, profile: CallProfile) -> str | None:
        """The region of one opportunity's ``urls.show`` (its hire.*.lever.co host), as Lever
        links to it; None without an opportunity or a candidate link there (the value is
        Lever's, so anything else is "can't tell"). A 401 raises AtsKeyError."""
        client = client_for(account, profile)
        with translated(client, record=False):
            first = next(iter(client.iter_opportunities()), None)
        show = first.urls.show if first is not None and first.urls is not None else None
        if not isinstance(show, str) or not show:
            return None
        try:
            return str(links.parse_candidate_url(show).region)
        except links.LeverUrlError:
            return None

    def key_probe(self, account: AtsAccount, *, profile: CallProfile) -> None:
        """The first page of ``GET /users`` (the key check's first probe): one request under
        the key's shared rate bucket. A 401 (or 403) raises AtsKeyError."""
        client = client_for(account, profile)
        with translated(client, record=False):
            _PROBES[_READ_PERMISSIONS[0][0]](client)


def _key_check(
    client: LeverClient, account: AtsAccount, *, host: str, deadline: float
) -> KeyCheckResult:
    checks: list[PermissionCheck] = []
    permissions_ok: dict[str, bool] = {}

    def unreachable(exc: LeverError) -> KeyCheckResult:
        logger.warning(
            "key check: Lever unreachable (%s)",
            type(exc).__name__,
            extra={"integration_id": account.public_id},
        )
        message = (
            f"No answer from Lever at {host} ({exc.status_code or type(exc).__name__}). "
            "Try again in a few minutes."
        )
        if isinstance(exc, LeverRedirected):
            # Whatever the other host would say is not Lever's verdict on the key.
            message = (
                f"Lever did not answer from {host}: {exc.message}. This says nothing about "
                "the key. Try again in a few minutes; if it goes on, check the region."
            )
        checks.append(PermissionCheck("reachable", "Lever reachable", False, message))
        return KeyCheckResult(KeyCheckStatus.UNREACHABLE, tuple(checks), ats_label="Lever")

    def took_too_long() -> KeyCheckResult:
        logger.warning("key check: over budget", extra={"integration_id": account.public_id})
        checks.append(too_long_check(host))
        return KeyCheckResult(KeyCheckStatus.UNREACHABLE, tuple(checks), ats_label="Lever")

    for position, (code, name, why) in enumerate(_READ_PERMISSIONS):
        if time.monotonic() > deadline:
            return took_too_long()
        # A line about the permission itself, unless the answer says nothing about it.
        about_permission = True
        try:
            _PROBES[code](client)
        except LeverPermissionError:
            permissions_ok[code] = False
            message = f"Missing: Karat needs this {why}. Add it to the key in Lever."
        except LeverAuthError:
            checks.append(
                PermissionCheck("auth", "API key", False, "Lever rejected the key (401).")
            )
            checks.append(
                PermissionCheck(
                    "region",
                    "Region",
                    False,
                    f"{host} does not accept this key: wrong region or bad key. Check that the "
                    "region matches your Lever account and copy the key again.",
                )
            )
            checks += [
                PermissionCheck(c, n, None, "Not checked: the key was rejected.", permission=True)
                for c, n, _ in _READ_PERMISSIONS
            ]
            return KeyCheckResult(KeyCheckStatus.INVALID, tuple(checks), ats_label="Lever")
        except LeverTransientError as exc:
            return unreachable(exc)
        except LeverError as exc:
            # 404 or an odd reply on a list endpoint: the host is probably not Lever's API.
            permissions_ok[code] = False
            about_permission = False
            message = f"Unexpected answer from Lever ({exc.status_code or 'no status'})."
            if position == 0:
                checks.append(
                    PermissionCheck("auth", "API key", None, "Unclear: see the checks below.")
                )
                checks.append(
                    PermissionCheck(
                        "region", "Region", False, f"{host} did not answer like Lever's API."
                    )
                )
        else:
            permissions_ok[code] = True
            message = "Allowed."
        if position == 0 and not checks:
            # The first call answered with 2xx or 403: Lever knows the key in this region.
            checks.append(PermissionCheck("auth", "API key", True, "Lever accepted the key."))
            checks.append(PermissionCheck("region", "Region", True, f"The key works with {host}."))
        checks.append(
            PermissionCheck(code, name, permissions_ok[code], message, permission=about_permission)
        )

    checks += [
        PermissionCheck(
            code,
            name,
            None,
            "Not checked until the first write (can't be tested without changing data in Lever).",
            permission=True,
        )
        for code, name in _WRITE_PERMISSIONS
    ]

    user_id = account.acting_user_id
    if user_id and time.monotonic() > deadline:
        return took_too_long()
    if user_id:
        if not permissions_ok.get("read_users"):
            checks.append(
                PermissionCheck(
                    "user_id",
                    "User ID",
                    False,
                    "Can't check the User ID: the key lacks the Read users permission.",
                )
            )
        else:
            try:
                user = client.get_user(user_id)
            except LeverNotFound:
                checks.append(
                    PermissionCheck("user_id", "User ID", False, "No Lever user has this User ID.")
                )
            except LeverTransientError as exc:
                return unreachable(exc)
            except LeverError as exc:
                checks.append(
                    PermissionCheck(
                        "user_id",
                        "User ID",
                        False,
                        f"Lever would not show this user ({exc.status_code or 'error'}).",
                    )
                )
            else:
                if user.is_active:
                    who = user.name or user.email or "the user"
                    checks.append(
                        PermissionCheck("user_id", "User ID", True, f"Changes are made as {who}.")
                    )
                else:
                    checks.append(
                        PermissionCheck(
                            "user_id",
                            "User ID",
                            False,
                            "This Lever user is deactivated; choose an active user or leave "
                            "the User ID blank.",
                        )
                    )

    failed = any(c.ok is False for c in checks)
    return KeyCheckResult(
        KeyCheckStatus.INVALID if failed else KeyCheckStatus.VALID, tuple(checks), ats_label="Lever"
    )


def _refused(result: KeyCheckResult) -> bool:
    return any(c.code == "auth" and c.ok is False for c in result.checks)


def _with_line(result: KeyCheckResult, line: PermissionCheck) -> KeyCheckResult:
    """``result`` with its line of the same code replaced by ``line``."""
    return replace(result, checks=tuple(line if c.code == line.code else c for c in result.checks))


def _region_accepting(
    account: AtsAccount, *, host_of: Callable[[str], str], deadline: float
) -> tuple[str | None, list[str]]:
    """The first other region whose API root knows the key (a 2xx or 403 on the cheapest
    read), or None; and the hosts asked. One GET per region, no retries, within the check's
    budget. A region served by the same root as the account's (the local sandbox without
    ``{region}`` in LEVER_API_BASE_URL) is not asked: it would only answer the same."""
    profile = replace(ats.KEY_CHECK, max_retries=0)
    first_probe = _PROBES[_READ_PERMISSIONS[0][0]]
    override = settings.LEVER_API_BASE_URL or None
    own_root = base_url_for_region(account.region, override=override)
    asked: list[str] = []
    for region, _ in REGIONS:
        if region == account.region or time.monotonic() > deadline:
            continue
        if base_url_for_region(region, override=override) == own_root:
            continue
        asked.append(host_of(region))
        try:
            first_probe(client_for(replace(account, region=region), profile))
        except LeverPermissionError:
            return region, asked  # known there, only missing a permission
        except LeverError:
            continue  # refused (401), unreachable or not Lever: not this one
        return region, asked
    return None, asked


def too_long_check(host: str) -> PermissionCheck:
    """The line a check that ran out of time shows (also used for the task's soft limit)."""
    return PermissionCheck(
        "reachable",
        "Lever reachable",
        False,
        f"The check took too long: Lever at {host} answered too slowly. "
        "Try again in a few minutes.",
    )
