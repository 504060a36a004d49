"""LOG_FORMAT=json: one JSON object per line with the context fields; secrets scrubbed; the
plain format carries the same context; a wrong LOG_FORMAT stops the process."""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from integrations.connection.services.lifecycle import integration_create
from integrations.models import AtsIntegration
from integrations.roles.services.sync import postings_sync_request
from karatlever.accounts.models import Group
from karatlever.observability.context import FIELDS, LogContextFilter, log_context
from karatlever.observability.logs import JsonFormatter
from tests.observability.conftest import Records

ROOT = Path(__file__).resolve().parents[2]


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "integrations.test", logging.WARNING, __file__, 1, message, args, None
    )
    for name, value in extra.items():
        setattr(record, name, value)
    LogContextFilter().filter(record)
    return record


def test_a_json_line_has_the_time_level_logger_message_and_context() -> None:
    with log_context(request_id="req-1", integration_id="3f1c", update_id=42):
        line = JsonFormatter().format(_record("sent %s", "note"))

    data = json.loads(line)
    assert data["message"] == "sent note"
    assert data["level"] == "WARNING"
    assert data["logger"] == "integrations.test"
    assert data["time"].endswith("+00:00")  # UTC
    assert data["request_id"] == "req-1"
    assert data["integration_id"] == "3f1c"
    assert data["update_id"] == "42"
    assert "delivery_id" not in data  # unset fields are left out, not null
    assert "log_context" not in data


def test_a_json_line_outside_any_context_has_no_context_fields() -> None:
    data = json.loads(JsonFormatter().format(_record("hello")))

    assert not {"request_id", "integration_id", "delivery_id", "update_id"} & set(data)


def test_json_lines_never_carry_secrets() -> None:
    canary = "canary-secret-7c1e9"
    fernet = "gAAAAA" + "b" * 60
    record = _record(
        "connecting to %s with %s",
        f"redis://user:{canary}@cache:6379/0",
        fernet,
        api_key=canary,
        webhook_secret=canary,
        headers={"Authorization": canary, "Accept": "json"},
        attempt=3,
    )
    try:
        raise RuntimeError(f"postgres://karat:{canary}@db/karat")
    except RuntimeError:
        record.exc_info = sys.exc_info()

    line = JsonFormatter().format(record)

    assert canary not in line
    assert fernet not in line
    data = json.loads(line)
    assert data["attempt"] == 3  # harmless extras are kept
    assert data["headers"] == {"Accept": "json"}
    assert "RuntimeError" in data["exc_info"]


def test_the_plain_format_carries_the_context() -> None:
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s%(log_context)s")

    with log_context(request_id="req-2", delivery_id=7):
        inside = formatter.format(_record("processed"))
    outside = formatter.format(_record("idle"))

    assert inside == "WARNING integrations.test processed request_id=req-2 delivery_id=7"
    assert outside == "WARNING integrations.test idle"


def test_a_field_passed_on_the_call_wins_over_the_context_for_that_line(
    records: Records,
) -> None:
    with log_context(request_id="req-3", integration_id="A"):
        logging.getLogger("integrations.test").info("resumed", extra={"integration_id": "B"})

    (record,) = records.records
    line = logging.Formatter("%(message)s%(log_context)s").format(record)
    data = json.loads(JsonFormatter().format(record))

    assert line == "resumed request_id=req-3 integration_id=B"  # once, in FIELDS order
    assert data["integration_id"] == "B"
    assert data["request_id"] == "req-3"  # the context fills the rest


def test_a_field_passed_on_the_call_is_logged_outside_any_context_too() -> None:
    record = _record("created", integration_id=7, delivery_id=None)

    assert logging.Formatter("%(message)s%(log_context)s").format(record) == (
        "created integration_id=7"
    )
    assert json.loads(JsonFormatter().format(record))["integration_id"] == "7"  # str(), as ever


def test_log_context_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown log context fields"), log_context(user="x"):
        pass


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "karatlever.settings", **env}
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


_LOG_A_LINE = """
import django, logging
django.setup()
from karatlever.observability.context import log_context
with log_context(request_id="req-sub", integration_id="int-1"):
    logging.getLogger("integrations.x").warning("hello %s", "world")
"""


def test_log_format_json_makes_every_console_line_json() -> None:
    result = _python(_LOG_A_LINE, LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-sub"
    assert line["integration_id"] == "int-1"


def test_the_default_plain_format_appends_the_context() -> None:
    result = _python(_LOG_A_LINE, LOG_FORMAT="plain")

    assert result.returncode == 0, result.stderr
    assert "WARNING integrations.x hello world request_id=req-sub integration_id=int-1" in (
        result.stderr
    )


def test_an_unknown_log_format_is_refused() -> None:
    result = _python("import django; django.setup()", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert 'LOG_FORMAT must be "plain" or "json"' in result.stderr


def test_djangos_request_object_is_left_out_its_query_string_may_carry_a_token(
    rf: RequestFactory,
) -> None:
    request = rf.get("/settings/?token=canary-query-token")
    record = _record("Not Found: %s", request.path, request=request, status_code=404)

    data = json.loads(JsonFormatter().format(record))

    assert "canary-query-token" not in json.dumps(data)
    assert data["message"] == "Not Found: /settings/"
    assert data["status_code"] == 404


# --- context fields belong in the context, not in the message ---------------------------------
_LEVELS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})


def _logged_formats(path: Path) -> list[tuple[int, str]]:
    """(line, format string) of each logger call in ``path`` whose message is a literal:
    ``logger.info("…", …)`` and ``logger.log(level, "…", …)``; an f-string's literal parts."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and "log" in node.func.value.id.lower()
        ):
            continue
        position = 0 if node.func.attr in _LEVELS else 1 if node.func.attr == "log" else None
        if position is None or len(node.args) <= position:
            continue
        message = node.args[position]
        if isinstance(message, ast.JoinedStr):
            parts = [v.value for v in message.values if isinstance(v, ast.Constant)]
            found.append((node.lineno, "".join(str(part) for part in parts)))
        elif isinstance(message, ast.Constant) and isinstance(message.value, str):
            found.append((node.lineno, message.value))
    return found


def test_no_log_message_names_a_context_field_itself() -> None:
    """The log context (or ``extra={"integration_id": …}``) carries the context's fields, once
    (the integration as its public id): written into the text as well, a plain line showed
    them twice, the integration sometimes as its pk."""
    formats = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for package in ("integrations", "webhooks", "karatlever")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, text in _logged_formats(path)
    ]

    assert len(formats) > 50  # the walk does see the logger calls
    assert [where for where in formats if any(f"{name}=" in where for name in FIELDS)] == []


def _plain_lines(records: Records, start: str) -> list[str]:
    """The lines starting ``start`` as the plain format prints them (less the time)."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s%(log_context)s")
    return [formatter.format(r) for r in records.records if r.getMessage().startswith(start)]


@pytest.mark.django_db
def test_a_service_line_inside_the_integrations_context_names_it_once(
    records: Records, integration: AtsIntegration
) -> None:
    # As on a page of the integration: the middleware puts its public id in the context.
    with log_context(integration_id=integration.public_id):
        postings_sync_request(integration=integration, kind="full")

    (line,) = _plain_lines(records, "posting sync requested")
    assert line.count("integration_id=") == 1
    assert line.endswith(f" integration_id={integration.public_id}")


@pytest.mark.django_db
def test_a_service_line_outside_any_context_names_the_integration_by_public_id(
    records: Records, group: Group
) -> None:
    integration = integration_create(group=group, ats="lever", actor=None)

    (line,) = _plain_lines(records, "integration created")
    assert line.count("integration_id=") == 1
    assert line.endswith(f" integration_id={integration.public_id}")
