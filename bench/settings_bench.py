"""Bench settings: the real settings, plus a bare Django view to compare the receiver against."""

from __future__ import annotations

from karatlever.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
