"""A local stand-in Lever (Data API v1, webhooks, control pages) for demos, tests and benches."""

from __future__ import annotations

from integrations.lever.sandbox.demo import (
    DEMO_API_KEY,
    DEMO_SEED,
    DemoData,
    candidate_url,
    demo_data,
    demo_opportunity,
    demo_opportunity_ids,
)
from integrations.lever.sandbox.faults import FaultConfig
from integrations.lever.sandbox.permissions import ALL_PERMISSIONS, KARAT_PERMISSIONS, PERMISSIONS
from integrations.lever.sandbox.server import SandboxServer
from integrations.lever.sandbox.state import COUNTER_KINDS, DELIVERED_EVENTS, sign

__all__ = [
    "ALL_PERMISSIONS",
    "COUNTER_KINDS",
    "DELIVERED_EVENTS",
    "DEMO_API_KEY",
    "DEMO_SEED",
    "KARAT_PERMISSIONS",
    "PERMISSIONS",
    "DemoData",
    "FaultConfig",
    "SandboxServer",
    "candidate_url",
    "demo_data",
    "demo_opportunity",
    "demo_opportunity_ids",
    "sign",
]
