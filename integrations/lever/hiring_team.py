"""Lever's hiring-team people (integrations/lever/README.md §17): a posting's owner, hiring
manager and followers, and an opportunity's owner, read from ``expand``-ed user objects and
turned into ``ats.AtsPerson`` with their email validated (Lever's values are untrusted)."""

from __future__ import annotations

import logging
from typing import Any

from integrations.ats import AtsPerson, person_email_clean, person_name_clean
from integrations.lever.schemas import PostingTeam

logger = logging.getLogger(__name__)

OWNER = "owner"
HIRING_MANAGER = "hiring_manager"
FOLLOWER = "follower"


class NotExpanded(ValueError):
    """Lever's answer does not carry the expanded user objects (an id, or something else)."""


def person_from_lever(value: Any, team_role: str) -> AtsPerson | None:
    """One expanded Lever user (§17.1: ``{id, name, email, …}``) → AtsPerson; None for
    ``null`` (nobody in that role). Raises NotExpanded for a plain id or any other shape.
    An unusable email becomes "" (the person is still listed, by name)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise NotExpanded(f"{team_role} is not an expanded user")
    return AtsPerson(
        user_id=value["id"][:64],
        name=person_name_clean(value.get("name")),
        email=person_email_clean(value.get("email")),
        team_roles=(team_role,),
    )


def posting_team(team: PostingTeam, *, posting_id: str) -> tuple[AtsPerson, ...] | None:
    """The posting's hiring team, one AtsPerson per Lever user (merged roles, in the order
    owner, hiring manager, followers), or None when Lever's answer did not carry the
    expansions (missing or malformed: the team Karat knows stays, §17.3)."""
    try:
        people = [
            person_from_lever(team.owner, OWNER),
            person_from_lever(team.hiring_manager, HIRING_MANAGER),
        ]
        followers = team.followers
        if followers is None:
            followers = []
        if not isinstance(followers, list):
            raise NotExpanded("followers is not a list")
        people += [person_from_lever(f, FOLLOWER) for f in followers]
    except NotExpanded as exc:
        # The posting id is Lever's and passed through ``%s`` only (never formatted into
        # the message), so a hostile value can't forge log lines beyond its own field.
        logger.info("posting %r: hiring team not usable (%s)", posting_id[:64], exc)
        return None
    merged: dict[str, AtsPerson] = {}
    for person in people:
        if person is None:
            continue
        known = merged.get(person.user_id)
        if known is None:
            merged[person.user_id] = person
        elif person.team_roles[0] not in known.team_roles:
            merged[person.user_id] = AtsPerson(
                known.user_id, known.name, known.email, (*known.team_roles, *person.team_roles)
            )
    return tuple(merged.values())


def opportunity_owner(value: Any) -> tuple[AtsPerson | None, bool]:
    """(owner, known) of an opportunity read with ``expand=owner`` (§17.2): known False when
    the owner is a plain id or malformed, so the recruiter Karat has stays."""
    try:
        return person_from_lever(value, OWNER), True
    except NotExpanded:
        return None, False
