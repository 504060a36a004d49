"""Hooks other apps subscribe to; `hiring` never imports them (dependency direction)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that changed a candidacy, with `candidacy` and `event`
# (a CandidacyEvent). Integrations turn it into outbound updates.
candidacy_changed = Signal()
