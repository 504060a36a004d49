"""Writes for ATS integrations, one module per concern.

- ``lifecycle``: create, settings (key, User ID, region), rate limit, enable/disable, delete,
  and the input rules forms and serializers share.
- ``keys``: API key checks (``KeyCheck`` rows), their task body and the lost-check resume.
- ``audit``: the audit log.
- ``health``: the one writer of ``last_success_at`` / ``last_error``.

Import the module you need (``from integrations.services import lifecycle``).
"""

from __future__ import annotations

# Kept for callers outside integrations/ until they import the module they need
# (webhooks/services/setup.py, karatlever/demo/management/commands/seed_demo.py).
from integrations.services.audit import audit_entry_record
from integrations.services.lifecycle import integration_create, integration_settings_update

__all__ = ["audit_entry_record", "integration_create", "integration_settings_update"]
