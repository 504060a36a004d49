"""Issue 20, item 4: words that blame the right party. A key Lever accepted but that lacks
permissions is never "rejected" (the message names what is missing); messages are joined as
sentences, never glued ("(401).; Region: …"); a person is named the same way on every page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations import ats, tasks
from integrations.connection.services import keys
from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer
from integrations.models import AtsIntegration
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.integrations.conftest import set_key

pytestmark = pytest.mark.django_db

GLUED = re.compile(r"[.!?…]\s*;")


def _settings_url(integration: AtsIntegration) -> str:
    return reverse("integrations:settings", kwargs={"public_id": integration.public_id})


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_new_key_lacking_permissions_is_reported_as_lacking_them_never_as_rejected(
    lever_sandbox: SandboxServer,
    integration: AtsIntegration,
    admin_user: User,
    admin_client: Client,
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    assert integration.key_status == AtsIntegration.KeyStatus.VALID
    lacking = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p not in ("users:read:admin", "postings:read:admin")]
    )
    set_key(integration, admin_user, lacking)
    tasks.api_key_validate(integration.pk)

    response = admin_client.get(_settings_url(integration) + "?checking=1")

    flashed = [str(m) for m in get_messages(response.wsgi_request)]
    (message,) = [m for m in flashed if lacking[-4:] in m]
    assert "rejected" not in message.lower()
    assert "Read users" in message
    assert "Read postings" in message
    assert "permission" in message
    page = _text(response.content.decode())
    assert "Lever rejected" not in page
    assert "did not accept" not in page
    assert "Read users" in page
    assert not GLUED.search(page)


def test_a_key_check_summary_is_sentences_never_glued(
    lever_sandbox: SandboxServer, integration: AtsIntegration
) -> None:
    key_id, key = lever_sandbox.sandbox.create_key(label="gone", permissions=KARAT_PERMISSIONS)
    lever_sandbox.sandbox.revoke_key(key_id)

    refused = keys.api_key_check(integration=integration, api_key=key).summary()
    lacking = keys.api_key_check(
        integration=integration,
        api_key=lever_sandbox.create_api_key(
            [p for p in KARAT_PERMISSIONS if p != "stages:read:admin"]
        ),
    )

    assert refused.startswith("Lever rejected the key")
    assert not GLUED.search(refused)
    assert "; " not in refused
    assert lacking.status == ats.KeyCheckStatus.INVALID
    assert lacking.summary() == (
        "Lever accepted the key, but it lacks a permission Karat needs: Read stages."
    )


def test_the_same_person_is_named_the_same_way_on_status_and_overview(
    integration: AtsIntegration, admin_user: User, admin_client: Client
) -> None:
    User.objects.filter(pk=admin_user.pk).update(full_name="Ada Admin")
    AtsIntegration.objects.filter(pk=integration.pk).update(created_by=admin_user)
    status.integration_status_compute(integration_id=integration.pk)
    kwargs = {"public_id": integration.public_id}

    overview = _text(
        admin_client.get(reverse("integrations:detail", kwargs=kwargs)).content.decode()
    )
    status_page = _text(
        admin_client.get(reverse("integrations:status", kwargs=kwargs)).content.decode()
    )

    assert "by Ada Admin" in overview
    assert "by Ada Admin" in status_page
    assert "by admin@acme.test" not in status_page


def test_no_template_names_a_karat_user_other_than_by_display_name() -> None:
    templates = Path(__file__).resolve().parents[3] / "templates"
    named_otherwise = re.compile(
        r"\{\{[^}]*\b(created_by|actor|requested_by|user)\.(email|full_name|username)\b"
    )

    offenders = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if named_otherwise.search(line)
    ]

    assert offenders == []
