"""Candidates and roles pages."""

from __future__ import annotations

from django.urls import path

from karatlever.hiring import views

app_name = "hiring"

urlpatterns = [
    path("candidates/", views.candidate_list, name="candidate-list"),
    # /candidates/invite/ is reserved for the invite-by-URL page; it must stay above <uuid:code>.
    path("candidates/<uuid:code>/", views.candidate_detail, name="candidate-detail"),
    path(
        "candidates/<uuid:code>/status/",
        views.candidate_status_change,
        name="candidate-status-change",
    ),
    path("roles/", views.role_list, name="role-list"),
    path("roles/new/", views.role_create, name="role-create"),
    path("roles/<uuid:code>/edit/", views.role_edit, name="role-edit"),
    path("roles/<uuid:code>/active/", views.role_set_active, name="role-set-active"),
    path("roles/<uuid:code>/followers/", views.role_follower_add, name="role-follower-add"),
    path(
        "roles/<uuid:code>/followers/<int:follower_id>/remove/",
        views.role_follower_remove,
        name="role-follower-remove",
    ),
]
