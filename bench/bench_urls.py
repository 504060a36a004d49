"""The app's URLs plus a bare POST view that reads the body and answers JSON, mounted twice.

``/bench/bare/`` goes through the console's middleware stack (the yardstick of the target);
``/webhooks/bench-bare/`` through the lean stack the receiver runs on (karatlever/wsgi_routing.py).
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
    path("webhooks/bench-bare/", bare),
    *app_urlpatterns,
]
