"""Role matching's reads: postings with their Karat roles, sync runs, the roles page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from integrations import ats
from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun, RoleMapping
from integrations.roles.matching import (
    SUGGESTION_MIN_RATIO,
    SUGGESTIONS_MAX,
    RoleIndex,
    title_key,
    title_similarity,
)
from karatlever.hiring.models import Candidacy, Role

# Candidacies have no posting of their own: a posting's candidacies are those of its mapped
# role (in the integration's group). For an unmatched posting they are the candidacies of the
# roles that claim it — same requisition code or same normalised title — i.e. the roles a
# conflict is between: candidates Karat has for what looks like this posting.

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


@dataclass(frozen=True)
class _RoleFacts:
    """The group's roles, as matching and the roles page need them (two queries)."""

    roles: dict[int, Role]
    keys: dict[int, str]
    index: RoleIndex
    candidacies: dict[int, int]

    @classmethod
    def load(cls, integration: AtsIntegration) -> _RoleFacts:
        roles = {r.pk: r for r in Role.objects.filter(group_id=integration.group_id)}
        keys = {pk: title_key(r.title) for pk, r in roles.items()}
        index = RoleIndex.build(
            (pk, role.title, role.requisition_code) for pk, role in roles.items() if role.active
        )
        candidacies = dict(
            Candidacy.objects.filter(group_id=integration.group_id)
            .values("role_id")
            .annotate(n=Count("pk"))
            .values_list("role_id", "n")
        )
        return cls(roles, keys, index, candidacies)

    def candidacy_count(self, role_id: int | None, title_key: str, codes: Iterable[str]) -> int:
        if role_id is not None:
            return self.candidacies.get(role_id, 0)
        return sum(self.candidacies.get(r, 0) for r in self.index.claiming(title_key, codes))

    def suggestions(self, title_key: str, codes: Iterable[str]) -> list[Role]:
        """Roles an admin may want for an unmatched posting: those claiming it (a conflict),
        then similar titles, best first. Never applied without the admin."""
        claimed = self.index.claiming(title_key, codes)
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
