"""Project middleware and the error-report filter: secrets kept out of error reports, a 503
page while the database is down, no caching of anything answered to a signed-in user, and
whole-page redirects for htmx requests."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, ItemsView
from pprint import pformat
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.signals import got_request_exception
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
)
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    QueryDict,
)
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from django_htmx.http import HttpResponseClientRedirect

from karatlever import outages

GetResponse = Callable[[HttpRequest], HttpResponseBase]

# --- error reports ----------------------------------------------------------------------------


HIDDEN = SafeExceptionReporterFilter.cleansed_substitute
# The password (or the whole user part when there is no ":") of any scheme://user:pass@host.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)(?:(?P<user>[^:/@\s'\"]*):)?[^@\s'\"]*@", re.I
)
# A Fernet token (integrations/fields.py): version byte 0x80 and a timestamp, base64url.
_FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")


def secrets_scrubbed(text: str) -> str:
    """``text`` without passwords inside URLs and without ciphertexts."""
    text = _URL_CREDENTIALS.sub(
        lambda m: f"{m['scheme']}{m['user'] + ':' if m['user'] is not None else ''}{HIDDEN}@",
        text,
    )
    return _FERNET_TOKEN.sub(HIDDEN, text)


class _Shown:
    """A value as the error report shows it (its pprint), already scrubbed."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def _pformat(value: Any) -> str:
    try:
        return pformat(value)
    except Exception as exc:  # a broken __repr__: say so, as Django's pprint filter does
        return f"Error in formatting: {type(exc).__name__}: {exc}"


class SecretsHiddenReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, with DEBUG on too, and passwords in URLs and ciphertexts hidden.

    Django's own is active only when DEBUG is off, so the debug error page (DJANGO_DEBUG=1)
    showed exactly what views mark with ``sensitive_post_parameters`` / ``sensitive_variables``:
    a posted API key or signature token, and every local variable holding one. Settings whose
    names look secret are hidden either way. Django hides settings by name only, so a password
    inside a URL (``REDIS_URL``, ``CELERY_BROKER_URL``, a cache's ``LOCATION``, a database URL
    in the environment) showed; so did the ciphertext a wrong encryption key failed on, in the
    local variables of every frame that held the row.
    """

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Settings, request.META and cookies; dicts, lists and tuples recurse through here.
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return secrets_scrubbed(cleansed)
        if isinstance(cleansed, (dict, list, tuple, bool, int, float)) or cleansed is None:
            return cleansed
        # Any other object (a set, a Path, a client): replaced only if its text holds a secret.
        text = _pformat(cleansed)
        scrubbed = secrets_scrubbed(text)
        return _Shown(scrubbed) if scrubbed != text else cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {
            name: _Shown(secrets_scrubbed(_pformat(value))) for name, value in variables
        }.items()


class SecretsHiddenExceptionReporter(ExceptionReporter):
    """Django's report (the debug page, error emails) with the exception messages scrubbed too:
    a driver's message may quote the URL it failed to reach."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        for name in ("exception_value", "exception_notes"):
            if data.get(name):
                data[name] = secrets_scrubbed(str(data[name]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = secrets_scrubbed(str(frame["exc_cause"]))
        return data


# Every error report (the debug page, error emails) uses them: DEFAULT_EXCEPTION_REPORTER_FILTER
# and DEFAULT_EXCEPTION_REPORTER.


# --- database down ----------------------------------------------------------------------------

# What a driver raises when the server can't be reached (refused, gone away, closed).
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 60
UNAVAILABLE_MESSAGE = (
    "Karat is temporarily unavailable (its database can't be reached). Please try again in a "
    "minute."
)
# Set on a request that failed because the database is down (the exception).
_OUTAGE_ATTRIBUTE = "karatlever_database_error"


def _database_error_of(request: HttpRequest) -> BaseException | None:
    error: BaseException | None = getattr(request, _OUTAGE_ATTRIBUTE, None)
    return error


def _where(request: HttpRequest) -> str:
    """Which part of the app a request is for, as the outage log names it."""
    for prefix, name in (("/api/", "api"), ("/webhooks/", "webhooks")):
        if request.path.startswith(prefix):
            return name
    return "console"


def _outage_record(request: HttpRequest, exc: BaseException) -> None:
    setattr(request, _OUTAGE_ATTRIBUTE, exc)
    outages.database_outage_logged(
        exc if isinstance(exc, Exception) else Exception(str(exc)), where=_where(request)
    )


def _unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON for the REST API and the webhook receiver, the on-brand page
    for everything else.

    Rendered without the request: context processors would query the database."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        body = {"error": {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE}}
        response = JsonResponse(body, status=503)
    elif request.path.startswith("/webhooks/"):
        # The ATS reads only the status: 503 + Retry-After makes it send the delivery again.
        response = JsonResponse({"status": "unavailable"}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def _middleware_error_remember(sender: Any, request: HttpRequest | None = None, **_: Any) -> None:
    """A database error raised by a middleware (say, the session middleware saving a session)
    never reaches ``process_exception``: Django turns it into a 500 at that middleware. Django
    signals it first, with the exception being handled; note it so the 500 becomes a 503."""
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_DOWN_ERRORS):
        _outage_record(request, exc)


got_request_exception.connect(_middleware_error_remember, dispatch_uid="karatlever-db-outage")


class DatabaseOutageMiddleware:
    """While PostgreSQL is down: a clear 503 page with Retry-After instead of a server error,
    and one log line per outage (karatlever.outages) instead of a traceback per request."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _database_error_of(request) is not None:
            # The view's error is already a 503 (process_exception); a middleware's is a 500.
            return response if response.status_code == 503 else _unavailable(request)
        if outages.database_outage_ongoing() and _database_connected():
            outages.database_back_logged(where=_where(request))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_DOWN_ERRORS):
            return None
        _outage_record(request, exception)
        return _unavailable(request)


def _database_connected() -> bool:
    """This request's database connection is open (no I/O: a failed one is closed)."""
    return connections[DEFAULT_DB_ALIAS].connection is not None


# --- caching ----------------------------------------------------------------------------------


class NoStoreWhenSignedInMiddleware:
    """``Cache-Control: no-store`` (Django's never_cache headers) on every response to a
    signed-in user, console pages and API alike, as Django's admin does: a shared or browser
    cache must never keep a page of someone's data. Anonymous responses are left alone (the
    login page is never_cache already); static files are served before this runs."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _signed_in(request):
            add_never_cache_headers(response)
        return response


def _signed_in(request: HttpRequest) -> bool:
    if _database_error_of(request) is not None:
        return True  # the 503 is no-store already; don't try the database again
    # A REST API view's user (token or session) is set on the request by DRF; None if anonymous.
    user = getattr(request, "user", None)
    try:
        return bool(user is not None and user.is_authenticated)
    except DatabaseError:
        return True  # can't tell who it is: not storing is the safe answer


# --- htmx -------------------------------------------------------------------------------------


class HtmxRedirectMiddleware:
    """A redirect answered to an htmx request becomes a whole-page one (``HX-Redirect``).

    The browser follows a plain redirect inside htmx's request, so its target (the login page
    of a signed-out poll, a page with a flash message) was swapped into a fragment. A redirect
    to the login page returns, once signed in, to the page the user was on (``HX-Current-URL``
    when it is on this site), not to the fragment's URL.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        # django-htmx's own HX-Redirect and HX-Location answers are 200s: left alone.
        if not htmx or not isinstance(response, HttpResponseRedirectBase):
            return response
        if not 300 <= response.status_code < 400:
            return response
        whole_page = HttpResponseClientRedirect(
            _login_next_replaced(response.url, htmx.current_url_abs_path)
        )
        for header, value in response.items():  # what the view and inner middleware set
            if header.lower() not in {"location", "content-type", "content-length"}:
                whole_page[header] = value
        whole_page.cookies = response.cookies
        return whole_page


def _login_next_replaced(url: str, page: str | None) -> str:
    login = resolve_url(settings.LOGIN_URL)
    path, _, query = url.partition("?")
    if page is None or path != login:
        return url
    params = QueryDict(query, mutable=True)
    params[REDIRECT_FIELD_NAME] = page
    return f"{path}?{params.urlencode(safe='/')}"
