"""Django settings for karatlever: one env-driven file (every variable: docs/configuration.md)."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

# Lets mypy's generic Django classes (ModelAdmin[Model], TextField[str, str]) be subscripted.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------

# Local state (SQLite database, file broker, local secrets) lives here; never committed. This file
# only computes paths: `manage.py init_local` (run by bin/run-local) creates the folders and the
# secrets, and the code that uses a folder creates it on first use.
VAR_DIR = Path(env.str("KARATLEVER_VAR_DIR", default=str(BASE_DIR / "var")))
LOCAL_SECRET_KEY_FILE = VAR_DIR / "django-secret-key"
LOCAL_FIELD_ENCRYPTION_KEYS_FILE = VAR_DIR / "field-encryption-keys"

# Local runs default to DEBUG on; production sets DJANGO_DEBUG=0 (docs/configuration.md).
DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _local_secret(path: Path) -> str:
    """A secret `manage.py init_local` wrote (local runs only); "" until it has run."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


if DEBUG:
    # Missing both ways, the karatlever.E001 system check says to run `manage.py init_local`.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret(LOCAL_SECRET_KEY_FILE)
    _default_field_keys = _local_secret(LOCAL_FIELD_ENCRYPTION_KEYS_FILE)
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
    # Missing keys are reported by the integrations.E001 system check, never silently generated.
    _default_field_keys = ""

# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS: list[str] = [
    key.strip()
    for key in env.str("FIELD_ENCRYPTION_KEYS", default=_default_field_keys).split(",")
    if key.strip()
]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A failed CSRF check gets the console's page (templates/csrf_failure.html), not Django's.
CSRF_FAILURE_VIEW = "karatlever.views.csrf_failure"
# Absolute base URL of this console, used to build the webhook URL an admin pastes into Lever.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "django_htmx",
    "karatlever.accounts",
    "karatlever.hiring",
    "integrations",
    "webhooks",
    "karatlever.demo",
]
# knox's own migrations create its AuthToken table even though KNOX_TOKEN_MODEL swaps it for
# accounts.ApiToken; an unused table with a foreign key to users breaks PostgreSQL's flush
# (TRUNCATE). Without its migrations Django creates no table for a swapped-out model.
MIGRATION_MODULES = {"knox": None}

# Error reports (the debug page included) hide what views and services mark sensitive.
DEFAULT_EXCEPTION_REPORTER_FILTER = "karatlever.middleware.SecretsHiddenReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "karatlever.middleware.SecretsHiddenExceptionReporter"
MIDDLEWARE = [
    # First: every answer (redirects and 503s included) carries X-Request-ID, and every log line
    # of the request its id (karatlever/observability/middleware.py).
    "karatlever.observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the sessions: a database error while saving one is answered 503 too.
    "karatlever.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "karatlever.middleware.NoStoreWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: partial responses for progress bars and "check again" (no hand-written polling).
    "django_htmx.middleware.HtmxMiddleware",
    # A redirect answered to htmx (a signed-out poll's login page) loads as a whole page.
    "karatlever.middleware.HtmxRedirectMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "karatlever.urls"
WSGI_APPLICATION = "karatlever.wsgi.application"
ASGI_APPLICATION = "karatlever.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "karatlever.accounts.context_processors.membership",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database: SQLite (WAL) under var/ by default, PostgreSQL through DATABASE_URL
# ---------------------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'karatlever.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE avoids
        # "database is locked" upgrades from read to write transactions.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not pytest-django's shared in-memory database: that one takes table-level locks,
    # so concurrency tests would see "database table is locked" instead of SQLite's real
    # behaviour under WAL.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-karatlever.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Cache and Redis
# ---------------------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
_REDIS_SOCKET_TIMEOUTS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _REDIS_SOCKET_TIMEOUTS,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# ---------------------------------------------------------------------------------------------
# Celery: kombu's filesystem transport under var/broker/ by default, Redis through the env
# ---------------------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "filesystem://"
BROKER_DIR = VAR_DIR / "broker"
# The file broker only (Redis pushes): how often an idle worker looks for new tasks (s).
CELERY_BROKER_POLLING_INTERVAL = env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.1)
if CELERY_BROKER_POLLING_INTERVAL <= 0:
    # 0 would make every idle worker list its folder in a busy loop.
    raise ImproperlyConfigured("CELERY_BROKER_POLLING_INTERVAL must be more than 0 seconds.")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders are made by init_local and on first use (karatlever.celery.local_folders_ensure).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's default is ./control (relative to the cwd): keep the exchange table under var/.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu's documented virtual-transport option: seconds between the worker's polls of
        # the queue folder when it is empty (kombu's default, 1 s, was most of the embedded
        # default's p99; bench/embedded_latency.py). A poll is one directory listing.
        "polling_interval": CELERY_BROKER_POLLING_INTERVAL,
    }
    # kombu's filesystem transport, publishing each message whole (karatlever/broker.py): a
    # worker polling often must never read a half-written message.
    CELERY_BROKER_TRANSPORT: str | None = "karatlever.broker:Transport"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest countdown plus run time, so acks_late tasks are not redelivered
        # while still running.
        "visibility_timeout": 3600,
        # A dead Redis must never hang a web request: fail fast, the sweeper re-enqueues later.
        **_REDIS_SOCKET_TIMEOUTS,
        "max_retries": 1,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
# The hard limit: past it the task's process is killed. Claim timeouts derive from it
# (WEBHOOK_CLAIM_TIMEOUT_SECONDS below).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
CELERY_TIMEZONE = "UTC"
# Queues by urgency (docs/operations.md, "Queues and workers"), so a long posting sync or a
# backlog of Lever updates never delays webhook processing or the invite batch a recruiter is
# watching. A worker started without -Q consumes all three (tests, benches, a one-worker
# deployment); production runs one worker per queue (docker-compose.yml, bin/run-local).
# Every task is routed here by name; tests/test_queues.py fails on a task that is not.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in ("urgent", "outbound", "background")
)
CELERY_TASK_DEFAULT_QUEUE = "urgent"
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    name: {"queue": queue}
    for queue, names in {
        # Someone is waiting: a webhook to apply, an invite batch on screen, an invitation email,
        # a key being checked, "Check again" on the status page.
        "urgent": (
            "webhooks.tasks.delivery_process",
            "webhooks.tasks.delivery_process_many",
            "integrations.tasks.invite_batch_preview",
            "integrations.tasks.invite_batch_invite",
            "integrations.tasks.invitation_email_send",
            "integrations.tasks.api_key_validate",
            "integrations.tasks.integration_status_compute",
        ),
        # Writes to Lever: paced by the key's rate limit, so a backlog may take minutes.
        "outbound": (
            "integrations.tasks.outbound_drain",
            "integrations.tasks.outbound_sweep",
        ),
        # Syncs, reconciliation and housekeeping: long or periodic, nobody waits on them. The
        # sweepers only republish due rows; what they republish is routed by its own name.
        "background": (
            "integrations.tasks.postings_sync",
            "integrations.tasks.postings_sync_due",
            "integrations.tasks.api_key_checks_resume",
            "integrations.tasks.api_keys_recheck_due",
            "integrations.tasks.invite_batches_resume",
            "integrations.tasks.invitation_emails_sweep",
            "integrations.tasks.integration_statuses_refresh_all",
            "webhooks.tasks.delivery_sweep",
            "webhooks.tasks.delivery_prune",
            "webhooks.tasks.integration_reconcile",
            "webhooks.tasks.reconcile_all",
        ),
    }.items()
    for name in names
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic tasks register themselves here (see each app's tasks.py / celery.py): name ->
# {"task": dotted task name, "schedule": seconds between runs}.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, str | float]] = {}

# ---------------------------------------------------------------------------------------------
# Lever
# ---------------------------------------------------------------------------------------------

# When set, every integration talks to this base URL instead of its region's (the local sandbox).
LEVER_API_BASE_URL = env.str("LEVER_API_BASE_URL", default="")
# Where a person opens a Sandbox-region candidate's page (the local sandbox serves
# /candidates/<id>); empty: hire.sandbox.lever.co. Its pages' links may be pasted too.
LEVER_SANDBOX_SITE_URL = env.str("LEVER_SANDBOX_SITE_URL", default="")
LEVER_RATE_LIMIT_PER_SECOND = env.float("LEVER_RATE_LIMIT_PER_SECOND", default=10.0)
LEVER_RATE_LIMIT_BURST = env.int("LEVER_RATE_LIMIT_BURST", default=20)
LEVER_CONNECT_TIMEOUT = env.float("LEVER_CONNECT_TIMEOUT", default=3.05)
LEVER_READ_TIMEOUT = env.float("LEVER_READ_TIMEOUT", default=15.0)
# Webhook re-reads may use at most this fraction of each key's rate (and burst), so a bulk
# move in Lever never takes the budget that outbound writes need (integrations/lever/calls.py).
LEVER_WEBHOOK_READ_SHARE = env.float("LEVER_WEBHOOK_READ_SHARE", default=0.5)
if not 0 < LEVER_WEBHOOK_READ_SHARE <= 1:
    raise ImproperlyConfigured("LEVER_WEBHOOK_READ_SHARE must be more than 0 and at most 1.")
# Local (cross-process) rate buckets when REDIS_URL is unset.
LEVER_RATE_LIMIT_DIR = VAR_DIR / "ratelimit"

# ---------------------------------------------------------------------------------------------
# Accounts, login lockout
# ---------------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
# Lock out the pair (account, client address): the attacker's address, never the account for
# everyone. Behind the TLS proxy REMOTE_ADDR is the proxy's for every client, so the address is
# the one TRUSTED_PROXY_COUNT resolves (karatlever/clients.py), as everywhere else.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "karatlever.clients.client_ip"
# The login form posts the email as "username" (axes would otherwise read USERNAME_FIELD).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# ---------------------------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed tokens (django-rest-knox): `Authorization: Token <token>`. First, because DRF
        # asks the first class for the WWW-Authenticate header: with it, missing or bad
        # credentials answer 401 (the session class has none, which would make them 403).
        "knox.auth.TokenAuthentication",
        # The signed-in console user (the browsable schema pages).
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "karatlever.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    # Per token and per user, counted in the shared cache (API throttling below).
    "DEFAULT_THROTTLE_CLASSES": [
        "karatlever.api_throttles.ApiTokenRateThrottle",
        "karatlever.api_throttles.ApiUserRateThrottle",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "karatlever API",
    "DESCRIPTION": "Karat ⇄ Lever ATS integration: integrations, candidacies and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every error answer references one ErrorResponse component (the exception handler's shape).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "karatlever.api_schema.error_responses_postprocess",
    ],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI puts each one (a link) inside the operation's toggle button,
    # which axe refuses as nested interactive controls (tests/browser/test_api_docs_accessibility.py).
    # No ReDoc either: only Swagger UI is served (/api/docs/), so REDOC_DIST is not set.
    # Syntax highlighting off: its dark "agate" theme colours JSON below contrast minimums.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "syntaxHighlight": {"activated": False}},
}
# API tokens: only a hash is stored (accounts.ApiToken); the token is shown once when made.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=90),  # the default lifetime; a token can ask for 1-365 days
    "TOKEN_PREFIX": "kl_",  # recognizable by secret scanners
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# API throttling (karatlever/api_throttles.py): requests allowed per API token and per user (all
# their tokens and their session together), in DRF's syntax ("120/min"; s, min, hour, day);
# empty turns one off. Past it: 429 with Retry-After. Counted in the cache API_THROTTLE_CACHE,
# shared by every web replica (Redis when REDIS_URL is set).
_THROTTLE_RATE = r"^([1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day))?$"


def _throttle_rate(name: str, default: str) -> str:
    rate: str = env.str(name, default=default).strip()
    if not re.match(_THROTTLE_RATE, rate):
        raise ImproperlyConfigured(
            f'{name} ({rate!r}) must be "<requests>/<s|min|hour|day>", e.g. "{default}", or '
            "empty to turn it off."
        )
    return rate


API_THROTTLE_TOKEN_RATE = _throttle_rate("API_THROTTLE_TOKEN_RATE", "120/min")
API_THROTTLE_USER_RATE = _throttle_rate("API_THROTTLE_USER_RATE", "300/min")
API_THROTTLE_CACHE = env.str("API_THROTTLE_CACHE", default="default")
if API_THROTTLE_CACHE not in CACHES:
    raise ImproperlyConfigured(
        f"API_THROTTLE_CACHE ({API_THROTTLE_CACHE!r}) is not a cache in CACHES "
        f"({', '.join(CACHES)})."
    )

# Content-Security-Policy on every response (django-csp 4). Console pages load only their own
# static files: no inline scripts, styles or event handlers (templates/ and static/ keep it so).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # /api/docs/ adds data: images (Swagger UI's stylesheet has some): karatlever/urls.py.
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# ---------------------------------------------------------------------------------------------
# Static files, email, i18n
# ---------------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Made by collectstatic; local runs (DEBUG) serve from the finders and never need it.
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Seconds an SMTP connection may block; a send that times out is retried (invitation emails).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Karat <no-reply@karat.example>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Security (production values come from the env; `manage.py check --deploy` must be clean)
# ---------------------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies we run in front of the app (each appends to X-Forwarded-For). The client's
# address is the one the outermost of them saw (karatlever/clients.py); 0 trusts REMOTE_ADDR.
# Annotated because django-environ is untyped: clients.py counts with it.
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"no_outage_answers": {"()": "karatlever.outages.OutageAnswersFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # A 503 while the database is down is logged once per outage (karatlever.outages), not
        # once per request by Django.
        "django.request": {"filters": ["no_outage_answers"]},
        # urllib3 logs full request lines at DEBUG; keep it quiet so URLs never leak by accident.
        "urllib3": {"level": "WARNING"},
    },
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The file broker has no host, so kombu warns "No hostname was supplied" on every connection:
    # drop exactly that message (karatlever.celery.FilesystemBrokerNoHostnameFilter).
    LOGGING["filters"]["filesystem_broker_no_hostname"] = {  # type: ignore[index]
        "()": "karatlever.celery.FilesystemBrokerNoHostnameFilter"
    }
    LOGGING["loggers"]["kombu.connection"] = {  # type: ignore[index]
        "filters": ["filesystem_broker_no_hostname"]
    }

# ---------------------------------------------------------------------------------------------
# Webhook intake, processing and reconciliation (webhooks app)
# ---------------------------------------------------------------------------------------------

# Lever's deliveries are well under 1 KiB (an envelope and a few ids); 16 KiB leaves room for
# payloads Lever may grow without letting a replayer store megabytes.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=16 * 1024)
# A verified delivery whose triggeredAt is older than this, or further in the future than the
# skew, is refused (400, nothing stored). Lever retries for a while and can "Rerun" deliveries
# from its two-week history (integrations/lever/README.md §9.5, §9.7), hence a generous window.
WEBHOOK_MAX_AGE_SECONDS = env.int("WEBHOOK_MAX_AGE_SECONDS", default=14 * 24 * 3600)
WEBHOOK_MAX_FUTURE_SECONDS = env.int("WEBHOOK_MAX_FUTURE_SECONDS", default=300)
# Processing attempts before a delivery is dead-lettered; retries back off exponentially.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=15)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=3600)


def _claim_timeout(name: str) -> int:
    """A claim timeout setting (seconds): a claim older than this belongs to a killed worker. No
    live task holds a claim past CELERY_TASK_TIME_LIMIT, so the default is twice that, and an
    explicit value must exceed it: refused in production; a local run (DEBUG) only warns, so a
    test can kill a worker and see its claim taken back within seconds."""
    seconds: int = env.int(name, default=2 * CELERY_TASK_TIME_LIMIT)
    if seconds <= CELERY_TASK_TIME_LIMIT:
        problem = (
            f"{name} ({seconds}) must be greater than CELERY_TASK_TIME_LIMIT "
            f"({CELERY_TASK_TIME_LIMIT}), or a running task's claim is taken from it; leave it "
            "unset for twice the time limit."
        )
        if not DEBUG:
            raise ImproperlyConfigured(problem)
        warnings.warn(problem, stacklevel=2)
    return seconds


# A processing claim older than this belongs to a killed worker (SIGKILL, OOM, lost host): the
# sweeper gives it to another (default twice the hard time limit: 90 s → 180 s).
WEBHOOK_CLAIM_TIMEOUT_SECONDS = _claim_timeout("WEBHOOK_CLAIM_TIMEOUT_SECONDS")
# A received delivery not claimed after this long was never enqueued (broker down): re-enqueue.
WEBHOOK_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_SWEEP_GRACE_SECONDS", default=30)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.int("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=60)
# Finished deliveries lose their payload after this many days; the dedupe key stays longer.
WEBHOOK_PAYLOAD_RETENTION_DAYS = env.int("WEBHOOK_PAYLOAD_RETENTION_DAYS", default=30)
# A token must be remembered for as long as a delivery carrying it can be accepted.
WEBHOOK_DEDUPE_RETENTION_DAYS = max(
    env.int("WEBHOOK_DEDUPE_RETENTION_DAYS", default=60),
    WEBHOOK_PAYLOAD_RETENTION_DAYS,
    WEBHOOK_MAX_AGE_SECONDS // 86400 + 1,
)
# Archive reasons and stages change rarely: cache them per integration for this long.
WEBHOOK_LOOKUP_CACHE_SECONDS = env.int("WEBHOOK_LOOKUP_CACHE_SECONDS", default=300)
# Rejected webhook requests (bad signature, malformed, unknown integration, …) allowed per
# client address; past it the client's rejections are answered 429 until the window ends.
# Signed deliveries are never throttled, from that address too (Lever's are shared).
WEBHOOK_REJECTED_RATE = env.str("WEBHOOK_REJECTED_RATE", default="60/min")

# The reconciliation poll heals missed webhooks for linked candidacies.
RECONCILE_INTERVAL_SECONDS = env.int("RECONCILE_INTERVAL_SECONDS", default=900)
# Each poll re-reads this much before the last cursor (clock skew, late commits in Lever).
RECONCILE_OVERLAP_SECONDS = env.int("RECONCILE_OVERLAP_SECONDS", default=120)

# ---------------------------------------------------------------------------------------------
# Invites (integrations/invites/services/)
# ---------------------------------------------------------------------------------------------

# The scheduling link in the invitation email; "{candidacy}" becomes the candidacy's id.
KARAT_SCHEDULING_URL_TEMPLATE = env.str(
    "KARAT_SCHEDULING_URL_TEMPLATE", default="https://karat.example/schedule/{candidacy}"
)
# Batches with more URLs than this run in the background with a progress bar.
INVITE_BACKGROUND_THRESHOLD = env.int("INVITE_BACKGROUND_THRESHOLD", default=10)
# Postings (titles, requisition codes) are cached per integration for this long (seconds).
INVITE_LOOKUP_CACHE_SECONDS = env.int("INVITE_LOOKUP_CACHE_SECONDS", default=300)
# A candidate interviewed for the same role within this many days needs a confirmation.
INVITE_RECENT_INTERVIEW_DAYS = env.int("INVITE_RECENT_INTERVIEW_DAYS", default=183)
# A running invite batch (reading or inviting) with no live run, untouched this long, is
# published again by the sweeper (its run died with a worker or a web process).
INVITE_BATCH_STALL_SECONDS = env.int(
    "INVITE_BATCH_STALL_SECONDS", default=2 * CELERY_TASK_TIME_LIMIT
)
# Invitation emails are rows sent by the worker after the invite commits. Mail-server failures
# (SMTP errors, refused connections, timeouts) are retried with exponential backoff and jitter
# from the base delay, up to the longest, until this many attempts; then the email is failed.
INVITATION_EMAIL_MAX_ATTEMPTS = env.int("INVITATION_EMAIL_MAX_ATTEMPTS", default=6)
INVITATION_EMAIL_RETRY_BASE_SECONDS = env.float("INVITATION_EMAIL_RETRY_BASE_SECONDS", default=30.0)
INVITATION_EMAIL_RETRY_MAX_SECONDS = env.float("INVITATION_EMAIL_RETRY_MAX_SECONDS", default=3600.0)
# A sending claim older than this belongs to a killed worker: the email is queued again. As for
# webhooks, more than the hard time limit.
INVITATION_EMAIL_CLAIM_TIMEOUT_SECONDS = _claim_timeout("INVITATION_EMAIL_CLAIM_TIMEOUT_SECONDS")
# How often the sweeper publishes due invitation emails and resumes stalled invite batches.
INVITE_SWEEP_INTERVAL_SECONDS = env.int("INVITE_SWEEP_INTERVAL_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["integrations-invitation-emails-sweep"] = {
    "task": "integrations.tasks.invitation_emails_sweep",
    "schedule": float(INVITE_SWEEP_INTERVAL_SECONDS),
}
CELERY_BEAT_SCHEDULE["integrations-invite-batches-resume"] = {
    "task": "integrations.tasks.invite_batches_resume",
    "schedule": float(INVITE_SWEEP_INTERVAL_SECONDS),
}

CELERY_BEAT_SCHEDULE["webhooks-delivery-sweep"] = {
    "task": "webhooks.tasks.delivery_sweep",
    "schedule": float(WEBHOOK_SWEEP_INTERVAL_SECONDS),
}
CELERY_BEAT_SCHEDULE["webhooks-delivery-prune"] = {
    "task": "webhooks.tasks.delivery_prune",
    "schedule": 3600.0,
}
# Key checks lost on the way (broker down, worker died) are queued again, then given up.
CELERY_BEAT_SCHEDULE["integrations-key-checks-resume"] = {
    "task": "integrations.tasks.api_key_checks_resume",
    "schedule": 300.0,
}
# Keys in use not checked for this long get one cheap probe (a revoked key is found without
# "Check again"); a refused probe runs the full key check. The beat looks every minute.
API_KEY_RECHECK_MINUTES = env.int("API_KEY_RECHECK_MINUTES", default=10)
CELERY_BEAT_SCHEDULE["integrations-api-keys-recheck-due"] = {
    "task": "integrations.tasks.api_keys_recheck_due",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["webhooks-reconcile-all"] = {
    "task": "webhooks.tasks.reconcile_all",
    "schedule": float(RECONCILE_INTERVAL_SECONDS),
}

# ---------------------------------------------------------------------------------------------
# Integration status page (integrations/status/services.py)
# ---------------------------------------------------------------------------------------------
# Every enabled integration's status snapshot is recomputed this often (beat), besides after
# settings changes and relevant failures.
STATUS_REFRESH_INTERVAL_SECONDS = env.int("STATUS_REFRESH_INTERVAL_SECONDS", default=300)
# This many deliveries with a bad signature within one window make the snapshot recompute.
STATUS_SIGNATURE_FAILURE_BURST = env.int("STATUS_SIGNATURE_FAILURE_BURST", default=10)
STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS = env.int(
    "STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS", default=300
)
CELERY_BEAT_SCHEDULE["integrations-status-refresh-all"] = {
    "task": "integrations.tasks.integration_statuses_refresh_all",
    "schedule": float(STATUS_REFRESH_INTERVAL_SECONDS),
}

# ---------------------------------------------------------------------------------------------
# Role matching: posting sync
# ---------------------------------------------------------------------------------------------

# How often each integration's postings are synced (changes since the last sync).
POSTINGS_SYNC_INTERVAL_SECONDS = env.int("POSTINGS_SYNC_INTERVAL_SECONDS", default=3600)
# A full sync (every posting; finds deleted ones) at least this often; changes-only between.
POSTINGS_FULL_SYNC_HOURS = env.int("POSTINGS_FULL_SYNC_HOURS", default=24)
CELERY_BEAT_SCHEDULE["integrations-postings-sync-due"] = {
    "task": "integrations.tasks.postings_sync_due",
    "schedule": float(POSTINGS_SYNC_INTERVAL_SECONDS),
}

# ---------------------------------------------------------------------------------------------
# Post candidacy updates to Lever (integrations/outbound/services/)
# ---------------------------------------------------------------------------------------------

# Attempts that failed on Lever's side (5xx, timeouts) before an update is dead-lettered; 429s
# and a paused queue don't count. Retries back off exponentially with jitter from the base.
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=8)
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=10.0)
OUTBOUND_RETRY_MAX_SECONDS = env.float("OUTBOUND_RETRY_MAX_SECONDS", default=3600.0)
# A sending claim older than this belongs to a killed worker: the sweeper frees it (an unknown
# outcome: see OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS). As for webhooks, more than the hard limit.
OUTBOUND_CLAIM_TIMEOUT_SECONDS = _claim_timeout("OUTBOUND_CLAIM_TIMEOUT_SECONDS")
# A write Karat stopped waiting for (a read timeout, a dropped connection, a 502/504 from Lever's
# gateway, a worker killed or stopped mid-send) may still be applied by Lever afterwards: its
# servers keep working on a request the caller gave up on. For this long after Karat stopped
# waiting, the update is neither looked for in Lever nor sent again, and no later update of the
# same opportunity goes out (a late tag or stage move would land on top of it). Lever documents
# no limit on its own processing time; 120 s is twice the 60 s request limit common load
# balancers apply, and 8x LEVER_READ_TIMEOUT's default.
OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS = env.float(
    "OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS", default=120.0
)
if OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS < 0:
    raise ImproperlyConfigured("OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS must be 0 or more.")
# How often the sweeper publishes drains for due updates (and frees stale claims).
OUTBOUND_SWEEP_INTERVAL_SECONDS = env.int("OUTBOUND_SWEEP_INTERVAL_SECONDS", default=15)
# One drain task sends for at most this long, then publishes itself again (keys take turns).
OUTBOUND_DRAIN_SLICE_SECONDS = env.float(
    "OUTBOUND_DRAIN_SLICE_SECONDS", default=max(5.0, min(40.0, CELERY_TASK_SOFT_TIME_LIMIT - 15))
)
# A queue paused by a refused key lets one update through this often, in case the permission
# was granted in Lever without a new key (a passing key check resumes it at once).
OUTBOUND_PAUSE_PROBE_SECONDS = env.int("OUTBOUND_PAUSE_PROBE_SECONDS", default=600)

CELERY_BEAT_SCHEDULE["integrations-outbound-sweep"] = {
    "task": "integrations.tasks.outbound_sweep",
    "schedule": float(OUTBOUND_SWEEP_INTERVAL_SECONDS),
}

# ---------------------------------------------------------------------------------------------
# Observability: log format, metrics, error tracking (docs/operations.md, karatlever/observability/)
# ---------------------------------------------------------------------------------------------

# "plain" (one text line per record) or "json" (one JSON object per line). Either way every
# line carries the request id and, when it concerns one, the integration, webhook delivery or
# outbound update (karatlever/observability/context.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f'LOG_FORMAT must be "plain" or "json", not {LOG_FORMAT!r}.')
LOGGING["filters"]["log_context"] = {  # type: ignore[index]
    "()": "karatlever.observability.context.LogContextFilter"
}
LOGGING["formatters"]["plain"]["format"] = (  # type: ignore[index]
    "%(asctime)s %(levelname)s %(name)s %(message)s%(log_context)s"
)
LOGGING["formatters"]["json"] = {"()": "karatlever.observability.logs.JsonFormatter"}  # type: ignore[index]
LOGGING["handlers"]["console"]["filters"] = ["log_context"]  # type: ignore[index]
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # type: ignore[index]

# GET /metrics (Prometheus) answers only with "Authorization: Bearer <this>"; unset, it is 404.
METRICS_BEARER_TOKEN: str = env.str("METRICS_BEARER_TOKEN", default="")
# Where every web and worker process writes its counters (prometheus-client's multiprocess
# mode, under its own variable name); all processes of a deployment must share it.
METRICS_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics")))

# Error tracking (Sentry SDK): off unless SENTRY_DSN is set; events are scrubbed of secrets
# (karatlever/observability/errors.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
if SENTRY_DSN:
    from karatlever.observability.errors import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)
