"""Project-level pages: home redirect, the page for a failed CSRF check, and the error
handlers (``handler400``/``403``/``404``/``500`` in urls.py): the console's pages, or JSON in
the REST API's one error shape for paths under ``/api/``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.templatetags.static import static
from django.views import defaults

API_PREFIX = "/api/"
WEBHOOKS_PREFIX = "/webhooks/"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("hiring:candidate-list")


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers on pages without ``<link rel="icon">`` (the admin,
    JSON answers): the console's icon, so the browser logs no 404."""
    return redirect(static("img/favicon.svg"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the console's page instead of Django's; the reason is logged by Django
    (django.security.csrf) and never shown, so the page gives no hints to a forger."""
    template = loader.get_template("csrf_failure.html")
    return HttpResponseForbidden(template.render({}, request))


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse | None:
    """The REST API's ``{"error": {"code", "message"}}`` (karatlever/api.py) for a path under
    /api/ that Django itself answers (no route matched, or an error outside a DRF view)."""
    if not request.path_info.startswith(API_PREFIX):
        return None
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a suspicious request (e.g. a disallowed Host)."""
    answer = _api_error(request, 400, "bad_request", "The request could not be read.")
    return answer or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: PermissionDenied raised outside a DRF view."""
    answer = _api_error(
        request, 403, "permission_denied", "You do not have permission to perform this action."
    )
    return answer or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: no route matched (e.g. an id that is not a UUID), or Http404 outside DRF.
    Under /webhooks/ it is the receiver's own answer for an integration it doesn't know."""
    if request.path_info.startswith(WEBHOOKS_PREFIX):
        return JsonResponse({"status": "unknown_integration"}, status=404)
    answer = _api_error(request, 404, "not_found", "Not found.")
    return answer or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected error; says nothing about it (the log has the traceback)."""
    answer = _api_error(request, 500, "server_error", "Something went wrong on our side.")
    return answer or defaults.server_error(request)
