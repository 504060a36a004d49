"""Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, import_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")


class FilesystemBrokerNoHostnameFilter(logging.Filter):
    """Drops kombu's "No hostname was supplied. Reverting to default 'localhost'" warning.

    kombu logs it (logger kombu.connection) whenever a connection to a URL without a host is
    described, e.g. the embedded `filesystem://` broker, which has no host at all; the warning
    is noise there. settings.LOGGING attaches this filter only when the broker is `filesystem://`,
    so a Redis URL missing its host still warns.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "kombu.connection"
            and str(record.msg).startswith("No hostname was supplied.")
        )


app = Celery("karatlever")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_FILESYSTEM_BROKER_FOLDERS = (
    "data_folder_in",
    "data_folder_out",
    "processed_folder",
    "control_folder",
)
# Folders this process has already made; publishing must not pay for mkdir every time.
_made: set[Path] = set()


def local_folders() -> list[Path]:
    """The folders kombu's filesystem broker and beat's schedule file need (none on Redis)."""
    folders = [Path(app.conf.beat_schedule_filename).parent]
    if str(app.conf.broker_url or "").startswith("filesystem://"):
        options = app.conf.broker_transport_options or {}
        folders += [Path(options[key]) for key in _FILESYSTEM_BROKER_FOLDERS if options.get(key)]
    return folders


def local_folders_ensure(**_: Any) -> None:
    """Create the local folders on first use (settings only name them); safe to call often.

    Connected to `import_modules` (a worker or beat starting) and `before_task_publish` (any
    process about to publish): kombu's filesystem transport never creates its folders itself.
    """
    for folder in local_folders():
        if folder not in _made:
            folder.mkdir(parents=True, exist_ok=True)
            _made.add(folder)


import_modules.connect(local_folders_ensure, weak=False)
before_task_publish.connect(local_folders_ensure, weak=False)

# The request id travels in task headers, task run times are measured, and the worker logs
# through settings.LOGGING (karatlever/observability/tasks.py connects the signals).
import karatlever.observability.tasks  # noqa: E402, F401
