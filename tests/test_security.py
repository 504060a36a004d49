"""Security of the console as a whole (issue #9): sign-in lockout behind the TLS proxy, the page
shown while the database is down, secrets kept off Django's debug error page, and no caching of
signed-in pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.utils.module_loading import import_string
from django.views.debug import ExceptionReporter
from pytest_django import Settings

from integrations import fields
from integrations.connection.services import keys, lifecycle
from integrations.models import AtsIntegration
from karatlever import outages
from karatlever.accounts.models import Group, User
from tests.factories import DEFAULT_PASSWORD, CandidacyFactory, RoleFactory
from tests.integrations.conftest import set_key
from tests.routes import all_routes, route_fill
from webhooks.models import WebhookDelivery

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db


# =============================================================================================
# Sign-in lockout behind the TLS proxy (item 7)
# =============================================================================================

PROXY = "10.0.0.2"  # every request reaches the app from the proxy
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
LOGIN_PAGES = ["accounts:login", "admin:login"]


@pytest.fixture
def behind_proxy(settings: Settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


@pytest.fixture
def victim(db: None) -> User:
    """A site admin: can sign in to the console and to Django's admin."""
    return User.objects.create_superuser("root@acme.test", DEFAULT_PASSWORD)


def _through_proxy(forwarded_for: str) -> Client:
    """A browser behind the proxy: the proxy's address, and the client's in X-Forwarded-For."""
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def _sign_in(client: Client, page: str, email: str, password: str) -> _MonkeyPatchedWSGIResponse:
    data = {"username": email, "password": password}
    if page == "admin:login":
        data["next"] = reverse("admin:index")
    return client.post(reverse(page), data)


@pytest.mark.usefixtures("behind_proxy")
@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_failed_sign_ins_from_one_client_do_not_lock_the_account_for_another(
    victim: User, page: str
) -> None:
    attacker = _through_proxy(ATTACKER)
    for _ in range(5):
        _sign_in(attacker, page, victim.email, "wrong")

    response = _sign_in(_through_proxy(VICTIM), page, victim.email, DEFAULT_PASSWORD)

    assert response.status_code == 302, "the victim must still be able to sign in"
    # The attacker's address is the one locked out, even with the right password.
    locked = _sign_in(attacker, page, victim.email, DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content


@pytest.mark.usefixtures("behind_proxy")
def test_forged_forwarded_for_entries_do_not_escape_the_lockout(victim: User) -> None:
    """Only the entry our proxy appended counts: what the client wrote further left is ignored."""
    for n in range(5):
        forged = _through_proxy(f"192.0.2.{n}, {ATTACKER}")
        _sign_in(forged, "accounts:login", victim.email, "wrong")

    response = _sign_in(
        _through_proxy(f"192.0.2.99, {ATTACKER}"), "accounts:login", victim.email, DEFAULT_PASSWORD
    )

    assert response.status_code == 429


# =============================================================================================
# While the database is down (item 9, the console part)
# =============================================================================================


@pytest.fixture
def fresh_outage_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outages, "_current", None)


@pytest.fixture
def database_down(fresh_outage_state: None) -> Iterator[None]:
    """Every query fails as it does when PostgreSQL is stopped: at the library boundary."""
    refused = OperationalError('connection to server at "db", port 5432 failed: Connection refused')
    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", side_effect=refused):
        yield


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "karatlever.outages"]


def test_a_console_page_says_the_service_is_unavailable_while_the_database_is_down(
    admin_client: Client, database_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    admin_client.raise_request_exception = False
    caplog.set_level(logging.INFO)

    responses = [admin_client.get(reverse("integrations:list")) for _ in range(3)]

    for response in responses:
        assert response.status_code == 503
        assert response["Retry-After"] == "60"
        assert "no-store" in response["Cache-Control"]
        text = response.content.decode()
        assert "temporarily unavailable" in text
        assert "try again in a minute" in text
    lines = _outage_lines(caplog)
    assert len(lines) == 1, lines
    assert "database unavailable where=console" in lines[0]
    assert "Connection refused" in lines[0]
    # Not a traceback per request either.
    assert not [r for r in caplog.records if r.exc_info]


def test_the_api_answers_a_json_503_while_the_database_is_down(
    admin_client: Client, database_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    admin_client.raise_request_exception = False

    response = admin_client.get(reverse("api-integration-list"))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "where=api" in _outage_lines(caplog)[0]


def _session_writing_view(request: HttpRequest) -> HttpResponse:
    """Touches no table itself: the session middleware's save, after it, is what fails."""
    request.session["seen"] = True
    return HttpResponse("ok")


urlpatterns = [path("session-writer/", _session_writing_view)]


@pytest.mark.urls("tests.test_security")
def test_a_database_error_in_a_middleware_is_a_503_too(
    database_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = Client(raise_request_exception=False).get("/session-writer/")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert len(_outage_lines(caplog)) == 1


def test_the_outage_is_logged_again_once_a_minute_and_its_end_once(
    admin_client: Client,
    fresh_outage_state: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin_client.raise_request_exception = False
    caplog.set_level(logging.INFO)
    clock = [1000.0]
    monkeypatch.setattr(outages, "_now", lambda: clock[0])
    refused = OperationalError("Connection refused")
    url = reverse("integrations:list")

    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", side_effect=refused):
        for seconds in (0, 10, 59, 61, 70):
            clock[0] = 1000.0 + seconds
            assert admin_client.get(url).status_code == 503
    clock[0] = 1100.0
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url).status_code == 200

    lines = _outage_lines(caplog)
    assert len(lines) == 3, lines
    assert "database unavailable" in lines[0]
    assert "still unavailable" in lines[1]
    assert "3 failed requests" in lines[1]  # 10 s, 59 s and 61 s
    assert "database back" in lines[2]
    assert "after 100 s" in lines[2]


# =============================================================================================
# Secrets never on Django's debug error page (item 10)
# =============================================================================================

CANARY_KEY = "lvr_CANARY_KEY_0123456789abcdefCANARY"
CANARY_TOKEN = "sigtok_CANARY_TOKEN_0123456789abcdefTOKEN"
CANARY_ENCRYPTION_KEY = "CANARY-not-a-fernet-key-0123456789"
# Two ways FIELD_ENCRYPTION_KEYS can be wrong: not a Fernet key at all (saving fails), or a
# valid key that is not the one the stored secrets were encrypted with (reading them fails).
WRONG_KEYS = ["malformed", "another-key"]


@pytest.fixture(params=WRONG_KEYS)
def wrong_encryption_key(
    request: pytest.FixtureRequest, settings: Settings, integration: AtsIntegration
) -> str:
    """DEBUG on (Django's technical 500 page), and encryption keys that make saving raise."""
    if request.param == "another-key":
        set_key(integration, actor=None)  # a stored key that the new key can't decrypt
        settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    else:
        settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    settings.DEBUG = True
    return str(request.param)


def _assert_debug_page_hides(response: Any, secret: str) -> None:
    assert response.status_code == 500
    text = response.content.decode()
    assert "Traceback" in text, "expected Django's technical 500 page"
    assert secret not in text
    assert secret[:-4] not in text


def test_debug_page_of_the_settings_form_hides_the_posted_api_key(
    admin_client: Client, integration: AtsIntegration, wrong_encryption_key: str
) -> None:
    admin_client.raise_request_exception = False
    url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})

    response = admin_client.post(url, {"api_key": CANARY_KEY, "ats_user_id": "", "region": "us"})

    _assert_debug_page_hides(response, CANARY_KEY)


def test_debug_page_of_the_webhook_tokens_form_hides_the_posted_token(
    admin_client: Client, integration: AtsIntegration, wrong_encryption_key: str
) -> None:
    admin_client.raise_request_exception = False
    url = reverse("webhooks-console:tokens", kwargs={"public_id": integration.public_id})

    response = admin_client.post(url, {"token_candidateStageChange": CANARY_TOKEN})

    _assert_debug_page_hides(response, CANARY_TOKEN)


def test_debug_page_of_the_api_hides_the_api_key_of_a_patch(
    admin_client: Client, integration: AtsIntegration, wrong_encryption_key: str
) -> None:
    admin_client.raise_request_exception = False
    url = reverse("api-integration-detail", kwargs={"public_id": integration.public_id})

    response = admin_client.patch(url, {"api_key": CANARY_KEY}, content_type="application/json")

    _assert_debug_page_hides(response, CANARY_KEY)


def test_debug_page_of_the_api_hides_the_api_key_of_a_create(
    admin_client: Client, second_group: Group, settings: Settings
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    settings.DEBUG = True
    admin_client.raise_request_exception = False

    response = admin_client.post(
        reverse("api-integration-list"),
        {"group": str(second_group.code), "ats": "lever", "api_key": CANARY_KEY},
        content_type="application/json",
    )

    _assert_debug_page_hides(response, CANARY_KEY)


def test_debug_page_of_the_django_admin_hides_a_new_api_key(
    integration: AtsIntegration, wrong_encryption_key: str
) -> None:
    staff = Client(raise_request_exception=False)
    staff.force_login(User.objects.create_superuser("ops@karat.test", DEFAULT_PASSWORD))
    url = reverse("admin:integrations_atsintegration_change", args=[integration.pk])

    response = staff.post(
        url,
        {
            "enabled": "on",
            "rate_limit_per_second": "8",
            "rate_limit_burst": "10",
            "new_api_key": CANARY_KEY,
        },
    )

    _assert_debug_page_hides(response, CANARY_KEY)


def _error_report(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """Django's error report (as in an error email: DEBUG off, its own filter) of an exception
    raised outside any request: a task, a management command."""
    return ExceptionReporter(None, excinfo.type, excinfo.value, excinfo.tb).get_traceback_html()


def test_services_holding_an_api_key_hide_it_from_error_reports(
    integration: AtsIntegration, second_group: Group, settings: Settings
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured) as updated:
        lifecycle.integration_settings_update(
            integration=integration, actor=None, api_key=CANARY_KEY, ats_user_id="", region="us"
        )
    with pytest.raises(ImproperlyConfigured) as created:
        lifecycle.integration_create(
            group=second_group, ats="lever", actor=None, api_key=CANARY_KEY
        )

    for excinfo in (updated, created):
        report = _error_report(excinfo)
        assert "integration_settings_update" in report  # the frames are there, not their values
        assert CANARY_KEY not in report


def test_a_key_check_hides_the_key_from_error_reports(integration: AtsIntegration) -> None:
    with (
        mock.patch("integrations.ats.account_for", side_effect=RuntimeError("client broke")),
        pytest.raises(RuntimeError) as checked,
    ):
        keys.api_key_check(integration=integration, api_key=CANARY_KEY)

    assert CANARY_KEY not in _error_report(checked)


def test_encryption_hides_the_plaintext_and_the_keys_from_error_reports(
    settings: Settings,
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [CANARY_ENCRYPTION_KEY]

    with pytest.raises(ImproperlyConfigured) as encrypted:
        fields.encrypt(CANARY_TOKEN)

    report = _error_report(encrypted)
    assert "_fernet_for" in report
    assert CANARY_TOKEN not in report
    assert CANARY_ENCRYPTION_KEY not in report


# =============================================================================================
# Signed-in pages are never cached (item 13)
# =============================================================================================


def _routes() -> list[str]:
    # Django's admin sends no-store itself; logout would end the session for the routes after
    # it; the webhook receiver authenticates no one (its answer is the same for everybody).
    return [
        r
        for r in all_routes()
        if not r.startswith(("admin/", "webhooks/")) and r != "accounts/logout/"
    ]


@pytest.fixture
def route_ids(group: Group, admin_user: User) -> dict[str, str]:
    integration = AtsIntegration.objects.create(group=group)
    candidacy = CandidacyFactory(role=RoleFactory(group=group))
    delivery = WebhookDelivery.objects.create(
        integration=integration, event="candidateHired", token="t" * 48, triggered_at_ms=1
    )
    return {
        "code": str(candidacy.code),
        "role_code": str(candidacy.role.code),
        "public_id": str(integration.public_id),
        "ats": integration.ats,
        "delivery_id": str(delivery.pk),
        "posting_id": "posting-1",
        # A role follower that does not exist: its routes answer 404.
        "follower_id": "999999",
    }


def _fill(route: str, ids: dict[str, str]) -> str:
    if route.startswith("roles/"):
        ids = {**ids, "code": ids["role_code"]}
    return route_fill(route, ids)


def test_every_page_answered_to_a_signed_in_user_is_no_store(
    admin_client: Client, route_ids: dict[str, str]
) -> None:
    missing = []
    routes = _routes()
    for route in sorted(routes, key=lambda r: r.endswith("delete/")):
        url = _fill(route, route_ids)
        for method in ("get", "post"):
            response = getattr(admin_client, method)(url)
            if "no-store" not in response.get("Cache-Control", ""):
                missing.append(f"{method.upper()} {url} → {response.status_code}")

    assert "settings/ats-integrations/" in routes  # the walk found the console
    assert missing == []


def test_api_responses_to_a_token_user_are_no_store(
    admin_user: User, token_client: Callable[[User], Client]
) -> None:
    client = token_client(admin_user)

    response = client.get(reverse("api-integration-list"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_login_page_is_no_store_and_static_files_stay_cacheable(admin_client: Client) -> None:
    # The login page carries a CSRF token: Django's LoginView already sends no-store.
    assert "no-store" in Client().get(reverse("accounts:login"))["Cache-Control"]
    # Static files are served before any session is read, signed in or not.
    response = admin_client.get("/static/css/console.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_anonymous_redirects_are_not_marked(db: None) -> None:
    response = Client().get(reverse("hiring:candidate-list"))

    assert response.status_code == 302
    assert "no-store" not in response.get("Cache-Control", "")


# =============================================================================================
# Passwords inside URLs and ciphertexts never on the debug error page (issue 19, item 14)
# =============================================================================================

PG_PASSWORD = "S3cretPG"
REDIS_PASSWORD = "S3cretRedis"
PG_URL = f"postgres://u:{PG_PASSWORD}@h/db"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@h:6379/0"


def _stored_ciphertext(integration: AtsIntegration) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT api_key FROM {AtsIntegration._meta.db_table} WHERE id = %s",  # noqa: S608
            [integration.pk],
        )
        (ciphertext,) = cursor.fetchone()
    return str(ciphertext)


@pytest.fixture
def url_settings(settings: Settings) -> None:
    """Settings holding passwords inside URLs, the ways a deployment sets them."""
    settings.DEBUG = True
    settings.DATABASE_URL = PG_URL
    settings.REDIS_URL = REDIS_URL
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": REDIS_URL,
        }
    }
    settings.REPLICAS = [{"NAME": "replica", "URL": PG_URL}]


def _connect(ciphertext: str) -> None:
    """Fails as a driver might: its messages quote the URL (and a value it was given)."""
    try:
        raise ConnectionError(f"cannot reach {REDIS_URL}")
    except ConnectionError as exc:
        raise ValueError(f"cannot reach {PG_URL} with {ciphertext}") from exc


def _assert_hidden(text: str, *secrets: str) -> None:
    assert "Traceback" in text, "expected Django's technical 500 page"
    for secret in secrets:
        assert secret not in text


def test_debug_page_hides_passwords_in_urls_and_the_ciphertext_a_wrong_key_failed_on(
    admin_client: Client, integration: AtsIntegration, settings: Settings, url_settings: None
) -> None:
    set_key(integration, actor=None)
    ciphertext = _stored_ciphertext(integration)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # not the one it used
    admin_client.raise_request_exception = False
    url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})

    # The environment reaches request.META under runserver: a URL there too.
    response = admin_client.get(url, DATABASE_URL=PG_URL, HTTP_X_BROKER=REDIS_URL)

    assert response.status_code == 500
    text = response.content.decode()
    assert "DecryptionError" in text
    assert "postgres://u:" in text  # the URL is shown, its password is not
    _assert_hidden(text, PG_PASSWORD, REDIS_PASSWORD, ciphertext, ciphertext[:40])


def test_error_reports_hide_passwords_in_urls_and_ciphertexts_in_messages(
    integration: AtsIntegration, settings: Settings, url_settings: None
) -> None:
    set_key(integration, actor=None)
    ciphertext = _stored_ciphertext(integration)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(fields.DecryptionError) as decrypting:
        AtsIntegration.objects.get(pk=integration.pk)
    with pytest.raises(ValueError, match="cannot reach") as connecting:
        _connect(ciphertext)

    for excinfo in (decrypting, connecting):
        # The configured reporter, as error emails use it.
        reporter = import_string(settings.DEFAULT_EXCEPTION_REPORTER)(
            None, excinfo.type, excinfo.value, excinfo.tb
        )
        for report in (reporter.get_traceback_html(), reporter.get_traceback_text()):
            _assert_hidden(report, PG_PASSWORD, REDIS_PASSWORD, ciphertext, ciphertext[:40])
