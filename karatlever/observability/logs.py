"""The JSON log format (``LOG_FORMAT=json``): one JSON object per line.

Keys: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message``, ``process``,
the context fields that are set (``request_id``, ``integration_id``, ``delivery_id``,
``update_id``: context.py), ``exc_info`` (the traceback) when there is one, and any ``extra=``
values a call passes whose names do not look like secrets. Secrets are never logged in the
first place; as a second line of defence, passwords inside URLs and Fernet ciphertexts are
scrubbed from every string (``karatlever.middleware.secrets_scrubbed``), as for error reports.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from karatlever.middleware import secrets_scrubbed
from karatlever.observability.context import FIELDS

# `extra=` keys dropped whatever their value: a name like these is never safe to print.
_SECRET_NAMES = re.compile(r"key|secret|token|password|passwd|authorization|cookie|signature", re.I)
# The request id is a token by name only: keep it.
_ALLOWED = frozenset(FIELDS)
# LogContextFilter's plain-format helper (the JSON line has the fields themselves), and the
# HttpRequest django.request attaches: its repr is the full path, query string included, which
# may carry a token (the message already names the path).
_SKIPPED = frozenset({"log_context", "color_message", "request"})


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with our key names, context fields and scrubbing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(process)d")
        kwargs.setdefault(
            "rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exc_info"}
        )
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None:
                log_data.pop(name, None)
            else:
                log_data[name] = value

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # "time" first: lines read in order of time, level, logger, message.
        ordered = {"time": log_data.pop("time", None), **log_data}
        return {
            key: _scrubbed(value)
            for key, value in ordered.items()
            if key in _ALLOWED or (key not in _SKIPPED and not _SECRET_NAMES.search(key))
        }


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return secrets_scrubbed(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items() if not _SECRET_NAMES.search(str(k))}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value
