"""Shared fixtures: a fixed cast (admin, recruiter, outsider) around one organization."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from pytest_django import Settings

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.demo.local_state import local_state_init
from tests.factories import (
    GroupFactory,
    IntegrationFactory,
    MembershipFactory,
    OrganizationFactory,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead-days",
        type=int,
        default=0,
        metavar="DAYS",
        help="run the suite with the clock moved DAYS ahead (time-machine, still ticking), so a "
        "test that only passes near the day it was written fails at once; tests marked live or "
        "browser are deselected (their subprocesses and browser keep the real clock)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--clock-ahead-days"):
        return
    real_clock = [
        item
        for item in items
        if item.get_closest_marker("live") is None and item.get_closest_marker("browser") is None
    ]
    deselected = [item for item in items if item not in real_clock]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = real_clock


@pytest.fixture(scope="session", autouse=True)
def _clock_ahead(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--clock-ahead-days=N``, every test runs N days in the future: tests that freeze the
    clock themselves still do (time-machine nests), everything else sees a later "now". No test
    may depend on today's date; this is how CI proves it (``make test-clock-ahead``)."""
    days: int = request.config.getoption("--clock-ahead-days")
    if not days:
        yield
        return
    with time_machine.travel(timedelta(days=days), tick=True):
        yield


@pytest.fixture(scope="session", autouse=True)
def _local_state() -> Iterator[None]:
    """What `manage.py init_local` makes for `make run`: var/ folders (the SQLite test database's
    among them) and the local secrets, so a fresh clone's test run needs no setup step.

    pytest-django imported the settings before any fixture ran, so on a fresh clone they found no
    secrets yet: hand the new ones to these settings, and to the environment that the tests'
    subprocesses (worker, server, driver; some with their own var/) inherit.
    """
    try:
        secret_key = django_settings.SECRET_KEY
    except ImproperlyConfigured:  # empty: settings were imported before the file existed
        secret_key = ""
    field_keys = django_settings.FIELD_ENCRYPTION_KEYS
    # Not settings.DEBUG: pytest-django's test environment has already turned it off.
    local_state_init(with_secrets=not (secret_key and field_keys))
    if not secret_key:
        django_settings.SECRET_KEY = django_settings.LOCAL_SECRET_KEY_FILE.read_text().strip()
    if not field_keys:
        keys = django_settings.LOCAL_FIELD_ENCRYPTION_KEYS_FILE.read_text().strip()
        django_settings.FIELD_ENCRYPTION_KEYS = [keys]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_SECRET_KEY", django_settings.SECRET_KEY)
        patch.setenv("FIELD_ENCRYPTION_KEYS", ",".join(django_settings.FIELD_ENCRYPTION_KEYS))
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """pytest-django's hook for the test database's settings: on PostgreSQL the suite's own
    connections commit without waiting for the WAL flush (``synchronous_commit=off``). A crash
    could lose the last few commits of a throw-away database, nothing else: every row is still
    visible to every other connection at once, so isolation, locks and constraints are tested
    exactly as in production. Processes the suite starts (workers, servers) keep the default."""
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    """PBKDF2 is deliberately slow; tests don't need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_rate_limit_dir(settings: Settings, tmp_path: Path) -> None:
    """The Lever client's shared token buckets live in files under var/: keep each test's
    apart, so no test inherits another's tokens or penalties (nor a run's on a moved clock:
    ``--clock-ahead-days`` stamps them a year ahead)."""
    settings.LEVER_RATE_LIMIT_DIR = tmp_path / "ratelimit"


@pytest.fixture(autouse=True)
def _no_rejection_limit_carried_over(settings: Settings) -> None:
    """The receiver's per-client rejection limit counts in the shared cache, and every test
    client has the same address: start each test with nobody blocked and a limit no ordinary
    test reaches (tests of the limit set their own rate, in tests/webhooks with their own cache)."""
    from webhooks.throttling import limiter

    settings.WEBHOOK_REJECTED_RATE = "1000000/min"
    limiter.clear()


@pytest.fixture(autouse=True)
def _api_throttles_off(settings: Settings) -> None:
    """The API's per-token and per-user throttles count in the shared cache, where one test's
    requests would be charged to the next test's user with the same id: off unless a test turns
    them on (tests/test_api_throttling.py, with its own cache)."""
    settings.API_THROTTLE_TOKEN_RATE = ""
    settings.API_THROTTLE_USER_RATE = ""


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory(name="Acme Corp")


@pytest.fixture
def group(organization: Organization) -> Group:
    return GroupFactory(organization=organization, name="Engineering")


@pytest.fixture
def second_group(organization: Organization) -> Group:
    return GroupFactory(organization=organization, name="Data")


@pytest.fixture
def admin_user(organization: Organization) -> User:
    return MembershipFactory(
        organization=organization, role=Membership.Role.ADMIN, user__email="admin@acme.test"
    ).user


@pytest.fixture
def recruiter_user(organization: Organization) -> User:
    return MembershipFactory(
        organization=organization, role=Membership.Role.RECRUITER, user__email="rec@acme.test"
    ).user


@pytest.fixture
def outsider_user(db: None) -> User:
    """An admin of another organization: sees none of Acme's objects."""
    other = OrganizationFactory(name="Globex")
    GroupFactory(organization=other, name="Globex Engineering")
    return MembershipFactory(
        organization=other, role=Membership.Role.ADMIN, user__email="admin@globex.test"
    ).user


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user: User) -> Client:  # overrides pytest-django's superuser admin_client
    return _client_for(admin_user)


@pytest.fixture
def recruiter_client(recruiter_user: User) -> Client:
    return _client_for(recruiter_user)


@pytest.fixture
def outsider_client(outsider_user: User) -> Client:
    return _client_for(outsider_user)


@pytest.fixture
def integration(group: Group) -> AtsIntegration:
    return IntegrationFactory(group=group)


TokenFor = Callable[[User], str]


@pytest.fixture
def token_for(db: None) -> TokenFor:
    """Makes an API token (django-rest-knox, hashed at rest) for a user; returns the token."""
    from karatlever.accounts.tokens import api_token_create

    def _token_for(user: User) -> str:
        return api_token_create(user=user)[1]

    return _token_for


@pytest.fixture
def token_client(token_for: TokenFor) -> Callable[[User], Client]:
    """A test client that authenticates as the user with a new API token."""

    def _token_client(user: User) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")

    return _token_client


def _live_children(parent: int) -> dict[int, str]:
    """Child processes of `parent` still running (not zombies), pid → command line, from /proc."""
    children: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses.
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == parent and state != "Z":
            pid = int(stat.parent.name)
            try:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                cmdline = "?"
            children[pid] = cmdline.strip()
    return children


# Helpers that belong to the interpreter, not to a test: multiprocessing's resource tracker (started
# by the first multiprocessing primitive) lives until this process exits, by design.
_INTERPRETER_HELPERS = ("multiprocessing.resource_tracker",)


def _leftover_children() -> dict[int, str]:
    return {
        pid: cmdline
        for pid, cmdline in _live_children(os.getpid()).items()
        if not any(helper in cmdline for helper in _INTERPRETER_HELPERS)
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test may leave a process behind (a sandbox, worker or server it started): after every
    fixture is torn down, any child of this pytest process still alive fails the run; it is
    then killed so it does not outlive the run either."""
    if not Path("/proc/self/stat").exists():  # not Linux: nothing to read
        return
    deadline = time.monotonic() + 5
    leftovers = _leftover_children()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.1)
        leftovers = _leftover_children()
    if not leftovers:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for pid, cmdline in leftovers.items():
        message = f"process leak: child {pid} still running after the tests: {cmdline}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
