"""Candidates and roles pages."""

from __future__ import annotations

from django.urls import path

from karatlever.hiring import views

app_name = "hiring"

urlpatterns = [
    path("candidates/", views.candidate_list, name="candidate-list"),
]
