"""The integration audit log: who did what, and when. Entries never hold a secret."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from integrations.models import AtsIntegration, AuditEntry

if TYPE_CHECKING:
    from karatlever.accounts.models import User


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


def api_key_fingerprint(key: str) -> str:
    """A short, stable identifier of a key for audit entries (never reversible to the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def key_detail(*, last4: str, fingerprint: str) -> dict[str, str]:
    """How an audit entry names a key."""
    return {"api_key_last4": last4, "api_key_fingerprint": fingerprint}
