"""Bench-only middleware: the number of SQL statements a request ran, in a response header.

``X-Bench-Sql-Statements`` lets bench/webhook_ingest.py read "SQL statements per delivery"
from a running gunicorn: a count that background load does not move, unlike requests/s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse

HEADER = "X-Bench-Sql-Statements"


class SqlStatementCount:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = [0]

        def counted(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            count[0] += 1
            return execute(sql, params, many, context)

        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counted))
            response = self.get_response(request)
        response[HEADER] = str(count[0])
        return response
