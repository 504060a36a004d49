"""Bench settings: the real settings, plus bare and one-INSERT views to compare the receiver
against, and a middleware that reports each request's SQL statements in a response header."""

from __future__ import annotations

from karatlever.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Outermost, so it counts every statement of the request (sessions, the receiver, the insert).
MIDDLEWARE = ["bench.sql_count.SqlStatementCount", *MIDDLEWARE]  # noqa: F405
