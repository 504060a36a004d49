"""Inviting candidates from ATS URLs: preview, invite (one candidacy per opportunity, ever),
batches with progress. The automatic invite on an ATS stage is ``integrations.auto_invites``.

Every rule of inviting lives here; views, the API, Celery tasks and the automatic invite call
these functions. The ATS is read only through its adapter (``integrations/ats.py``).

- ``preview``: what one pasted URL is. A *preview* (``InvitePreview``) is an error with its own
  code and message, or a candidate with warnings; ``InviteCode`` holds the stable codes, and the
  role match lives here too.
- ``create``: what inviting it did. An *outcome* (``InviteOutcome``) has a ``code`` from
  ``InviteCode`` for the API; ``invite_urls`` is the API's many URLs in one request.
- ``batches``: the console's pastes, read and invited inline or in the worker.
- ``emails``: the invitation email, a row sent by the worker after the invite commits.

Import the module you need (``from integrations.invites.services import create``).
"""
