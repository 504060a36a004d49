"""An integration's life: create, settings (key, User ID, region), rate limit, enable and
disable, delete; and the input rules forms and serializers share with these services."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations.connection.services import keys
from integrations.connection.services.audit import (
    api_key_fingerprint,
    audit_entry_record,
    key_detail,
)
from integrations.models import Ats, AtsIntegration, AuditEntry, Region, RegionSource
from integrations.status.refresh import status_refresh_request
from karatlever.errors import ApplicationError

if TYPE_CHECKING:
    from karatlever.accounts.models import Group, User

logger = logging.getLogger(__name__)

API_KEY_MIN_LENGTH = 16
API_KEY_MAX_LENGTH = 512
KeyStatus = AtsIntegration.KeyStatus


class IntegrationError(ApplicationError):
    """A rule of the integration domain was broken; the message is safe to show to the admin."""


class IntegrationAlreadyExists(IntegrationError):
    """The group already has an integration for this ATS (HTTP 409)."""

    status_code = 409
    default_code = "conflict"


# --- input rules (shared by forms, serializers and the services themselves) ------------------


# Functions that hold an API key hide all their locals (and their callees') from error reports.
@sensitive_variables()
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


def ats_user_id_normalize(raw: str | None) -> str:
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


# The region input that means "detect it from the key" (the settings form's default).
REGION_DETECT = ""


def region_normalize(raw: str | None) -> str:
    """A region the admin chose, or REGION_DETECT ("" : detect it from the key)."""
    if raw == REGION_DETECT:
        return REGION_DETECT
    if raw not in Region.values:
        raise ValidationError(
            "Choose a region (US, EU or Sandbox), or let Karat detect it from the key.",
            code="invalid_choice",
        )
    return str(raw)


def ats_normalize(raw: str | None) -> str:
    if raw not in Ats.values:
        raise ValidationError("Choose an ATS from the list.", code="invalid_choice")
    return str(raw)


@sensitive_variables()
def integration_create(
    *,
    group: Group,
    ats: str,
    actor: User | None,
    api_key: str | None = None,
    ats_user_id: str | None = None,
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
        raise IntegrationError(exc.messages[0], field="ats", code="invalid") from None
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
            if api_key is not None or ats_user_id is not None or region is not None:
                integration_settings_update(
                    integration=integration,
                    actor=actor,
                    api_key=api_key,
                    ats_user_id=ats_user_id or "",
                    region=region,
                )
    except IntegrityError:
        raise duplicate from None
    logger.info(
        "integration created group=%s", group.pk, extra={"integration_id": integration.public_id}
    )
    return integration


@dataclass(frozen=True)
class SettingsOutcome:
    """What integration_settings_update changed, so pages can word their message."""

    changed: tuple[str, ...] = ()
    key_set: bool = False
    key_pending: bool = False
    check_enqueued: bool = False


@sensitive_variables()
def integration_settings_update(
    *,
    integration: AtsIntegration,
    actor: User | None,
    api_key: str | None,
    ats_user_id: str | None,
    region: str | None,
) -> SettingsOutcome:
    """Save the API key (optional), User ID and region, then check the key with Lever.

    ``region``: a region the admin chose (kept as is: the key check only suggests another),
    REGION_DETECT to have the key check set the region where Lever accepts the key, or None
    to leave the region as it is. A blank ``api_key`` keeps the current key. A first key becomes the key in use with status
    ``checking``; a key that replaces a working (validated) one waits in ``pending_api_key``
    and the working key stays in use until the new one validates. Invalid input raises
    ValidationError (keyed by field) and changes nothing. Audit entries hold the key's last 4
    characters and fingerprint only. The Lever check runs in a task enqueued on commit.
    """
    errors: dict[str, list[str]] = {}
    new_key = _clean(errors, "api_key", api_key_normalize, api_key)
    user_id = _clean(errors, "ats_user_id", ats_user_id_normalize, ats_user_id)
    if region is not None:
        region = _clean(errors, "region", region_normalize, region)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        current = AtsIntegration.objects.select_for_update().get(pk=integration.pk)
        changes: dict[str, list[str]] = {}
        new_region, source = _region_setting(current, region)
        if current.region != new_region:
            changes["region"] = [current.region, new_region]
        if current.region_source != source:
            changes["region_source"] = [current.region_source, source]
        if current.ats_user_id != user_id:
            changes["ats_user_id"] = [current.ats_user_id, user_id]
        current.region, current.region_source = new_region, source
        current.ats_user_id = user_id
        fields = ["region", "region_source", "ats_user_id", "updated_at"]

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
                    keys.clear_pending(current)
                    key_set = True
                    summary = f"API key ••••{last4} set"
                fields += keys.KEY_FIELDS
                audit_entry_record(
                    integration=current,
                    actor=actor,
                    action=AuditEntry.Action.API_KEY_SET,
                    summary=summary,
                    detail={
                        **key_detail(last4=last4, fingerprint=fingerprint),
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
        current.save(update_fields=sorted(set(fields)))
        # New rows supersede any check still running for the old settings: its result won't land.
        enqueue = keys.key_checks_request(
            integration=current, actor=actor, current=check_current, pending=check_pending
        )
        # Status page: saved settings change what the status shows; recompute it on commit.
        status_refresh_request(integration_id=current.pk, reason="Settings saved")

    _refresh(integration, current)
    return SettingsOutcome(
        changed=tuple(changes),
        key_set=key_set,
        key_pending=key_pending,
        check_enqueued=enqueue,
    )


_SETTING_LABELS = {
    "region": "Region",
    "region_source": "Region (chosen or detected from the key)",
    "ats_user_id": "User ID",
}


def _region_setting(current: AtsIntegration, region: str | None) -> tuple[str, str]:
    """The region and its source after saving ``region`` (see integration_settings_update):
    a detected region stays until the key check detects another."""
    if region is None:
        return current.region, current.region_source
    if region == REGION_DETECT:
        if current.region_source == RegionSource.CHOSEN:
            return current.region, RegionSource.DETECT
        return current.region, current.region_source
    return region, RegionSource.CHOSEN


def _clean(errors: dict[str, list[str]], name: str, rule: Callable[[Any], Any], value: Any) -> Any:
    try:
        return rule(value)
    except ValidationError as exc:
        errors[name] = exc.messages
        return None


def _refresh(target: AtsIntegration, source: AtsIntegration) -> None:
    """Copy a re-read row onto the caller's instance so it sees what was saved."""
    for field in AtsIntegration._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


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
            # Status page: the stored status follows the switch (on commit).
            status_refresh_request(
                integration_id=integration.pk, reason="Enabled" if enabled else "Disabled"
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
            detail=key_detail(
                last4=integration.api_key_last4, fingerprint=integration.api_key_fingerprint
            ),
        )
        integration.delete()
    logger.info("integration deleted", extra={"integration_id": integration.public_id})
