"""Webhook services: intake (receive and store), processing, reconciliation and setup."""
