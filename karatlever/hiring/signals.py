"""Hooks other apps subscribe to; `hiring` never imports them (dependency direction)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that changed a candidacy, with `candidacy` and `event`
# (a CandidacyEvent). Karat milestones are the events with `event.milestone` set (see
# services.candidacy_milestone_record for `event.detail`). Integrations turn it into outbound updates. It is sent for every event,
# including those whose `event.source` is the ATS itself (Lever stage, archive, hire): a
# receiver that writes to an ATS must skip events that came from that ATS, or it would echo
# Lever's own changes back to Lever.
candidacy_changed = Signal()
