"""Hiring app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class HiringConfig(AppConfig):
    name = "karatlever.hiring"
    label = "hiring"
    verbose_name = "Hiring"
