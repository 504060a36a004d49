"""Post candidacy updates to the ATS: a transactional outbox of notes, status tags, report
links and stage moves, sent in order per opportunity through the shared per-key rate bucket.

Flow: a Karat milestone fires ``hiring.signals.candidacy_changed`` inside its transaction;
``candidacy_changed_receive`` turns it into ``OutboundUpdate`` rows in that same transaction
(``outbound_milestone_enqueue``) and, on commit, publishes a drain of the integration. A drain
claims due rows one at a time (``select_for_update(skip_locked=True)`` where the database has
row locks, then a conditional UPDATE that is the claim everywhere), sends each through the ATS
adapter and records the outcome in the row. Waits live in ``next_attempt_at`` (and, after a
write that got no answer, ``outcome_unknown_until``, which the claim itself checks); the periodic
``outbound_sweep`` frees claims of killed workers and publishes drains for anything due.

- ``notes``: the settings row, note templates and their rendering, status tags, scores.
- ``enqueue``: the milestone's rows (in its transaction) and the drain published on commit.
- ``drain``: claim, send, retry or give up, the queue pause, the timeline entry, the sweeper.
- ``actions``: admins' retry / give up / settings save, and the settings form's ATS lookups.

Import the module you need (``from integrations.outbound.services import drain``).
"""
