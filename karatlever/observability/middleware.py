"""The request-id middleware: every request gets an id that its log lines, the tasks it
publishes (tasks.py) and its response's ``X-Request-ID`` header carry.

Kept cheap on purpose (the webhook receiver is latency-sensitive): one regex match or one
``uuid4``, one context-variable set, one header.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from karatlever.observability import context

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"


class RequestIdMiddleware:
    """Accepts the client's (or proxy's) ``X-Request-ID`` when it is a safe short token
    (``context.request_id_accept``), otherwise makes one; sets it as the log context's
    ``request_id`` for the request (and ``request.request_id``) and echoes it in the response.

    A view whose URL names an integration (``public_id``, a UUID) also gets that integration's
    id in the log context, so the receiver's and the console's lines say which integration.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = context.request_id_accept(request.META.get(_META_KEY)) or (
            context.request_id_new()
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset when this returns: Django logs 4xx answers ("Not Found: …") after the
        # middleware chain, and those lines need the id too. request_finished (the response
        # closed) clears it; the next request's context starts from nothing either way.
        context.log_context_clear()
        context.log_context_add(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        public_id = view_kwargs.get("public_id")
        if isinstance(public_id, uuid.UUID):
            # Cleared with the request id when the request finishes.
            context.log_context_add(integration_id=public_id)


def _request_finished(**_: Any) -> None:
    context.log_context_clear()


request_finished.connect(_request_finished, weak=False, dispatch_uid="karatlever-log-context")
