"""The connection's rules: lifecycle (create, settings, enable, delete), key checks, the audit
log and the one writer of the integration's health (outcomes)."""
