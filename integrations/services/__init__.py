"""Writes for ATS integrations, one module per concern.

- ``lifecycle``: create, settings (key, User ID, region), rate limit, enable/disable, delete,
  and the input rules forms and serializers share.
- ``keys``: API key checks (``KeyCheck`` rows), their task body and the lost-check resume.
- ``audit``: the audit log.
- ``health``: the one writer of ``last_success_at`` / ``last_error``.

Import the module you need (``from integrations.services import lifecycle``).
"""
