"""Role matching's reads: postings with their Karat roles, sync runs, the roles page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from integrations import ats
from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun, RoleMapping
from integrations.roles.matching import (
    SUGGESTION_MIN_RATIO,
    SUGGESTIONS_MAX,
    RoleIndex,
    TitleComparer,
    title_key,
)
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role

# A posting's candidacies are those invited from it (``Candidacy.ats_posting_id``, set by the
# invite), in the integration's group: never those of its role's other postings. Candidacies
# invited before Karat remembered the posting have none, and count for no posting.

# 25 rows of postings with their actions: about 80 kB, under the pages' ~100 kB bound.
POSTINGS_PER_PAGE = 25


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


def posting_sync_run_latest(*, integration: AtsIntegration) -> PostingSyncRun | None:
    return PostingSyncRun.objects.filter(integration=integration).first()


@dataclass(frozen=True)
class _RoleFacts:
    """The group's roles, as matching and the roles page need them (one query)."""

    roles: dict[int, Role]
    keys: dict[int, str]
    index: RoleIndex

    @classmethod
    def load(cls, integration: AtsIntegration) -> _RoleFacts:
        roles = {r.pk: r for r in Role.objects.filter(group_id=integration.group_id)}
        keys = {pk: title_key(r.title) for pk, r in roles.items()}
        index = RoleIndex.build(
            (pk, role.title, role.requisition_code) for pk, role in roles.items() if role.active
        )
        return cls(roles, keys, index)

    def suggestions(self, title_key: str, codes: Iterable[str]) -> list[Role]:
        """Roles an admin may want for an unmatched posting: those claiming it (a conflict),
        then similar titles, best first. Never applied without the admin."""
        claimed = self.index.claiming(title_key, codes)
        comparer = TitleComparer(title_key.split(), title_key)
        scored: list[tuple[float, int]] = []
        for pk, key in self.keys.items():
            if pk in claimed or not self.roles[pk].active:
                continue
            score = comparer.similarity(key)
            if score >= SUGGESTION_MIN_RATIO:
                scored.append((score, pk))
        scored.sort(key=lambda item: (-item[0], self.roles[item[1]].title))
        ids = claimed + [pk for _, pk in scored]
        return [self.roles[pk] for pk in ids[:SUGGESTIONS_MAX]]


def posting_candidacy_counts(
    *, integration: AtsIntegration, posting_ids: Iterable[str]
) -> dict[str, int]:
    """How many candidacies of the integration's group were invited from each of these
    postings (see the block comment); postings without any are left out. One query."""
    wanted = [posting_id for posting_id in posting_ids if posting_id]
    if not wanted:
        return {}
    return dict(
        Candidacy.objects.filter(group_id=integration.group_id, ats_posting_id__in=wanted)
        .order_by()
        .values("ats_posting_id")
        .annotate(n=Count("pk"))
        .values_list("ats_posting_id", "n")
    )


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

    @property
    def role_select(self) -> bool:
        """Few enough active roles for a drop-down in each row (else a search)."""
        return len(self.active_roles) <= ROLE_SELECT_MAX


@dataclass(frozen=True)
class RolesRow:
    """One posting's row after an admin's decision, with what else on the page it changes:
    the counts at the top, the roles no posting maps to, the roles to choose from (the
    attributes of ``RolesPage`` the page's parts read)."""

    row: PostingRow
    postings_total: int
    matched: int
    unmatched_open: int
    unmapped_roles: list[Role]
    active_roles: list[Role]

    @property
    def role_select(self) -> bool:
        """Few enough active roles for a drop-down in each row (else a search)."""
        return len(self.active_roles) <= ROLE_SELECT_MAX


def _counts(integration: AtsIntegration, open_states: Iterable[str]) -> dict[str, int]:
    matched_q = Q(mapping__role__isnull=False)
    return AtsPosting.objects.filter(integration=integration, removed_at__isnull=True).aggregate(
        postings_total=Count("pk"),
        matched=Count("pk", filter=matched_q),
        unmatched_open=Count("pk", filter=~matched_q & Q(state__in=list(open_states))),
    )


def _rows(
    integration: AtsIntegration,
    postings: Iterable[AtsPosting],
    facts: _RoleFacts,
    state_labels: dict[str, str],
) -> list[PostingRow]:
    """Rows for postings loaded with their mapping (one query for their candidacies)."""
    postings = list(postings)
    candidacies = posting_candidacy_counts(
        integration=integration, posting_ids=[p.posting_id for p in postings]
    )
    labels = dict(RoleMapping.Method.choices)
    rows = []
    for posting in postings:
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
                candidacy_count=candidacies.get(posting.posting_id, 0),
                suggestions=()
                if role is not None or method == RoleMapping.Method.UNMAPPED
                else tuple(facts.suggestions(posting.title_key, posting.requisition_codes)),
                state_label=state_labels.get(posting.state, posting.state),
            )
        )
    return rows


def _roles_of_page(integration: AtsIntegration, facts: _RoleFacts) -> tuple[list[Role], list[Role]]:
    """The group's active roles no current posting maps to, and every active role (by title)."""
    mapped_role_ids = set(
        RoleMapping.objects.filter(
            posting__integration=integration,
            posting__removed_at__isnull=True,
            role__isnull=False,
        ).values_list("role_id", flat=True)
    )
    roles = sorted(facts.roles.values(), key=lambda r: (r.title.casefold(), r.pk))
    active = [r for r in roles if r.active]
    return [r for r in active if r.pk not in mapped_role_ids], active


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
    counts = _counts(integration, adapter.posting_open_states)
    listed = AtsPosting.objects.filter(
        integration=integration, removed_at__isnull=True
    ).select_related("mapping", "mapping__role")
    if unmatched_only:
        listed = listed.exclude(mapping__role__isnull=False)
    if state:
        listed = listed.filter(state=state)
    page_obj = Paginator(listed.order_by("title", "posting_id"), POSTINGS_PER_PAGE).get_page(page)
    facts = _RoleFacts.load(integration)
    unmapped_roles, active_roles = _roles_of_page(integration, facts)
    return RolesPage(
        rows=_rows(integration, page_obj.object_list, facts, dict(adapter.posting_states)),
        page_obj=page_obj,
        unmapped_roles=unmapped_roles,
        states=adapter.posting_states,
        active_roles=active_roles,
        **counts,
    )


def roles_page_row(*, integration: AtsIntegration, posting_id: str) -> RolesRow:
    """One current posting's row of the roles page, after a change, with the page's counts
    and role lists. Http404 when the integration has no such posting. Constant queries."""
    adapter = ats.adapter_for(integration.ats, ats.Postings)
    posting = get_object_or_404(
        AtsPosting.objects.select_related("mapping", "mapping__role"),
        integration=integration,
        removed_at__isnull=True,
        posting_id=posting_id,
    )
    facts = _RoleFacts.load(integration)
    unmapped_roles, active_roles = _roles_of_page(integration, facts)
    (row,) = _rows(integration, [posting], facts, dict(adapter.posting_states))
    return RolesRow(
        row=row,
        unmapped_roles=unmapped_roles,
        active_roles=active_roles,
        **_counts(integration, adapter.posting_open_states),
    )


def unmatched_published_with_candidacies(*, integration: AtsIntegration) -> list[AtsPosting]:
    """Open postings with no role that candidacies were invited from (see the block comment):
    candidates of a posting Karat can't place any more (unmapped, or a conflict since). One
    query, two when there are unmatched open postings."""
    adapter = ats.adapter_for(integration.ats, ats.Postings)
    postings = AtsPosting.objects.filter(
        integration=integration,
        removed_at__isnull=True,
        state__in=list(adapter.posting_open_states),
    ).exclude(mapping__role__isnull=False)
    unmatched = list(postings.only("posting_id", "title", "state"))
    if not unmatched:
        return []
    counts = posting_candidacy_counts(
        integration=integration, posting_ids=[p.posting_id for p in unmatched]
    )
    return [p for p in unmatched if counts.get(p.posting_id)]


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


def role_list_links(group: Group, is_admin: bool) -> list[tuple[str, str]]:
    """The Roles page's links to the group's postings and their matching, one per integration
    (karatlever.hiring.hooks; registered by ``IntegrationsConfig.ready``). Admins only: the
    integration pages are theirs. One query."""
    if not is_admin:
        return []
    return [
        (
            f"{ats.adapter_for(integration.ats).label} postings and matching",
            reverse("integrations:roles", kwargs={"public_id": integration.public_id}),
        )
        for integration in AtsIntegration.objects.filter(group=group).order_by("ats")
    ]


# --- posting pickers (search as you type) ----------------------------------------------------

POSTING_MATCHES_MAX = 20


def _summaries(postings: QuerySet[AtsPosting]) -> list[PostingSummary]:
    """``postings`` (ordered, maybe sliced) as summaries. One query."""
    return [
        PostingSummary(
            posting_id=posting_id, title=title, state=state, team=team, location=location
        )
        for posting_id, title, state, team, location in postings.values_list(
            "posting_id", "title", "state", "team", "location"
        )
    ]


def posting_search(
    *, integration: AtsIntegration, query: str, limit: int = POSTING_MATCHES_MAX
) -> list[PostingSummary]:
    """At most ``limit`` current postings whose title, team, location or id contains
    ``query`` (case-insensitive), by title: a picker's matches, so a page never lists 5,000
    postings. An empty query gives the first ``limit`` by title. One query."""
    postings = AtsPosting.objects.filter(integration=integration, removed_at__isnull=True)
    query = query.strip()[:100]
    if query:
        postings = postings.filter(
            Q(title__icontains=query)
            | Q(team__icontains=query)
            | Q(location__icontains=query)
            | Q(posting_id__iexact=query)
        )
    return _summaries(postings.order_by("title", "posting_id")[:limit])


def posting_summaries_get(
    *, integration: AtsIntegration, posting_ids: Iterable[str]
) -> list[PostingSummary]:
    """The integration's postings among ``posting_ids`` (removed ones too: a saved choice
    still needs its label), by title; unknown ids are left out. One query."""
    wanted = [p for p in posting_ids if p]
    if not wanted:
        return []
    postings = AtsPosting.objects.filter(integration=integration, posting_id__in=wanted)
    return _summaries(postings.order_by("title", "posting_id"))


def posting_any_synced(*, integration: AtsIntegration) -> bool:
    """Whether the roles page's sync has stored any posting yet. One query."""
    return AtsPosting.objects.filter(integration=integration).exists()


# --- the role picker of a posting's row (search as you type) ---------------------------------

# Up to this many active roles, each row offers them all in a drop-down; beyond, a search.
ROLE_SELECT_MAX = 50
ROLE_MATCHES_MAX = 20


def role_choice_search(
    *, integration: AtsIntegration, query: str, limit: int = ROLE_MATCHES_MAX
) -> list[Role]:
    """At most ``limit`` active roles of the integration's group whose title or requisition
    code contains ``query`` (case-insensitive), by title; the first ones when it is empty.
    One query."""
    roles = Role.objects.filter(group_id=integration.group_id, active=True)
    query = query.strip()[:100]
    if query:
        roles = roles.filter(Q(title__icontains=query) | Q(requisition_code__icontains=query))
    return list(roles.order_by("title", "pk")[:limit])


def posting_get(*, integration: AtsIntegration, posting_id: str) -> AtsPosting:
    """One current posting of the integration; Http404 otherwise (another integration's
    too). One query."""
    return get_object_or_404(
        AtsPosting, integration=integration, removed_at__isnull=True, posting_id=posting_id
    )
