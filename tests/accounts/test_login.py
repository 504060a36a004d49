"""Login by email, logout, and lockout after repeated failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse

from karatlever.accounts.models import User
from tests.factories import DEFAULT_PASSWORD

if TYPE_CHECKING:
    # Only in django-stubs: the test client's response type.
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db


def _login(client: Client, email: str, password: str) -> _MonkeyPatchedWSGIResponse:
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_login_with_email_and_password_reaches_the_console(admin_user: User) -> None:
    client = Client()

    response = _login(client, admin_user.email, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert client.get(reverse("hiring:candidate-list")).status_code == 200


def test_wrong_password_shows_an_error_and_does_not_log_in(admin_user: User) -> None:
    client = Client()

    response = _login(client, admin_user.email, "wrong")

    assert response.status_code == 200
    assert b"Please enter a correct email and password" in response.content
    assert client.get(reverse("hiring:candidate-list")).status_code == 302


def test_email_is_matched_case_insensitively_as_stored(admin_user: User) -> None:
    client = Client()

    response = _login(client, admin_user.email.upper(), DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert client.get(reverse("hiring:candidate-list")).status_code == 200


def test_account_is_locked_after_repeated_failures(admin_user: User) -> None:
    client = Client()

    for _ in range(5):
        _login(client, admin_user.email, "wrong")
    response = _login(client, admin_user.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert client.get(reverse("hiring:candidate-list")).status_code == 302


def test_anonymous_visitor_is_sent_to_login() -> None:
    response = Client().get(reverse("hiring:candidate-list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_logout_ends_the_session(admin_client: Client) -> None:
    response = admin_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert admin_client.get(reverse("hiring:candidate-list")).status_code == 302


def test_user_without_membership_gets_a_clear_403() -> None:
    user = User.objects.create_user("loner@example.com", DEFAULT_PASSWORD)
    client = Client()
    client.force_login(user)

    response = client.get(reverse("hiring:candidate-list"))

    assert response.status_code == 403
    assert b"not a member of any organization" in response.content
