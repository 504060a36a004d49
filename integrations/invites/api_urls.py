"""REST API route for inviting candidates (included by integrations/api_urls.py)."""

from __future__ import annotations

from django.urls import path

from integrations.invites import api

urlpatterns = [
    path("invitations/", api.InvitationCreateApi.as_view(), name="api-invitation-create"),
]
