"""Inbound Lever webhooks: the durable inbox."""
