"""Console pages of the webhooks app (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from webhooks import console_views as views

app_name = "webhooks-console"

urlpatterns = [
    path("<uuid:public_id>/activity/", views.activity, name="activity"),
    path(
        "<uuid:public_id>/activity/<int:delivery_id>/",
        views.delivery_detail,
        name="delivery-detail",
    ),
    path(
        "<uuid:public_id>/activity/<int:delivery_id>/process-again/",
        views.delivery_process_again,
        name="delivery-process-again",
    ),
    path("<uuid:public_id>/webhooks/tokens/", views.tokens_save, name="tokens"),
    path("<uuid:public_id>/webhooks/register/", views.register, name="register"),
]
