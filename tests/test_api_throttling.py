"""The REST API's throttles: per API token and per user, 429 with Retry-After past the rate,
counted in the cache every web replica shares, and declared in the schema."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from karatlever.accounts.models import User

pytestmark = pytest.mark.django_db

LIST = "/api/v1/integrations/"


@pytest.fixture(autouse=True)
def throttle_cache(settings: Settings) -> str:
    """A cache of this test's own (so no count comes from another test), named like production's
    setting says: the throttles read API_THROTTLE_CACHE on every request."""
    settings.CACHES = {
        **settings.CACHES,
        "api-throttle-test": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-throttle-{uuid.uuid4()}",
        },
    }
    settings.API_THROTTLE_CACHE = "api-throttle-test"
    return "api-throttle-test"


def _statuses(client: Client, count: int) -> list[int]:
    return [client.get(LIST).status_code for _ in range(count)]


def test_a_token_past_its_rate_gets_429_with_retry_after_and_the_error_shape(
    settings: Settings, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    settings.API_THROTTLE_TOKEN_RATE = "3/min"
    client = token_client(admin_user)

    statuses = _statuses(client, 3)
    refused = client.get(LIST)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert set(refused.json()["error"]) == {"code", "message"}


def test_each_token_has_its_own_count(
    settings: Settings, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    settings.API_THROTTLE_TOKEN_RATE = "2/min"
    first, second = token_client(admin_user), token_client(admin_user)

    assert _statuses(first, 3) == [200, 200, 429]
    assert _statuses(second, 2) == [200, 200]


def test_a_user_is_limited_over_all_their_tokens_and_their_session(
    settings: Settings,
    admin_user: User,
    admin_client: Client,
    token_client: Callable[[User], Client],
) -> None:
    settings.API_THROTTLE_USER_RATE = "4/min"

    used = _statuses(token_client(admin_user), 2) + _statuses(token_client(admin_user), 2)

    assert used == [200, 200, 200, 200]
    assert token_client(admin_user).get(LIST).status_code == 429
    assert admin_client.get(LIST).status_code == 429


def test_another_user_is_not_charged_for_someone_else_s_requests(
    settings: Settings,
    admin_user: User,
    recruiter_user: User,
    token_client: Callable[[User], Client],
) -> None:
    settings.API_THROTTLE_USER_RATE = "2/min"

    assert _statuses(token_client(admin_user), 3) == [200, 200, 429]
    assert token_client(recruiter_user).get(LIST).status_code != 429


def test_the_window_passes_and_requests_are_allowed_again(
    settings: Settings, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    settings.API_THROTTLE_TOKEN_RATE = "1/min"
    client = token_client(admin_user)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = _statuses(client, 2)
        clock.shift(61)
        later = client.get(LIST).status_code

    assert first == [200, 429]
    assert later == 200


def test_requests_without_credentials_are_refused_before_any_throttle(
    settings: Settings, client: Client
) -> None:
    settings.API_THROTTLE_TOKEN_RATE = "1/min"
    settings.API_THROTTLE_USER_RATE = "1/min"

    assert _statuses(client, 3) == [401, 401, 401]


def test_the_count_lives_in_the_configured_shared_cache(
    settings: Settings,
    admin_user: User,
    token_client: Callable[[User], Client],
    throttle_cache: str,
) -> None:
    from django.core.cache import caches

    settings.API_THROTTLE_TOKEN_RATE = "2/min"
    client = token_client(admin_user)
    _statuses(client, 2)

    # Another replica sees the same cache: a fresh count there means a fresh allowance.
    caches[throttle_cache].clear()

    assert client.get(LIST).status_code == 200


def test_a_broken_cache_lets_requests_through(
    settings: Settings, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "api-throttle-down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    settings.API_THROTTLE_CACHE = "api-throttle-down"
    settings.API_THROTTLE_TOKEN_RATE = "1/min"

    assert _statuses(token_client(admin_user), 2) == [200, 200]


def test_an_empty_rate_turns_a_throttle_off(
    settings: Settings, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    settings.API_THROTTLE_TOKEN_RATE = ""
    settings.API_THROTTLE_USER_RATE = ""

    assert set(_statuses(token_client(admin_user), 10)) == {200}


@pytest.mark.parametrize("rate", ["lots", "10", "0/min", "10/fortnight", "-1/s", "ten/min"])
def test_a_bad_rate_setting_is_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    from karatlever import settings as project_settings

    monkeypatch.setenv("API_THROTTLE_TOKEN_RATE", rate)

    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_TOKEN_RATE"):
        project_settings._throttle_rate("API_THROTTLE_TOKEN_RATE", "120/min")


@pytest.mark.parametrize("rate", ["", "1/s", "120/min", "5000/hour", "1/day"])
def test_good_rate_settings_are_taken(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    from karatlever import settings as project_settings

    monkeypatch.setenv("API_THROTTLE_USER_RATE", rate)

    assert project_settings._throttle_rate("API_THROTTLE_USER_RATE", "300/min") == rate


def test_the_schema_declares_429_with_retry_after_on_operations_that_need_credentials(
    admin_client: Client,
) -> None:
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][LIST]["get"]

    answer = operation["responses"]["429"]

    assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
