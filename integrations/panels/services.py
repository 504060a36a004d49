"""The Karat interview on the ATS's schedule: which panel writes a milestone queues in the
outbox, how the drain sends each, and the admin's on/off setting.

Rules (docs/interview-panels.md):

- ``scheduled``: the candidacy's current panel is moved (``panel_edit``), or a new one is made
  (``panel_add``). A panel removed in the ATS by someone else (``gone``) is never recreated for
  the same booking: a person took it off the schedule on purpose, or the opportunity went.
- ``cancelled`` / ``expired``: the current panel is removed (``panel_del``).
- ``completed`` / ``results_ready``: the panel stays in the ATS; Karat stops tracking it.
- ``redo``: a new attempt; the next ``scheduled`` makes a new panel.

Only panels Karat created (an ``InterviewPanel`` row holding the ATS's id) are ever changed.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.features import INTERVIEW_PANELS
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    IntegrationStatus,
    InterviewPanel,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.selectors import outbound_acting_user
from integrations.outbound.services.notes import outbound_settings_get
from integrations.status.refresh import status_refresh_request
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

Kind = OutboundUpdate.Kind
State = InterviewPanel.State
PANEL_KINDS = frozenset({Kind.PANEL_CREATE, Kind.PANEL_UPDATE, Kind.PANEL_DELETE})
# When the interview platform sends no length or time zone (both optional on the milestone).
DEFAULT_DURATION_MINUTES = 60
DEFAULT_TIME_ZONE = "UTC"
SUBJECT_MAX_LENGTH = 200
# What an ATS's panel id may look like to be stored and sent back (Lever's are UUIDs).
_REMOTE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class PanelSkipped(ats.AtsRecordError):
    """This panel write has nothing to act on (never created, or removed in the ATS): the
    outbox row ends as not sent with this message; nothing else is affected."""


# --- enqueue: inside the milestone's transaction ---------------------------------------------


def panel_payloads(
    *,
    candidacy: Candidacy,
    event: CandidacyEvent,
    link: OpportunityLink,
    outbound: OutboundSettings,
) -> list[tuple[str, dict[str, Any]]]:
    """The panel write a milestone needs, as outbox ``(kind, payload)`` pairs (none, or one).

    Call inside the milestone's transaction (``outbound_milestone_enqueue``): it also records
    the ``InterviewPanel`` row it acts on. Writes nothing while the option is off, or for an
    ATS without panels. ``payload``: ``{"panel": InterviewPanel pk}`` plus, for a create or a
    move, ``start`` (ISO 8601, UTC), ``duration_minutes``, ``time_zone``, ``subject``,
    ``note``, ``url`` and (create only) ``marker``.
    """
    if not outbound.panels_enabled:
        return []
    if ats.capability(link.integration.ats, ats.Panels) is None:
        return []
    milestone = event.milestone
    latest = _latest_panel(candidacy=candidacy, link=link)
    current = latest if latest is not None and latest.state in InterviewPanel.CURRENT else None
    now = timezone.now()
    if milestone == Milestone.SCHEDULED:
        if candidacy.interview_scheduled_at is None:
            return []
        if latest is not None and latest.state == State.GONE:
            # Removed in the ATS by someone else: respect it for this booking.
            logger.info(
                "interview panel #%s was removed in the ATS; not recreated",
                latest.pk,
                extra={"integration_id": link.integration.public_id},
            )
            return []
        spec = _spec_payload(candidacy)
        if current is not None:
            InterviewPanel.objects.filter(pk=current.pk).update(
                scheduled_at=candidacy.interview_scheduled_at,
                duration_minutes=spec["duration_minutes"],
                time_zone=spec["time_zone"],
                updated_at=now,
            )
            return [(Kind.PANEL_UPDATE, {"panel": current.pk, **spec})]
        panel = InterviewPanel.objects.create(
            integration=link.integration,
            candidacy=candidacy,
            opportunity_id=link.opportunity_id,
            scheduled_at=candidacy.interview_scheduled_at,
            duration_minutes=spec["duration_minutes"],
            time_zone=spec["time_zone"],
            created_at=now,
        )
        # Found again by this after a create whose answer was lost (panel_find).
        marker = f"kl-{secrets.token_hex(6)}"
        return [(Kind.PANEL_CREATE, {"panel": panel.pk, **spec, "marker": marker})]
    if milestone in (Milestone.CANCELLED, Milestone.EXPIRED) and current is not None:
        # Marked now, so a later booking never moves a panel that is on its way out.
        InterviewPanel.objects.filter(pk=current.pk).update(state=State.DELETED, updated_at=now)
        return [(Kind.PANEL_DELETE, {"panel": current.pk})]
    if milestone in (Milestone.COMPLETED, Milestone.RESULTS_READY) and current is not None:
        InterviewPanel.objects.filter(pk=current.pk).update(state=State.CLOSED, updated_at=now)
    if (
        milestone == Milestone.REDO
        and latest is not None
        and latest.state in (*InterviewPanel.CURRENT, State.GONE)
    ):
        # A new attempt: whatever happened to the last panel, the next booking gets a new one.
        InterviewPanel.objects.filter(pk=latest.pk).update(state=State.CLOSED, updated_at=now)
    return []


def _latest_panel(*, candidacy: Candidacy, link: OpportunityLink) -> InterviewPanel | None:
    """The candidacy's newest panel on this opportunity; a pending one whose create has ended
    without reaching the ATS (given up, or not sent) is ``failed`` from now on."""
    panel = (
        InterviewPanel.objects.filter(
            candidacy=candidacy,
            integration_id=link.integration_id,
            opportunity_id=link.opportunity_id,
        )
        .order_by("-id")
        .first()
    )
    if panel is not None and panel.state == State.PENDING and not panel.remote_id:
        ended = (
            OutboundUpdate.objects.filter(
                integration_id=link.integration_id,
                candidacy=candidacy,
                kind=Kind.PANEL_CREATE,
                payload__panel=panel.pk,
            )
            .exclude(status__in=(*OutboundUpdate.UNSENT, OutboundUpdate.Status.SENT))
            .exists()
        )
        if ended:
            InterviewPanel.objects.filter(pk=panel.pk).update(state=State.FAILED)
            panel.state = State.FAILED
    return panel


def _spec_payload(candidacy: Candidacy) -> dict[str, Any]:
    """What the panel says, from the candidacy's booking (the role title is Karat's own)."""
    scheduled_at = candidacy.interview_scheduled_at
    assert scheduled_at is not None  # noqa: S101 - the caller checked
    role = candidacy.role.title
    url = candidacy.interview_url
    note = f"Karat technical interview for {role}." + (f" Join: {url}" if url else "")
    return {
        "start": scheduled_at.astimezone(UTC).isoformat(),
        "duration_minutes": candidacy.interview_duration_minutes or DEFAULT_DURATION_MINUTES,
        "time_zone": candidacy.interview_timezone or DEFAULT_TIME_ZONE,
        "subject": f"Karat interview: {role}"[:SUBJECT_MAX_LENGTH],
        "note": note,
        "url": url,
    }


# --- send: one claimed outbox row, from the drain ---------------------------------------------


def panel_write(
    *,
    row: OutboundUpdate,
    integration: AtsIntegration,
    account: ats.AtsAccount,
    acting_user_id: str,
    profile: ats.CallProfile,
) -> str:
    """Send one panel row (``row.kind`` in PANEL_KINDS); returns the ATS's panel id.

    Raises what the adapter raises (the drain decides: retry, wait, pause or end), plus
    PanelSkipped when there is nothing to act on, and AtsRequestError when no ATS user is set
    to write as (Lever requires ``perform_as`` on panels: integrations/lever/README.md §16).
    Records the outcome on the ``InterviewPanel``: active once created, gone when the ATS no
    longer has it, failed when a create is refused.
    """
    payload = row.payload or {}
    panel_pk = payload.get("panel")
    panel = (
        InterviewPanel.objects.filter(pk=panel_pk).first() if isinstance(panel_pk, int) else None
    )
    if panel is None:
        raise PanelSkipped("Karat no longer has a record of this interview panel.")
    adapter = ats.adapter_for(integration.ats, ats.Panels)
    if not acting_user_id:
        error = ats.AtsRequestError(
            f"{adapter.label} creates and changes panels only as one of its users: choose who "
            "updates are posted as in Settings → Updates posted to Lever."
        )
        if row.kind == Kind.PANEL_CREATE:
            _panel_mark(panel, State.FAILED, error.message)
        raise error
    if row.kind == Kind.PANEL_CREATE:
        return _create(row, panel, adapter, account, acting_user_id, profile)
    if not panel.remote_id:
        raise PanelSkipped(
            f"The interview panel was never created in {adapter.label}, so there is nothing "
            "to change."
        )
    if panel.state == State.GONE:
        raise PanelSkipped(f"The interview panel was already removed in {adapter.label}.")
    if row.kind == Kind.PANEL_UPDATE:
        try:
            adapter.panel_update(
                account,
                panel.opportunity_id,
                panel.remote_id,
                spec=_spec(payload, acting_user_id, marker=""),
                acting_user_id=acting_user_id,
                profile=profile,
            )
        except ats.AtsRecordNotFound as exc:
            raise _gone(panel, adapter.label, exc) from exc
        return panel.remote_id
    try:
        adapter.panel_delete(
            account,
            panel.opportunity_id,
            panel.remote_id,
            acting_user_id=acting_user_id,
            profile=profile,
        )
    except ats.AtsRecordNotFound as exc:
        # Already gone: what the delete was for. The row ends as sent; the panel says why.
        _panel_mark(panel, State.GONE, f"Already removed in {adapter.label} ({exc.message}).")
        return panel.remote_id
    _panel_mark(panel, State.DELETED, "")
    return panel.remote_id


def _create(
    row: OutboundUpdate,
    panel: InterviewPanel,
    adapter: ats.Panels,
    account: ats.AtsAccount,
    acting_user_id: str,
    profile: ats.CallProfile,
) -> str:
    payload = row.payload or {}
    marker = str(payload.get("marker") or "")
    found = None
    if row.outcome_unknown and marker:
        # The last attempt may have created it: look before creating it twice.
        found = adapter.panel_find(account, panel.opportunity_id, marker=marker, profile=profile)
    if found is None:
        try:
            found = adapter.panel_create(
                account,
                panel.opportunity_id,
                spec=_spec(payload, acting_user_id, marker=marker),
                acting_user_id=acting_user_id,
                profile=profile,
            )
        except (ats.AtsRecordError, ats.AtsRequestError) as exc:
            # Refused for good (deleted or hidden opportunity, no permission, bad request):
            # the next booking tries again.
            _panel_mark(panel, State.FAILED, exc.message)
            raise
    if not _REMOTE_ID.fullmatch(found):
        # Values from the ATS are untrusted: an id that could not go back into a URL path as
        # it is (or would be cut) can't be used to move or remove the panel later.
        error = ats.AtsRequestError(
            f"{adapter.label} answered the new panel with an id Karat can't use; it can't be "
            "moved or removed from Karat."
        )
        _panel_mark(panel, State.FAILED, error.message)
        raise error
    # A panel marked deleted meanwhile (cancelled while its create was out) stays so: its
    # delete row comes next and removes it.
    InterviewPanel.objects.filter(pk=panel.pk).update(remote_id=found, last_error="")
    InterviewPanel.objects.filter(pk=panel.pk, state__in=(State.PENDING, State.FAILED)).update(
        state=State.ACTIVE
    )
    _status_refresh_if_waiting(panel.integration_id)
    return found


def _status_refresh_if_waiting(integration_id: int) -> None:
    """A panel reached the ATS: when the status snapshot still shows this feature waiting for
    its first panel (or its permission unchecked, or refused), ask for a recompute, so the
    page does not wait for the periodic one. One query; the request itself is deduplicated."""
    snapshot = IntegrationStatus.objects.filter(integration_id=integration_id).first()
    if snapshot is None:
        return
    feature = next((f for f in snapshot.features if f.get("key") == INTERVIEW_PANELS), None)
    if feature is not None and feature.get("level") != "ok":
        status_refresh_request(
            integration_id=integration_id, reason="The first interview panel reached Lever"
        )


def _gone(panel: InterviewPanel, label: str, exc: ats.AtsError) -> PanelSkipped:
    message = (
        f"The interview panel is no longer in {label} (a person removed it, or the "
        f"opportunity was deleted): Karat does not put it back ({exc.message})."
    )
    _panel_mark(panel, State.GONE, message)
    return PanelSkipped(message, status_code=exc.status_code)


def _panel_mark(panel: InterviewPanel, state: str, error: str) -> None:
    InterviewPanel.objects.filter(pk=panel.pk).update(
        state=state, last_error=error, updated_at=timezone.now()
    )


def _spec(payload: dict[str, Any], interviewer_id: str, *, marker: str) -> ats.PanelSpec:
    start = parse_datetime(str(payload.get("start") or ""))
    if start is None or timezone.is_naive(start):
        raise ats.AtsRequestError("The queued panel has no valid interview time.")
    return ats.PanelSpec(
        start=start,
        duration_minutes=int(payload.get("duration_minutes") or DEFAULT_DURATION_MINUTES),
        time_zone=str(payload.get("time_zone") or DEFAULT_TIME_ZONE),
        interviewer_id=interviewer_id,
        subject=str(payload.get("subject") or ""),
        note=str(payload.get("note") or ""),
        url=str(payload.get("url") or ""),
        marker=marker,
    )


# --- the admin's setting ----------------------------------------------------------------------


class PanelSettingsError(ApplicationError):
    """The interview panels can't be turned on as asked; nothing was changed."""


def panel_settings_update(
    *, integration: AtsIntegration, actor: User | None, enabled: bool
) -> OutboundSettings:
    """Turn the interview panels on or off (audited when it changes). Turning them off queues
    nothing more; panels already in the ATS stay, and writes already queued still go out, so
    no panel is left half-changed. Turning them on needs a user to write as (Lever requires
    ``perform_as`` on panels: integrations/lever/README.md §16): raises PanelSettingsError
    and changes nothing without one, as the feedback form option does."""
    outbound = outbound_settings_get(integration=integration)
    if enabled and not outbound_acting_user(integration=integration, outbound=outbound).user_id:
        raise PanelSettingsError(
            "Lever changes its schedule only as a user: first choose who Karat posts updates "
            "as (Updates posted to Lever → Post updates as, or the integration's User ID).",
            field="enabled",
            code="no_acting_user",
        )
    if outbound.panels_enabled != enabled:
        outbound.panels_enabled = enabled
        outbound.updated_by = actor
        outbound.save(update_fields=["panels_enabled", "updated_by", "updated_at"])
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.PANELS_SETTINGS_CHANGED,
            summary=f"Turned {'on' if enabled else 'off'} the Karat interview on Lever's schedule",
            detail={"panels_enabled": enabled},
        )
    return outbound
