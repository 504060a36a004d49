"""The app's URLs plus a bare POST view that reads the body and answers JSON (``/bench/bare/``).

It runs behind the same middleware as every route, the receiver included: the yardstick of the
webhook bench's ratio.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from karatlever.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "bytes": len(request.body)})


urlpatterns = [
    path("bench/bare/", bare),
    *app_urlpatterns,
]
