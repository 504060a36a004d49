"""Registries through which apps above hiring add to its pages and API (hiring never imports
them: they register from their ``AppConfig.ready()``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy

# Extra context for one candidacy. Known keys: ``ats_profile``, a ``(label, url)`` pair or
# None (integrations: the candidate's profile in the ATS, e.g. ``("Lever", "https://hire…")``),
# ``ats_label``, the name of the candidacy's ATS ("Lever"; its group's when not linked) that
# its timeline shows in place of ``CandidacyEvent.THE_ATS`` and credits entries from the ATS
# with (stored entries name no ATS), ``ats_event_labels``, the ATS's webhook event codes ->
# labels ("candidateStageChange" -> "Candidate Stage Change"), ``ats_link``, as in the list
# hook below (None: not linked), and ``ats_unlinked``, ``{"summary", "at"}`` of why a
# candidacy linked before is not any more (None otherwise). Not linked, the page shows the
# ATS state it kept as the last known, never as current.
CandidacyContextHook = Callable[[Candidacy], dict[str, Any]]
_candidacy_context_hooks: list[CandidacyContextHook] = []


def candidacy_context_hook_register(hook: CandidacyContextHook) -> None:
    """Add ``hook`` (once, however often it is registered)."""
    if hook not in _candidacy_context_hooks:
        _candidacy_context_hooks.append(hook)


def candidacy_context(candidacy: Candidacy) -> dict[str, Any]:
    """Every registered hook's context for ``candidacy``, merged (later hooks win)."""
    context: dict[str, Any] = {}
    for hook in _candidacy_context_hooks:
        context.update(hook(candidacy))
    return context


# Links the Roles page shows for a group, each a ``(label, url)`` pair, e.g. integrations'
# ("Lever postings and matching", its roles page). Called with the group and whether the
# viewer is an organization admin (who alone may open integration pages).
RoleListLinksHook = Callable[[Group, bool], list[tuple[str, str]]]
_role_list_links_hooks: list[RoleListLinksHook] = []


def role_list_links_hook_register(hook: RoleListLinksHook) -> None:
    """Add ``hook`` (once, however often it is registered)."""
    if hook not in _role_list_links_hooks:
        _role_list_links_hooks.append(hook)


def role_list_links(group: Group, *, is_admin: bool) -> list[tuple[str, str]]:
    """Every registered hook's links for the Roles page of ``group``, in registration order."""
    return [link for hook in _role_list_links_hooks for link in hook(group, is_admin)]


# The same for a page of candidacies at once, by candidacy pk, so a list costs a constant number
# of queries. Known key: ``ats_link``, a dict ``{ats, integration, opportunity_id, url}`` or
# None (integrations: the candidacy's opportunity in the ATS).
CandidacyListContextHook = Callable[[Sequence[Candidacy]], dict[int, dict[str, Any]]]
_candidacy_list_context_hooks: list[CandidacyListContextHook] = []


def candidacy_list_context_hook_register(hook: CandidacyListContextHook) -> None:
    """Add ``hook`` (once, however often it is registered)."""
    if hook not in _candidacy_list_context_hooks:
        _candidacy_list_context_hooks.append(hook)


def candidacy_list_context(candidacies: Sequence[Candidacy]) -> dict[int, dict[str, Any]]:
    """Every registered list hook's context for each of ``candidacies``, by pk (each hook
    answers for the whole sequence at once)."""
    context: dict[int, dict[str, Any]] = {c.pk: {} for c in candidacies}
    for hook in _candidacy_list_context_hooks:
        for pk, extra in hook(candidacies).items():
            context.setdefault(pk, {}).update(extra)
    return context
