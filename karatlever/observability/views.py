"""``GET /metrics``: Prometheus's text format, for a scraper holding the bearer token.

With ``METRICS_BEARER_TOKEN`` unset the route answers 404, as if it did not exist; a missing
or wrong token is 404 too, so the endpoint's existence is not advertised (the token is
compared in constant time). The answer sums the counters of every process sharing
``METRICS_DIR`` (metrics.py) and reads the database gauges (collector.py) at scrape time.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from karatlever.observability import metrics
from karatlever.observability.collector import DatabaseCollector

_PREFIX = "Bearer "


def _authorized(request: HttpRequest) -> bool:
    expected: str = settings.METRICS_BEARER_TOKEN
    if not expected:
        return False
    given = request.headers.get("Authorization", "")
    if not given.startswith(_PREFIX):
        return False
    return hmac.compare_digest(given[len(_PREFIX) :].encode(), expected.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics, or 404 (no token configured, or the request lacks it)."""
    if not _authorized(request):
        raise Http404
    registry = CollectorRegistry()
    # No process may have counted anything yet (the folder is made on the first count).
    metrics.directory().mkdir(parents=True, exist_ok=True)
    multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
        registry, path=str(metrics.directory())
    )
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
