"""Writes for ATS integrations: create, settings and API key, enable/disable, delete, key checks."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import Ats, AtsIntegration, AuditEntry, Region

if TYPE_CHECKING:
    from integrations.lever.client import LeverClient
    from karatlever.accounts.models import Group, User

logger = logging.getLogger(__name__)

API_KEY_MIN_LENGTH = 16
API_KEY_MAX_LENGTH = 512
# A key check makes up to 7 GETs. It stops starting new ones after this many seconds; with one
# retry and a 5 s read timeout per call it ends well inside the task's 60 s soft time limit.
KEY_CHECK_BUDGET_SECONDS = 20.0
KEY_CHECK_READ_TIMEOUT = 5.0
KEY_CHECK_ACQUIRE_TIMEOUT = 2.0
# A check still "checking" this long after it was asked for was lost (broker down, worker died).
KEY_CHECK_STUCK_AFTER = timedelta(minutes=10)
KEY_CHECK_MAX_RESUMES = 3
KeyStatus = AtsIntegration.KeyStatus


class IntegrationError(Exception):
    """A rule of the integration domain was broken; the message is safe to show to the admin."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class IntegrationAlreadyExists(IntegrationError):
    """The group already has an integration for this ATS."""


# --- input rules (shared by forms, serializers and the services themselves) ------------------


def api_key_normalize(raw: str | None) -> str | None:
    """The key as stored, or None for "keep the current key" (None or blank input).

    Surrounding whitespace (a pasted trailing newline) is stripped; anything else that can't be
    part of a Lever key is refused with a ValidationError that never repeats the key.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError("The API key must be text.", code="invalid")
    if len(raw) > API_KEY_MAX_LENGTH * 2:
        raise ValidationError(
            f"That is too long for a Lever API key (at most {API_KEY_MAX_LENGTH} characters).",
            code="max_length",
        )
    key = raw.strip()
    if not key:
        return None
    if len(key) > API_KEY_MAX_LENGTH:
        raise ValidationError(
            f"That is too long for a Lever API key (at most {API_KEY_MAX_LENGTH} characters).",
            code="max_length",
        )
    if any(ch.isspace() for ch in key):
        raise ValidationError(
            "The API key can't contain spaces or line breaks. Copy it again from Lever.",
            code="whitespace",
        )
    if not all(0x21 <= ord(ch) <= 0x7E for ch in key):
        raise ValidationError(
            "The API key contains characters a Lever key never has. Copy it again from Lever.",
            code="charset",
        )
    if len(key) < API_KEY_MIN_LENGTH:
        raise ValidationError(
            f"That is too short for a Lever API key (at least {API_KEY_MIN_LENGTH} characters).",
            code="min_length",
        )
    return key


def lever_user_id_normalize(raw: str | None) -> str:
    """A Lever user id (a UUID from GET /users), lower-case; blank means "not set"."""
    value = (raw or "").strip()
    if not value:
        return ""
    try:
        # Only the canonical 36-character form: uuid.UUID also takes "urn:uuid:…" and braces.
        parsed = uuid.UUID(value) if len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            "A Lever User ID looks like 8f3c2a4e-1b2c-4d5e-8f90-123456789abc (find it under "
            "Settings → Users in Lever). You can also leave it blank.",
            code="invalid",
        )
    return str(parsed)


def region_normalize(raw: str | None) -> str:
    if raw not in Region.values:
        raise ValidationError("Choose a region: US, EU or Sandbox.", code="invalid_choice")
    return str(raw)


def ats_normalize(raw: str | None) -> str:
    if raw not in Ats.values:
        raise ValidationError("Choose an ATS from the list.", code="invalid_choice")
    return str(raw)


def api_key_fingerprint(key: str) -> str:
    """A short, stable identifier of a key for audit entries (never reversible to the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --- audit ------------------------------------------------------------------------------------


def audit_entry_record(
    *,
    integration: AtsIntegration,
    actor: User | None,
    action: str,
    summary: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One audit line. ``detail`` must never hold a secret (fingerprint + last 4 at most)."""
    return AuditEntry.objects.create(
        group_id=integration.group_id,
        integration=integration,
        integration_public_id=integration.public_id,
        actor=actor,
        action=action,
        summary=summary[:300],
        detail=detail or {},
    )


def _key_detail(*, last4: str, fingerprint: str) -> dict[str, str]:
    return {"api_key_last4": last4, "api_key_fingerprint": fingerprint}


# --- create, settings, enable, delete ---------------------------------------------------------


def integration_create(
    *,
    group: Group,
    ats: str,
    actor: User | None,
    api_key: str | None = None,
    lever_user_id: str | None = None,
    region: str | None = None,
) -> AtsIntegration:
    """Create the group's integration for ``ats``, optionally with its key, User ID and region.

    The rate limit starts at LEVER_RATE_LIMIT_PER_SECOND / LEVER_RATE_LIMIT_BURST. Raises
    IntegrationError for an unknown ATS, IntegrationAlreadyExists when the group already has one
    (also when a concurrent request won the race), and ValidationError (by field) for bad
    settings; nothing is created then. Settings go through integration_settings_update.
    """
    try:
        ats = ats_normalize(ats)
    except ValidationError as exc:
        raise IntegrationError(exc.messages[0], field="ats") from None
    label = Ats(ats).label
    duplicate = IntegrationAlreadyExists(
        f"{group.name} already has a {label} integration. Open it from the list to change it.",
        field="ats",
    )
    if AtsIntegration.objects.filter(group=group, ats=ats).exists():
        raise duplicate
    try:
        with transaction.atomic():
            integration = AtsIntegration.objects.create(
                group=group,
                ats=ats,
                created_by=actor,
                rate_limit_per_second=settings.LEVER_RATE_LIMIT_PER_SECOND,
                rate_limit_burst=settings.LEVER_RATE_LIMIT_BURST,
            )
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.CREATED,
                summary=f"{label} integration created for {group.name}",
            )
            if api_key is not None or lever_user_id is not None or region is not None:
                integration_settings_update(
                    integration=integration,
                    actor=actor,
                    api_key=api_key,
                    lever_user_id=lever_user_id or "",
                    region=region if region is not None else integration.region,
                )
    except IntegrityError:
        raise duplicate from None
    logger.info("integration created integration_id=%s group=%s", integration.public_id, group.pk)
    return integration


@dataclass(frozen=True)
class SettingsOutcome:
    """What integration_settings_update changed, so pages can word their message."""

    changed: tuple[str, ...] = ()
    key_set: bool = False
    key_pending: bool = False
    check_enqueued: bool = False


def integration_settings_update(
    *,
    integration: AtsIntegration,
    actor: User | None,
    api_key: str | None,
    lever_user_id: str | None,
    region: str,
) -> SettingsOutcome:
    """Save the API key (optional), User ID and region, then check the key with Lever.

    A blank ``api_key`` keeps the current key. A first key becomes the key in use with status
    ``checking``; a key that replaces a working (validated) one waits in ``pending_api_key``
    and the working key stays in use until the new one validates. Invalid input raises
    ValidationError (keyed by field) and changes nothing. Audit entries hold the key's last 4
    characters and fingerprint only. The Lever check runs in a task enqueued on commit.
    """
    errors: dict[str, list[str]] = {}
    new_key = _clean(errors, "api_key", api_key_normalize, api_key)
    user_id = _clean(errors, "lever_user_id", lever_user_id_normalize, lever_user_id)
    region = _clean(errors, "region", region_normalize, region)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        current = AtsIntegration.objects.select_for_update().get(pk=integration.pk)
        changes: dict[str, list[str]] = {}
        if current.region != region:
            changes["region"] = [current.region, region]
        if current.lever_user_id != user_id:
            changes["lever_user_id"] = [current.lever_user_id, user_id]
        current.region, current.lever_user_id = region, user_id
        fields = ["region", "lever_user_id", "updated_at"]

        key_set = key_pending = False
        if new_key is not None:
            fingerprint = api_key_fingerprint(new_key)
            same_as_current = current.has_api_key and fingerprint == current.api_key_fingerprint
            same_as_pending = fingerprint == current.pending_api_key_fingerprint
            if not same_as_current and not same_as_pending:
                last4 = new_key[-4:]
                if current.has_api_key and current.key_status == KeyStatus.VALID:
                    current.pending_api_key = new_key
                    current.pending_api_key_last4 = last4
                    current.pending_api_key_fingerprint = fingerprint
                    key_pending = True
                    summary = (
                        f"New API key ••••{last4} saved; it replaces ••••{current.api_key_last4} "
                        "once Lever accepts it"
                    )
                else:
                    current.api_key = new_key
                    current.api_key_last4 = last4
                    current.api_key_fingerprint = fingerprint
                    current.api_key_set_at = timezone.now()
                    current.key_status = KeyStatus.CHECKING
                    _clear_pending(current)
                    key_set = True
                    summary = f"API key ••••{last4} set"
                # A new key starts a new story: last time's rejection no longer applies.
                current.key_check_detail = {
                    k: v for k, v in (current.key_check_detail or {}).items() if k != "rejected"
                }
                fields += [*_KEY_FIELDS, "key_status", "key_check_detail"]
                audit_entry_record(
                    integration=current,
                    actor=actor,
                    action=AuditEntry.Action.API_KEY_SET,
                    summary=summary,
                    detail={
                        **_key_detail(last4=last4, fingerprint=fingerprint),
                        "pending": key_pending,
                    },
                )
        if changes:
            audit_entry_record(
                integration=current,
                actor=actor,
                action=AuditEntry.Action.SETTINGS_CHANGED,
                summary="Changed " + ", ".join(_SETTING_LABELS[name] for name in changes),
                detail={"changes": changes},
            )

        # Region and User ID are part of what the check covers, so a change re-checks the key.
        check_current = current.has_api_key and (
            key_set or bool(changes) or current.key_status != KeyStatus.VALID
        )
        check_pending = bool(current.pending_api_key_last4)
        if check_current and not key_set:
            current.key_status = KeyStatus.CHECKING
            fields.append("key_status")
        if check_pending:
            current.key_check_detail = {
                **(current.key_check_detail or {}),
                "pending": {"last4": current.pending_api_key_last4, "status": "checking"},
            }
            fields.append("key_check_detail")
        enqueue = check_current or check_pending
        if enqueue:
            # Any check still running was for the old settings: its result must not land.
            current.key_check_generation += 1
            current.key_check_detail = _without_resumes(current.key_check_detail)
            fields += ["key_check_generation", "key_check_detail"]
        current.save(update_fields=sorted(set(fields)))
        if enqueue:
            _enqueue_key_check(current.pk)

    _refresh(integration, current)
    return SettingsOutcome(
        changed=tuple(changes),
        key_set=key_set,
        key_pending=key_pending,
        check_enqueued=enqueue,
    )


_SETTING_LABELS = {"region": "Region", "lever_user_id": "User ID"}
_KEY_FIELDS = (
    "api_key",
    "api_key_last4",
    "api_key_fingerprint",
    "api_key_set_at",
    "pending_api_key",
    "pending_api_key_last4",
    "pending_api_key_fingerprint",
)


def _clean(errors: dict[str, list[str]], name: str, rule: Callable[[Any], Any], value: Any) -> Any:
    try:
        return rule(value)
    except ValidationError as exc:
        errors[name] = exc.messages
        return None


def _clear_pending(integration: AtsIntegration) -> None:
    integration.pending_api_key = ""
    integration.pending_api_key_last4 = ""
    integration.pending_api_key_fingerprint = ""


def _refresh(target: AtsIntegration, source: AtsIntegration) -> None:
    """Copy a re-read row onto the caller's instance so it sees what was saved."""
    for field in AtsIntegration._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def api_key_check_request(*, integration: AtsIntegration, actor: User | None) -> bool:
    """Ask for the key (and a pending key) to be checked with Lever again. False if no key."""
    with transaction.atomic():
        current = AtsIntegration.objects.select_for_update().get(pk=integration.pk)
        if not current.has_api_key and not current.pending_api_key_last4:
            return False
        current.key_check_generation += 1
        current.key_check_detail = _without_resumes(current.key_check_detail)
        fields = ["updated_at", "key_check_generation", "key_check_detail"]
        if current.has_api_key:
            current.key_status = KeyStatus.CHECKING
            fields.append("key_status")
        if current.pending_api_key_last4:
            current.key_check_detail = {
                **(current.key_check_detail or {}),
                "pending": {"last4": current.pending_api_key_last4, "status": "checking"},
            }
            fields.append("key_check_detail")
        current.save(update_fields=fields)
        _enqueue_key_check(current.pk)
    _refresh(integration, current)
    logger.info(
        "key check requested integration_id=%s by user=%s",
        integration.public_id,
        getattr(actor, "pk", None),
    )
    return True


def _without_resumes(detail: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (detail or {}).items() if k != "resumed"}


def key_checks_stuck_resume() -> int:
    """Re-queue key checks lost on the way (broker down, worker died); returns how many.

    A check (of the key in use or of a pending key) still "checking" KEY_CHECK_STUCK_AFTER after
    the last change is queued again, at most KEY_CHECK_MAX_RESUMES times; after that it is
    recorded as "could not reach Lever" so the page never shows "Checking" forever and the admin
    can press "Check again". Each resume starts a new generation, so a straggler can't land.
    """
    cutoff = timezone.now() - KEY_CHECK_STUCK_AFTER
    candidates = AtsIntegration.objects.filter(updated_at__lt=cutoff).filter(
        Q(key_status=KeyStatus.CHECKING) | ~Q(pending_api_key_last4="")
    )
    handled = 0
    for pk in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            row = AtsIntegration.objects.select_for_update().filter(pk=pk).first()
            if row is None or row.updated_at >= cutoff:
                continue
            detail = dict(row.key_check_detail or {})
            pending = detail.get("pending") or {}
            current_stuck = row.has_api_key and row.key_status == KeyStatus.CHECKING
            pending_stuck = bool(row.pending_api_key_last4) and pending.get("status") == "checking"
            if not current_stuck and not pending_stuck:
                continue
            handled += 1
            row.key_check_generation += 1
            fields = ["key_check_generation", "key_check_detail", "updated_at"]
            tries = int(detail.get("resumed") or 0)
            if tries < KEY_CHECK_MAX_RESUMES:
                detail["resumed"] = tries + 1
                row.key_check_detail = detail
                row.save(update_fields=fields)
                _enqueue_key_check(row.pk)
                logger.warning(
                    "key check lost, queued again integration_id=%s try=%s",
                    row.public_id,
                    tries + 1,
                )
                continue
            message = (
                "The check did not finish (Karat's background worker did not answer). "
                "Press Check again in a few minutes."
            )
            gave_up = KeyCheckResult(
                KeyStatus.UNREACHABLE, (KeyCheck("reachable", "Lever reachable", False, message),)
            )
            detail = _without_resumes(detail)
            if pending_stuck:
                detail["pending"] = _detail(
                    gave_up, last4=row.pending_api_key_last4, subject="pending"
                )
            if current_stuck:
                detail = {
                    **_detail(gave_up, last4=row.api_key_last4, subject="current"),
                    **{k: v for k, v in detail.items() if k in {"pending", "rejected"}},
                }
                row.key_status = KeyStatus.UNREACHABLE
                row.key_checked_at = timezone.now()
                row.last_error = f"API key ••••{row.api_key_last4}: {message}"[:1000]
                row.last_error_at = row.key_checked_at
                fields += ["key_status", "key_checked_at", "last_error", "last_error_at"]
            row.key_check_detail = detail
            row.save(update_fields=fields)
            logger.warning(
                "key check lost %s times, gave up integration_id=%s", tries, row.public_id
            )
    return handled


def _enqueue_key_check(integration_pk: int) -> None:
    from integrations.tasks import api_key_validate as api_key_validate_task

    # After commit: the worker must see the key we just saved (a bare .delay() might not).
    # Robust: a broker outage is logged, never a 500 after the save; "Check again" retries.
    transaction.on_commit(lambda: api_key_validate_task.delay(integration_pk), robust=True)


def integration_disable(*, integration: AtsIntegration, actor: User | None) -> bool:
    """Stop using the integration (no Lever calls, webhooks ignored). False if already off."""
    return _set_enabled(integration=integration, actor=actor, enabled=False)


def integration_enable(*, integration: AtsIntegration, actor: User | None) -> bool:
    """Turn the integration back on. False if it was already on."""
    return _set_enabled(integration=integration, actor=actor, enabled=True)


# Lever allows about 10 requests/s per key; anything outside these bounds is a typo.
RATE_LIMIT_PER_SECOND_RANGE = (0.1, 50.0)
RATE_LIMIT_BURST_RANGE = (1, 100)


def rate_limit_validate(*, per_second: float, burst: int) -> None:
    """Raise a per-field ValidationError when the client-side rate limit is out of bounds."""
    errors = {}
    low, high = RATE_LIMIT_PER_SECOND_RANGE
    if not low <= per_second <= high:
        errors["rate_limit_per_second"] = f"Use between {low:g} and {high:g} requests per second."
    low_burst, high_burst = RATE_LIMIT_BURST_RANGE
    if not low_burst <= burst <= high_burst:
        errors["rate_limit_burst"] = f"Use a burst between {low_burst} and {high_burst}."
    if errors:
        raise ValidationError(errors)


def integration_rate_limit_set(
    *, integration: AtsIntegration, actor: User | None, per_second: float, burst: int
) -> bool:
    """Change the key's shared rate limit (audited). False when nothing changed."""
    rate_limit_validate(per_second=per_second, burst=burst)
    with transaction.atomic():
        changed = (
            AtsIntegration.objects.filter(pk=integration.pk)
            .exclude(rate_limit_per_second=per_second, rate_limit_burst=burst)
            .update(
                rate_limit_per_second=per_second, rate_limit_burst=burst, updated_at=timezone.now()
            )
        )
        if changed:
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.SETTINGS_CHANGED,
                summary=f"Rate limit set to {per_second:g} requests/s, burst {burst}",
                detail={"rate_limit_per_second": per_second, "rate_limit_burst": burst},
            )
    integration.rate_limit_per_second, integration.rate_limit_burst = per_second, burst
    return bool(changed)


def _set_enabled(*, integration: AtsIntegration, actor: User | None, enabled: bool) -> bool:
    with transaction.atomic():
        changed = AtsIntegration.objects.filter(pk=integration.pk, enabled=not enabled).update(
            enabled=enabled, updated_at=timezone.now()
        )
        if changed:
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.ENABLED if enabled else AuditEntry.Action.DISABLED,
                summary=f"Integration {'enabled' if enabled else 'disabled'}",
            )
    integration.enabled = enabled
    return bool(changed)


def integration_delete(*, integration: AtsIntegration, actor: User | None) -> None:
    """Delete the integration with its webhooks and opportunity links; the audit log stays
    (its entries keep the Integration ID and group)."""
    with transaction.atomic():
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.DELETED,
            summary=f"{integration.get_ats_display()} integration {integration.public_id} "
            f"deleted from {integration.group.name}",
            detail=_key_detail(
                last4=integration.api_key_last4, fingerprint=integration.api_key_fingerprint
            ),
        )
        integration.delete()
    logger.info("integration deleted integration_id=%s", integration.public_id)


# --- key validation ---------------------------------------------------------------------------

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


@dataclass(frozen=True)
class KeyCheck:
    code: str
    name: str
    ok: bool | None  # None: not checked
    message: str


@dataclass(frozen=True)
class KeyCheckResult:
    status: str  # one of AtsIntegration.KeyStatus (valid, invalid, unreachable)
    checks: tuple[KeyCheck, ...]

    @property
    def failed(self) -> list[KeyCheck]:
        return [check for check in self.checks if check.ok is False]

    def summary(self) -> str:
        if self.status == KeyStatus.VALID:
            return "Lever accepted the key and it has every permission Karat reads with."
        if self.status == KeyStatus.UNREACHABLE:
            if any("took too long" in check.message for check in self.failed):
                return "The check took too long: Lever answered too slowly. Try again later."
            return "Karat could not reach Lever to check the key. Try again in a few minutes."
        return "Lever check failed: " + "; ".join(
            f"{check.name}: {check.message}" for check in self.failed
        )

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(check) for check in self.checks]


def api_key_check(*, integration: AtsIntegration, api_key: str) -> KeyCheckResult:
    """Check ``api_key`` against Lever for this integration's region and User ID.

    Read-only: it makes GET calls only. Never raises for Lever trouble: a rejected key or a
    missing permission makes the result ``invalid``, no answer from Lever makes it
    ``unreachable``. The key never appears in the result.
    """
    from integrations.connections import lever_client_for
    from integrations.lever.errors import (
        LeverAuthError,
        LeverError,
        LeverNotFound,
        LeverPermissionError,
        LeverTransientError,
    )

    client = lever_client_for(integration, api_key=api_key)
    # A check should answer quickly (the admin can press "Check again") and must end well
    # before the task's soft time limit: one retry, short read and rate-limiter waits.
    client.max_retries = 1
    client.timeout = (client.timeout[0], min(client.timeout[1], KEY_CHECK_READ_TIMEOUT))
    client.acquire_timeout = KEY_CHECK_ACQUIRE_TIMEOUT
    deadline = time.monotonic() + KEY_CHECK_BUDGET_SECONDS
    host = _host_label(client, integration)
    checks: list[KeyCheck] = []
    permissions_ok: dict[str, bool] = {}

    probes: dict[str, Callable[[LeverClient], object]] = {
        "read_users": lambda c: next(iter(c.iter_users()), None),
        "read_opportunities": lambda c: next(iter(c.iter_opportunities()), None),
        "read_postings": lambda c: next(iter(c.iter_postings()), None),
        "read_stages": lambda c: c.list_stages(),
        "read_archive_reasons": lambda c: c.list_archive_reasons(),
        "read_webhooks": lambda c: c.list_webhooks(),
    }

    def unreachable(exc: LeverError) -> KeyCheckResult:
        logger.warning(
            "key check: Lever unreachable integration_id=%s (%s)",
            integration.public_id,
            type(exc).__name__,
        )
        checks.append(
            KeyCheck(
                "reachable",
                "Lever reachable",
                False,
                f"No answer from Lever at {host} ({exc.status_code or type(exc).__name__}). "
                "Try again in a few minutes.",
            )
        )
        return KeyCheckResult(KeyStatus.UNREACHABLE, tuple(checks))

    def took_too_long() -> KeyCheckResult:
        logger.warning("key check: over budget integration_id=%s", integration.public_id)
        checks.append(_too_long_check(host))
        return KeyCheckResult(KeyStatus.UNREACHABLE, tuple(checks))

    for position, (code, name, why) in enumerate(_READ_PERMISSIONS):
        if time.monotonic() > deadline:
            return took_too_long()
        try:
            probes[code](client)
        except LeverPermissionError:
            permissions_ok[code] = False
            message = f"Missing: Karat needs this {why}. Add it to the key in Lever."
        except LeverAuthError:
            checks.append(KeyCheck("auth", "API key", False, "Lever rejected the key (401)."))
            checks.append(
                KeyCheck(
                    "region",
                    "Region",
                    False,
                    f"{host} does not accept this key: wrong region or bad key. Check that the "
                    "region matches your Lever account and copy the key again.",
                )
            )
            checks += [
                KeyCheck(c, n, None, "Not checked: the key was rejected.")
                for c, n, _ in _READ_PERMISSIONS
            ]
            return KeyCheckResult(KeyStatus.INVALID, tuple(checks))
        except LeverTransientError as exc:
            return unreachable(exc)
        except LeverError as exc:
            # 404 or an odd reply on a list endpoint: the host is probably not Lever's API.
            permissions_ok[code] = False
            message = f"Unexpected answer from Lever ({exc.status_code or 'no status'})."
            if position == 0:
                checks.append(KeyCheck("auth", "API key", None, "Unclear: see the checks below."))
                checks.append(
                    KeyCheck("region", "Region", False, f"{host} did not answer like Lever's API.")
                )
        else:
            permissions_ok[code] = True
            message = "Allowed."
        if position == 0 and not checks:
            # The first call answered with 2xx or 403: Lever knows the key in this region.
            checks.append(KeyCheck("auth", "API key", True, "Lever accepted the key."))
            checks.append(KeyCheck("region", "Region", True, f"The key works with {host}."))
        checks.append(KeyCheck(code, name, permissions_ok[code], message))

    checks += [
        KeyCheck(
            code,
            name,
            None,
            "Not checked until the first write (can't be tested without changing data in Lever).",
        )
        for code, name in _WRITE_PERMISSIONS
    ]

    if integration.lever_user_id and time.monotonic() > deadline:
        return took_too_long()
    if integration.lever_user_id:
        if not permissions_ok.get("read_users"):
            checks.append(
                KeyCheck(
                    "user_id",
                    "User ID",
                    False,
                    "Can't check the User ID: the key lacks the Read users permission.",
                )
            )
        else:
            try:
                user = client.get_user(integration.lever_user_id)
            except LeverNotFound:
                checks.append(
                    KeyCheck("user_id", "User ID", False, "No Lever user has this User ID.")
                )
            except LeverTransientError as exc:
                return unreachable(exc)
            except LeverError as exc:
                checks.append(
                    KeyCheck(
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
                        KeyCheck("user_id", "User ID", True, f"Changes are made as {who}.")
                    )
                else:
                    checks.append(
                        KeyCheck(
                            "user_id",
                            "User ID",
                            False,
                            "This Lever user is deactivated; choose an active user or leave "
                            "the User ID blank.",
                        )
                    )

    status = KeyStatus.INVALID if any(c.ok is False for c in checks) else KeyStatus.VALID
    return KeyCheckResult(status, tuple(checks))


def _too_long_check(host: str) -> KeyCheck:
    return KeyCheck(
        "reachable",
        "Lever reachable",
        False,
        f"The check took too long: Lever at {host} answered too slowly. "
        "Try again in a few minutes.",
    )


def _api_key_check_in_time(*, integration: AtsIntegration, api_key: str) -> KeyCheckResult:
    """api_key_check, but the task's soft time limit becomes an "unreachable" result that is
    recorded (it is not a LeverError, and leaving "checking" behind would show forever)."""
    try:
        return api_key_check(integration=integration, api_key=api_key)
    except SoftTimeLimitExceeded:
        logger.warning("key check: soft time limit integration_id=%s", integration.public_id)
        return KeyCheckResult(
            KeyStatus.UNREACHABLE, (_too_long_check(Region(integration.region).label),)
        )


def _host_label(client: LeverClient, integration: AtsIntegration) -> str:
    host = client.base_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host} ({Region(integration.region).label.split(' ')[0]})"


def api_key_validate(*, integration_id: int) -> str | None:
    """Check the pending key (if any) and/or the key in use, and record the outcome.

    Safe to run twice and safe against races: a result is written only if no check was
    requested since this run started (``key_check_generation`` unchanged) and the key that was
    checked is still the one stored; otherwise the newer request's own check (already queued)
    records the outcome. A pending key
    that passes replaces the key in use ("API key validated"); one that fails is dropped and the
    old key stays ("API key rejected"); one Lever could not be asked about stays pending.
    Returns the resulting key status, or None if the integration is gone.
    """
    integration = AtsIntegration.objects.select_related("group").filter(pk=integration_id).first()
    if integration is None:
        return None

    generation = integration.key_check_generation
    if integration.pending_api_key:
        pending_fp = integration.pending_api_key_fingerprint
        result = _api_key_check_in_time(
            integration=integration, api_key=integration.pending_api_key
        )
        outcome = _pending_result_apply(integration_id, pending_fp, result, generation=generation)
        if outcome in {"promoted", "stale"}:
            return _status_of(integration_id)
    integration.refresh_from_db()
    if integration.key_check_generation != generation:
        return _status_of(integration_id)  # a newer request's check is queued and decides
    # Not "checking" while the generation is unchanged means this generation's result is
    # already recorded (a duplicate delivery): checking again would only repeat the audit entry.
    # A stale run can't get here first any more, so a newer check is never skipped.
    if integration.has_api_key and integration.key_status == KeyStatus.CHECKING:
        current_fp = integration.api_key_fingerprint
        result = _api_key_check_in_time(integration=integration, api_key=integration.api_key)
        _current_result_apply(integration_id, current_fp, result, generation=generation)
    return _status_of(integration_id)


def _save_if_latest(row: AtsIntegration, generation: int, fields: list[str]) -> bool:
    """Write ``fields`` of ``row`` only if no check was requested since ``generation``.

    A conditional UPDATE (not read-then-save), so it holds even where SELECT … FOR UPDATE is a
    no-op (SQLite). False: a newer check owns the outcome and nothing was written.
    """
    values = {name: getattr(row, name) for name in fields if name != "updated_at"}
    updated = AtsIntegration.objects.filter(pk=row.pk, key_check_generation=generation).update(
        **values, updated_at=timezone.now()
    )
    return bool(updated)


def _status_of(integration_id: int) -> str | None:
    return (
        AtsIntegration.objects.filter(pk=integration_id)
        .values_list("key_status", flat=True)
        .first()
    )


def _detail(result: KeyCheckResult, *, last4: str, subject: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "last4": last4,
        "status": result.status,
        "summary": result.summary(),
        "checks": result.as_json(),
        "checked_at": timezone.now().isoformat(),
    }


def _pending_result_apply(
    integration_id: int, fingerprint: str, result: KeyCheckResult, *, generation: int
) -> str:
    now = timezone.now()
    with transaction.atomic():
        row = AtsIntegration.objects.select_for_update().filter(pk=integration_id).first()
        if row is None or row.pending_api_key_fingerprint != fingerprint or not fingerprint:
            return "stale"
        if row.key_check_generation != generation:
            return "stale"
        last4 = row.pending_api_key_last4
        key = _key_detail(last4=last4, fingerprint=fingerprint)
        if result.status == KeyStatus.VALID:
            old_last4 = row.api_key_last4
            row.api_key = row.pending_api_key
            row.api_key_last4 = last4
            row.api_key_fingerprint = fingerprint
            row.api_key_set_at = now
            _clear_pending(row)
            row.key_status = KeyStatus.VALID
            row.key_checked_at = now
            row.key_check_detail = _detail(result, last4=last4, subject="current")
            row.last_success_at = now
            if not _save_if_latest(
                row,
                generation,
                [
                    *_KEY_FIELDS,
                    "key_status",
                    "key_checked_at",
                    "key_check_detail",
                    "last_success_at",
                ],
            ):
                return "stale"
            audit_entry_record(
                integration=row,
                actor=None,
                action=AuditEntry.Action.API_KEY_VALIDATED,
                summary=f"API key validated: ••••{last4} replaced ••••{old_last4}",
                detail={**key, "checks": _failed_names(result)},
            )
            return "promoted"
        if result.status == KeyStatus.INVALID:
            _clear_pending(row)
            detail = dict(row.key_check_detail or {})
            detail["rejected"] = _detail(result, last4=last4, subject="rejected")
            detail.pop("pending", None)
            row.key_check_detail = detail
            row.last_error = f"New API key ••••{last4} rejected: {result.summary()}"[:1000]
            row.last_error_at = now
            if not _save_if_latest(
                row,
                generation,
                [*_KEY_FIELDS, "key_check_detail", "last_error", "last_error_at"],
            ):
                return "stale"
            audit_entry_record(
                integration=row,
                actor=None,
                action=AuditEntry.Action.API_KEY_REJECTED,
                summary=f"API key rejected: ••••{last4}; still using ••••{row.api_key_last4}",
                detail={**key, "checks": _failed_names(result)},
            )
            return "rejected"
        # Unreachable: keep it waiting; "Check again" retries.
        detail = dict(row.key_check_detail or {})
        detail["pending"] = _detail(result, last4=last4, subject="pending")
        row.key_check_detail = detail
        if not _save_if_latest(row, generation, ["key_check_detail"]):
            return "stale"
        return "waiting"


def _current_result_apply(
    integration_id: int, fingerprint: str, result: KeyCheckResult, *, generation: int
) -> None:
    now = timezone.now()
    with transaction.atomic():
        row = AtsIntegration.objects.select_for_update().filter(pk=integration_id).first()
        if row is None or row.api_key_fingerprint != fingerprint:
            return
        if row.key_check_generation != generation:
            return
        last4 = row.api_key_last4
        detail = _detail(result, last4=last4, subject="current")
        previous = row.key_check_detail or {}
        if "pending" in previous and row.pending_api_key_last4:
            detail["pending"] = previous["pending"]
        if "rejected" in previous:
            detail["rejected"] = previous["rejected"]
        row.key_status = result.status
        row.key_checked_at = now
        row.key_check_detail = detail
        fields = ["key_status", "key_checked_at", "key_check_detail"]
        if result.status == KeyStatus.VALID:
            row.last_success_at = now
            fields.append("last_success_at")
        else:
            row.last_error = f"API key ••••{last4}: {result.summary()}"[:1000]
            row.last_error_at = now
            fields += ["last_error", "last_error_at"]
        if not _save_if_latest(row, generation, fields):
            return
        if result.status == KeyStatus.VALID:
            audit_entry_record(
                integration=row,
                actor=None,
                action=AuditEntry.Action.API_KEY_VALIDATED,
                summary=f"API key validated: ••••{last4}",
                detail=_key_detail(last4=last4, fingerprint=fingerprint),
            )
        elif result.status == KeyStatus.INVALID:
            audit_entry_record(
                integration=row,
                actor=None,
                action=AuditEntry.Action.API_KEY_REJECTED,
                summary=f"API key rejected: ••••{last4}",
                detail={
                    **_key_detail(last4=last4, fingerprint=fingerprint),
                    "checks": _failed_names(result),
                },
            )
        # Unreachable is not a verdict on the key, so it leaves no audit entry; the page shows it.


def _failed_names(result: KeyCheckResult) -> list[str]:
    return [check.code for check in result.failed]
