"""The app's URLs plus a bare POST view that reads the body and answers JSON (``/bench/bare/``)
and one that also stores it with one INSERT (``/bench/insert/``).

They run behind the same middleware as every route, the receiver included: the insert view is
the yardstick of the webhook bench's ratio (a durable write against a durable write), the bare
view shows the framework's own cost.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from karatlever.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "bytes": len(request.body)})


# Created by bench/webhook_ingest.py's setup step (plain SQL: no migration for a bench table).
INSERT_TABLE = "bench_insert"


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    body = request.body.decode("utf-8", errors="replace")
    with connection.cursor() as cursor:  # autocommit: the one INSERT is its own transaction
        cursor.execute(f"INSERT INTO {INSERT_TABLE} (body) VALUES (%s)", [body])  # noqa: S608
    return JsonResponse({"status": "ok", "bytes": len(body)})


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/insert/", insert),
    *app_urlpatterns,
]
