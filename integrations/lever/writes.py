"""Post candidacy updates to Lever: notes, tags, links and stage moves
(integrations/lever/README.md §7.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from integrations.ats import AtsAccount, CallProfile, Writes
from integrations.lever.base import LeverBase
from integrations.lever.calls import client_for, translated, write_translated


class LeverWrites(LeverBase, Writes):
    """One Lever request per write (tags: two), never retried here: the outbox row retries."""

    def note_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        text: str,
        secret: bool,
        score: int | None,
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """``POST /opportunities/:id/notes?perform_as=`` with ``{value, secret, score?}``
        (integrations/lever/README.md §7.2); Lever answers the note (``noteId``, or ``id``;
        integrations/lever/README.md §8.5). Never retried by the client."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with write_translated(client, opportunity_id):
            return client.add_note(opportunity_id, text, secret=secret, score=score).id

    def note_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """``GET /opportunities/:id/notes`` (every page), looking for ``marker`` in any field
        of each note (Lever keeps the note's body in ``fields[].value``)."""
        client = client_for(account, profile)
        with translated(client, record=True):
            for note in client.iter_notes(opportunity_id):
                if marker in (note.value or "") or marker in (note.text or ""):
                    return note.id
        return None

    def tags_replace(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``POST …/removeTags`` (when ``remove``) then ``POST …/addTags``
        (integrations/lever/README.md §7.2). Lever has no "replace": removing first means the
        opportunity never shows two Karat status tags."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        stale = [tag for tag in remove if tag not in add]
        with write_translated(client, opportunity_id):
            if stale:
                client.remove_tags(opportunity_id, stale)
            if add:
                client.add_tags(opportunity_id, list(add))

    def links_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        links: Sequence[str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``POST …/addLinks`` (integrations/lever/README.md §7.2): links live on the contact,
        so every opportunity of the person shows them."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with write_translated(client, opportunity_id):
            client.add_links(opportunity_id, list(links))

    def stage_move(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        stage_id: str,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``PUT …/stage`` with ``{"stage": id}`` (integrations/lever/README.md §7.2); the same
        stage again changes nothing."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with write_translated(client, opportunity_id):
            client.move_stage(opportunity_id, stage_id)
