"""Demo app configuration (the seed_demo command)."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "karatlever.demo"
    label = "demo"
    verbose_name = "Demo data"

    def ready(self) -> None:
        from karatlever.demo import checks  # noqa: F401 - registers the local secrets check
