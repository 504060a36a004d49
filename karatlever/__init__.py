"""karatlever: the Karat ⇄ Lever ATS integration console."""

from __future__ import annotations

from karatlever.celery import app as celery_app

__all__ = ["celery_app"]
