"""Content-Security-Policy on every page, pages that need nothing inline, and API docs served
from our own static files (drf-spectacular-sidecar), never from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from integrations.models import AtsIntegration
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Role
from tests.factories import CandidacyFactory, RoleFactory

pytestmark = pytest.mark.django_db


class Cast:
    """What the console pages show: an integration, a role with a candidate."""

    def __init__(self, integration: AtsIntegration) -> None:
        self.integration = integration
        self.role: Role = RoleFactory(group=integration.group, title="Backend Engineer")
        self.candidacy: Candidacy = CandidacyFactory(role=self.role)


def console_pages(cast: Cast) -> dict[str, str]:
    """Every console page an admin sees, by name (from the URLconf)."""
    integration_id = cast.integration.public_id
    return {
        "integrations list": reverse("integrations:list"),
        "integration detail": reverse("integrations:detail", args=[integration_id]),
        "integration settings": reverse("integrations:settings", args=[integration_id]),
        "integration status": reverse("integrations:status", args=[integration_id]),
        "integration roles": reverse("integrations:roles", args=[integration_id]),
        "integration activity": reverse("webhooks-console:activity", args=[integration_id]),
        "automatic invite": reverse("auto-invite:edit", args=[integration_id]),
        "invite candidates": reverse("invites:new"),
        "candidates": reverse("hiring:candidate-list"),
        "candidate detail": reverse("hiring:candidate-detail", args=[cast.candidacy.code]),
        "roles": reverse("hiring:role-list"),
        "new role": reverse("hiring:role-create"),
        "role edit": reverse("hiring:role-edit", args=[cast.role.code]),
        "not found": "/no-such-page/",
    }


# Pages for anyone (signed out).
PUBLIC_PAGES = {
    "login": "/accounts/login/",
    "admin login": "/admin/login/",
    "api docs": "/api/docs/",
}


@pytest.fixture
def cast(integration: AtsIntegration) -> Cast:
    return Cast(integration)


def _assert_strict_policy(header: str | None) -> None:
    assert header, "no Content-Security-Policy header"
    directives = {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


class _Inline(HTMLParser):
    """Collects what a strict policy refuses: inline scripts and styles, style attributes and
    event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if "style" in names:
            self.found.append(f"<{tag} style=…>")
        self.found.extend(f"<{tag} {name}=…>" for name in names if name.startswith("on"))
        for name in ("src", "href"):
            if values.get(name) and tag in {"script", "link", "img"}:
                self.assets.append(values[name] or "")
            if (values.get(name) or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def _inline(html: str) -> _Inline:
    parser = _Inline()
    parser.feed(html)
    return parser


def test_every_console_page_has_a_strict_policy_and_nothing_inline(
    admin_client: Client, cast: Cast
) -> None:
    for name, url in console_pages(cast).items():
        response = admin_client.get(url)

        assert response.status_code in {200, 404}, name
        _assert_strict_policy(response.headers.get("Content-Security-Policy"))
        assert _inline(response.content.decode()).found == [], name


def test_public_pages_have_a_strict_policy_and_nothing_inline(client: Client) -> None:
    for name, url in PUBLIC_PAGES.items():
        response = client.get(url)

        assert response.status_code == 200, name
        _assert_strict_policy(response.headers.get("Content-Security-Policy"))
        assert _inline(response.content.decode()).found == [], name


def test_the_admin_token_pages_have_the_policy(admin_user: User) -> None:
    superuser = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    staff = Client()
    staff.force_login(superuser)

    for url in ("/admin/", reverse("admin:accounts_apitoken_changelist")):
        response = staff.get(url)
        assert response.status_code == 200
        _assert_strict_policy(response.headers.get("Content-Security-Policy"))


def test_api_responses_have_the_policy_too(admin_client: Client) -> None:
    response = admin_client.get("/api/v1/integrations/")

    _assert_strict_policy(response.headers.get("Content-Security-Policy"))


def test_the_500_page_needs_nothing_inline(rf: RequestFactory) -> None:
    response = server_error(rf.get("/"))

    assert _inline(response.content.decode()).found == []


def test_the_api_docs_reference_no_other_host_and_their_assets_are_ours(client: Client) -> None:
    html = client.get("/api/docs/").content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assets = _inline(html).assets

    assert urls
    assert not [url for url in urls if urlsplit(url).netloc or url.startswith("//")]
    assert "cdn" not in html.lower()
    assert "swagger-ui-bundle.js" in html
    # The init script is a file too (SpectacularSwaggerSplitView), not inline.
    assert any(url.startswith("/api/docs/?") for url in assets)
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
            # Served by the app itself (whitenoise): the bytes are the sidecar's / ours.
            body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
            assert len(body) > 0, url


def test_the_api_docs_init_script_is_javascript_from_the_app(client: Client) -> None:
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content
    assert b"/api/schema/" in response.content
