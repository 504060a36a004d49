"""The Karat interview on Lever's schedule: panels Karat creates, moves and removes
(integrations/lever/README.md §16)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from integrations.ats import (
    AtsAccount,
    AtsPermissionMissing,
    CallProfile,
    Panels,
    PanelSpec,
    RemotePanel,
)
from integrations.lever.base import LeverBase
from integrations.lever.calls import client_for, translated, write_translated
from integrations.lever.client import LeverClient
from integrations.lever.errors import LeverError, LeverPermissionError
from integrations.lever.schemas import Panel

# Lever's feedback reminders for the interviewer: Karat writes the feedback itself, so none.
FEEDBACK_REMINDER = "none"


def panel_body(spec: PanelSpec) -> dict[str, Any]:
    """The JSON Lever takes for a panel with one interview (README §16): ``date`` in UTC ms,
    ``duration`` in minutes, ``timezone`` an IANA name. The marker goes into both notes, so a
    panel is found again by it whichever note Lever keeps (the recorded create answered
    ``note: null`` at the top while the interview kept its note)."""
    note = (
        f"{spec.note}\n\n(Karat ref {spec.marker})" if spec.note else f"(Karat ref {spec.marker})"
    )
    interview: dict[str, Any] = {
        "subject": spec.subject,
        "note": note,
        "interviewers": [{"id": spec.interviewer_id}],
        "date": int(spec.start.timestamp() * 1000),
        "duration": spec.duration_minutes,
        "feedbackReminder": FEEDBACK_REMINDER,
    }
    body: dict[str, Any] = {
        "timezone": spec.time_zone,
        "interviews": [interview],
        "feedbackReminder": FEEDBACK_REMINDER,
        "note": note,
    }
    if spec.url:
        interview["location"] = spec.url
        body["externalUrl"] = spec.url
    return body


@contextmanager
def _panel_translated(client: LeverClient, opportunity_id: str) -> Iterator[None]:
    """``write_translated``, except that a 403 on a readable opportunity is the missing panels
    permission (AtsPermissionMissing: only this optional write ends), not a key to fix for
    every update (README §16, §4.1)."""
    with write_translated(client, opportunity_id):
        try:
            yield
        except LeverPermissionError as exc:
            if "confidential" in (exc.message or "").lower():
                raise
            try:
                client.get_opportunity(opportunity_id)
            except LeverError:
                raise exc from None  # not readable either: write_translated decides
            raise AtsPermissionMissing(
                f"Lever refused the API key permission to write interview panels ({exc}). "
                "Add the panels permission to the key in Lever, or turn the interview "
                "panels off in Settings.",
                status_code=exc.status_code,
            ) from exc


def _text(panel: Panel) -> str:
    return "\n".join([panel.note, *(i.note for i in panel.interviews)])


class LeverPanels(LeverBase, Panels):
    """One Lever request per write, never retried here: the outbox row retries."""

    def panel_create(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        spec: PanelSpec,
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """``POST /opportunities/:id/panels?perform_as=`` (perform_as required, README §16);
        returns the panel's ``id``. Lever marks it ``externallyManaged``."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _panel_translated(client, opportunity_id):
            return client.create_panel(opportunity_id, panel_body(spec)).id

    def panel_update(
        self,
        account: AtsAccount,
        opportunity_id: str,
        panel_id: str,
        *,
        spec: PanelSpec,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``PUT /opportunities/:id/panels/:panel?perform_as=`` with the whole body again
        (README §16: whether Lever merges or replaces is UNCONFIRMED, so nothing is left out)."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _panel_translated(client, opportunity_id):
            client.update_panel(opportunity_id, panel_id, panel_body(spec))

    def panel_delete(
        self,
        account: AtsAccount,
        opportunity_id: str,
        panel_id: str,
        *,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``DELETE /opportunities/:id/panels/:panel?perform_as=`` → 204 (README §16)."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _panel_translated(client, opportunity_id):
            client.delete_panel(opportunity_id, panel_id)

    def panel_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """``GET /opportunities/:id/panels`` (every page): the externally managed panel whose
        note (the panel's or an interview's) holds ``marker``."""
        for panel in self.panels_list(account, opportunity_id, profile=profile):
            if panel.externally_managed and marker in panel.text:
                return panel.panel_id
        return None

    def panels_list(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> list[RemotePanel]:
        client = client_for(account, profile)
        with translated(client, record=True):
            return [
                RemotePanel(p.id, p.externally_managed, p.start, _text(p))
                for p in client.iter_panels(opportunity_id)
            ]
