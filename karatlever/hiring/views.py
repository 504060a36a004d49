"""Candidates and roles pages (thin: authorise, validate, call a service, render)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from karatlever.accounts.permissions import member_required
from karatlever.hiring import selectors


@member_required
def candidate_list(request: HttpRequest) -> HttpResponse:
    candidacies = selectors.candidacy_list(user=request.user)  # type: ignore[arg-type]
    return render(request, "hiring/candidate_list.html", {"candidacies": candidacies[:200]})
