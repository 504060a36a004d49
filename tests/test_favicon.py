"""The browser's icon: every console page links it, and /favicon.ico is never a 404."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_console_pages_link_the_icon_and_it_exists(client: Client, admin_client: Client) -> None:
    for response in (client.get(reverse("accounts:login")), admin_client.get("/candidates/")):
        assert response.status_code == 200
        assert '<link rel="icon" href="/static/img/favicon.svg"' in response.content.decode()
    assert finders.find("img/favicon.svg") is not None


def test_favicon_ico_points_at_the_icon(client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/img/favicon.svg"
