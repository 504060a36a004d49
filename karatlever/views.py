"""Project-level pages: home redirect, and the page for a failed CSRF check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.template import loader


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("hiring:candidate-list")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the console's page instead of Django's; the reason is logged by Django
    (django.security.csrf) and never shown, so the page gives no hints to a forger."""
    template = loader.get_template("csrf_failure.html")
    return HttpResponseForbidden(template.render({}, request))
