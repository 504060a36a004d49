"""Postings' Karat roles: matching them automatically after a sync, and an admin's decisions.

Matching (``postings_match``, after every sync) applies the rule in ``roles/matching.py`` to
every current posting. An admin's decision (map, or unmap on purpose) is never changed by a
sync; each decision, and each role created from a posting, is written to the audit log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from integrations.connection.services.audit import audit_entry_record
from integrations.hiring_team.services import role_followers_sync
from integrations.models import AtsIntegration, AtsPosting, AuditEntry, RoleMapping
from integrations.roles.matching import RoleIndex, posting_decide
from integrations.status.refresh import status_refresh_request
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Role
from karatlever.hiring.services import role_create

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

Method = RoleMapping.Method

# Rows per INSERT … ON CONFLICT when matching writes its results.
WRITE_BATCH = 500


class PostingNotFound(ApplicationError):
    status_code = 404
    default_code = "posting_not_found"


class RoleInvalid(ApplicationError):
    default_code = "role_invalid"


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchCounts:
    """What one matching pass found, over the integration's current postings."""

    by_requisition_code: int = 0
    by_title: int = 0
    conflicts: int = 0
    manual: int = 0
    unmatched: int = 0


def postings_match(*, integration: AtsIntegration) -> MatchCounts:
    """Recompute every automatic mapping of the integration's current postings.

    Rules, in order: requisition code, then normalised title (``roles/matching.py``);
    ambiguity is a conflict with a note, never a guess. Admins' mappings are left as they
    are. A constant number of queries (plus one per ``WRITE_BATCH`` changed rows).
    """
    roles = RoleIndex.build(
        Role.objects.filter(group_id=integration.group_id, active=True).values_list(
            "id", "title", "requisition_code"
        )
    )
    postings = list(
        AtsPosting.objects.filter(integration=integration, removed_at__isnull=True).values_list(
            "id", "title", "title_key", "requisition_codes"
        )
    )
    code_count: Counter[str] = Counter(
        code for *_, codes in postings for code in {c.casefold() for c in codes}
    )
    # A role whose requisition code is on some posting belongs to that posting (or conflict).
    claimed = {roles.by_code[code] for code in code_count if code in roles.by_code}
    existing = {
        posting_id: (method, role_id, note, pk)
        for pk, posting_id, method, role_id, note in RoleMapping.objects.filter(
            posting__integration=integration
        ).values_list("pk", "posting_id", "method", "role_id", "note")
    }
    counts: Counter[str] = Counter()
    writes: list[RoleMapping] = []
    deletes: list[int] = []
    now = timezone.now()
    for posting_pk, title, key, codes in postings:
        current = existing.get(posting_pk)
        if current is not None and current[0] in RoleMapping.MANUAL:
            counts["manual"] += 1
            continue
        decision = posting_decide(title, key, codes, roles, code_count, claimed)
        counts[decision.method if decision else "unmatched"] += 1
        if decision is None:
            if current is not None:
                deletes.append(current[3])
            continue
        if current is None or current[:3] != (decision.method, decision.role_id, decision.note):
            writes.append(
                RoleMapping(
                    posting_id=posting_pk,
                    role_id=decision.role_id,
                    method=decision.method,
                    note=decision.note,
                    decided_by=None,
                    decided_at=now,
                )
            )
    with transaction.atomic():
        if writes:
            RoleMapping.objects.bulk_create(
                writes,
                batch_size=WRITE_BATCH,
                update_conflicts=True,
                unique_fields=["posting"],
                update_fields=["role", "method", "note", "decided_by", "decided_at"],
            )
        for start in range(0, len(deletes), WRITE_BATCH):
            RoleMapping.objects.filter(
                pk__in=deletes[start : start + WRITE_BATCH], method__in=RoleMapping.AUTOMATIC
            ).delete()
    return MatchCounts(
        by_requisition_code=counts[Method.REQUISITION_CODE],
        by_title=counts[Method.TITLE],
        conflicts=counts[Method.CONFLICT],
        manual=counts["manual"],
        unmatched=counts["unmatched"],
    )


# --- an admin's decisions ---------------------------------------------------------------------


def _posting_get(integration: AtsIntegration, posting_id: str) -> AtsPosting:
    posting = AtsPosting.objects.filter(
        integration=integration, posting_id=posting_id, removed_at__isnull=True
    ).first()
    if posting is None:
        raise PostingNotFound(f"No posting {posting_id!r} in this integration.", field="posting")
    return posting


def _mapping_write(
    *, integration: AtsIntegration, posting: AtsPosting, role: Role | None, actor: User | None
) -> tuple[RoleMapping, Role | None]:
    """Record an admin's decision on ``posting``; returns it and the role it had before."""
    before = RoleMapping.objects.filter(posting=posting).select_related("role").first()
    mapping, _ = RoleMapping.objects.update_or_create(
        posting=posting,
        defaults={
            "role": role,
            "method": Method.ADMIN if role is not None else Method.UNMAPPED,
            "note": "",
            "decided_by": actor,
            "decided_at": timezone.now(),
        },
    )
    logger.info(
        "role mapping set posting=%s role=%s by user=%s",
        posting.posting_id,
        getattr(role, "pk", None),
        getattr(actor, "pk", None),
        extra={"integration_id": integration.public_id},
    )
    return mapping, before.role if before is not None else None


def _code(role: Role | None) -> str | None:
    return str(role.code) if role is not None else None


def role_mapping_set(
    *, integration: AtsIntegration, posting_id: str, role: Role | None, actor: User | None
) -> RoleMapping:
    """An admin maps the posting to ``role`` (a role of the integration's group), or, with
    None, leaves it unmatched on purpose. Either survives every later sync, and is written to
    the integration's audit log (with the role it had before).

    Raises PostingNotFound (404) and RoleInvalid (400: another group's or an inactive role).
    """
    posting = _posting_get(integration, posting_id)
    if role is not None:
        if role.group_id != integration.group_id:
            raise RoleInvalid("Choose a role of this integration's group.", field="role")
        if not role.active:
            raise RoleInvalid(f"The role “{role.title}” is not active.", field="role")
    with transaction.atomic():
        mapping, before = _mapping_write(
            integration=integration, posting=posting, role=role, actor=actor
        )
        if role is not None:
            action = AuditEntry.Action.ROLE_MAPPED
            summary = f"Posting “{posting.title}” mapped to the Karat role “{role.title}”"
        else:
            action = AuditEntry.Action.ROLE_UNMAPPED
            summary = f"Posting “{posting.title}” left unmatched" + (
                f" (was “{before.title}”)" if before is not None else ""
            )
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=action,
            summary=summary,
            detail={"posting_id": posting_id, "role": _code(role), "previous_role": _code(before)},
        )
    # "Open postings without a Karat role" may have changed.
    status_refresh_request(integration_id=integration.pk, reason="Role mapping changed")
    # The roles' followers follow their postings' hiring teams (when turned on; no ATS call).
    role_followers_sync(integration=integration)
    return mapping


def role_mapping_reset(
    *, integration: AtsIntegration, posting_id: str, actor: User | None
) -> RoleMapping | None:
    """Forget an admin's decision: the posting is matched automatically again (now and on
    every later sync), which the audit log records when there was a decision to forget.
    Returns its new mapping (None: unmatched). Raises PostingNotFound."""
    posting = _posting_get(integration, posting_id)
    with transaction.atomic():
        decided = (
            RoleMapping.objects.filter(posting=posting, method__in=RoleMapping.MANUAL)
            .select_related("role")
            .first()
        )
        if decided is not None:
            decided.delete()
        postings_match(integration=integration)
        mapping = RoleMapping.objects.filter(posting=posting).select_related("role").first()
        if decided is not None:
            role = mapping.role if mapping is not None else None
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.ROLE_MAPPING_RESET,
                summary=f"Posting “{posting.title}” matched automatically again: "
                + (f"“{role.title}”" if role is not None else "not matched"),
                detail={
                    "posting_id": posting_id,
                    "role": _code(role),
                    "previous_role": _code(decided.role),
                },
            )
    status_refresh_request(integration_id=integration.pk, reason="Role mapping changed")
    role_followers_sync(integration=integration)
    return mapping


def roles_create_from_postings(
    *, integration: AtsIntegration, posting_ids: Iterable[str], actor: User | None
) -> list[RoleMapping]:
    """Create a Karat role from each posting (its title; its first requisition code unless a
    role of the group has it already) and map the posting to it (by an admin). Each role
    created is one audit entry.

    All or nothing. Raises PostingNotFound (404) naming the first unknown posting.
    """
    wanted = list(dict.fromkeys(posting_ids))
    if not wanted:
        raise ApplicationError("Choose at least one posting.", field="postings")
    postings = {
        p.posting_id: p
        for p in AtsPosting.objects.filter(
            integration=integration, posting_id__in=wanted, removed_at__isnull=True
        )
    }
    missing = [posting_id for posting_id in wanted if posting_id not in postings]
    if missing:
        raise PostingNotFound(f"No posting {missing[0]!r} in this integration.", field="postings")
    taken = {
        code.casefold()
        for code in Role.objects.filter(group_id=integration.group_id)
        .exclude(requisition_code="")
        .values_list("requisition_code", flat=True)
    }
    mappings = []
    with transaction.atomic():
        for posting_id in wanted:
            posting = postings[posting_id]
            code = next(
                (
                    c
                    for c in posting.requisition_codes
                    if c.casefold() not in taken and len(c) <= 100
                ),
                "",
            )
            taken.add(code.casefold())
            role = role_create(
                group=integration.group, title=posting.title[:200], requisition_code=code
            )
            mapping, _ = _mapping_write(
                integration=integration, posting=posting, role=role, actor=actor
            )
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.ROLE_CREATED,
                summary=f"Karat role “{role.title}” created from the posting “{posting.title}”",
                detail={"posting_id": posting_id, "role": str(role.code), "requisition_code": code},
            )
            mappings.append(mapping)
    status_refresh_request(integration_id=integration.pk, reason="Role mapping changed")
    role_followers_sync(integration=integration)
    return mappings
