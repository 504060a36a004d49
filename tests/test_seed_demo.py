"""`manage.py seed_demo`: the demo organization is created once, whatever the number of runs."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from pytest_django import Settings

from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import DEMO_API_KEY, demo_opportunity_ids
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    OpportunityLink,
    Region,
    WebhookSubscription,
)
from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "groups": Group.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "roles": Role.objects.count(),
        "integrations": AtsIntegration.objects.count(),
        "candidacies": Candidacy.objects.count(),
        "links": OpportunityLink.objects.count(),
        "events": CandidacyEvent.objects.count(),
    }


def test_running_twice_creates_everything_once() -> None:
    first_output = _seed()
    after_first = _counts()

    second_output = _seed()

    assert _counts() == after_first
    assert after_first["organizations"] == 1
    assert after_first["groups"] == 2
    assert after_first["users"] == 2
    assert after_first["integrations"] == 1
    assert after_first["candidacies"] == after_first["links"] == 8
    assert "Demo data created" in first_output
    assert "nothing created" in second_output


def test_the_demo_shape_matches_what_the_readme_promises() -> None:
    output = _seed()

    organization = Organization.objects.get(name="Acme Corp")
    assert set(organization.groups.values_list("name", flat=True)) == {"Engineering", "Data"}
    assert User.objects.get(email="admin@acme.test").membership.role == Membership.Role.ADMIN
    assert (
        User.objects.get(email="recruiter@acme.test").membership.role == Membership.Role.RECRUITER
    )
    for group in organization.groups.all():
        assert group.roles.count() >= 2
    assert "admin@acme.test / karat-demo-admin" in output
    assert "recruiter@acme.test / karat-demo-recruiter" in output


def test_candidacies_are_linked_to_the_deterministic_sandbox_opportunities() -> None:
    _seed()

    integration = AtsIntegration.objects.get(group__name="Engineering")
    linked = set(integration.opportunity_links.values_list("opportunity_id", flat=True))
    assert linked == set(demo_opportunity_ids(8))
    for link in integration.opportunity_links.select_related("candidacy__role"):
        assert link.candidacy.group_id == integration.group_id
        assert link.candidacy.role.group_id == integration.group_id
        assert link.candidacy.ats_stage_id
        assert link.candidacy.ats_state_version is not None


def test_the_integration_holds_the_sandbox_key_encrypted_at_rest() -> None:
    output = _seed()

    integration = AtsIntegration.objects.get(group__name="Engineering")
    assert integration.region == Region.SANDBOX
    assert integration.api_key == DEMO_API_KEY
    assert integration.api_key_last4 == DEMO_API_KEY[-4:]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key FROM integrations_atsintegration WHERE id = %s", [integration.pk]
        )
        (stored,) = cursor.fetchone()
    assert DEMO_API_KEY not in stored
    assert DEMO_API_KEY not in output


def test_the_demo_key_is_set_through_the_audited_console_service() -> None:
    _seed()

    integration = AtsIntegration.objects.get(group__name="Engineering")
    entry = integration.audit_entries.get(action=AuditEntry.Action.API_KEY_SET)
    assert entry.actor is None  # the seed did it, not the demo admin (issue #10)
    assert entry.detail["api_key_last4"] == DEMO_API_KEY[-4:]
    assert DEMO_API_KEY not in str(entry.detail)
    assert integration.audit_entries.filter(action=AuditEntry.Action.CREATED).count() == 1
    # The worker checks the key against the sandbox; until then it is being checked.
    assert integration.key_status == AtsIntegration.KeyStatus.CHECKING


def test_what_the_seed_did_is_credited_to_the_system_not_the_demo_admin() -> None:
    _seed()

    integration = AtsIntegration.objects.get(group__name="Engineering")
    assert integration.created_by is None
    assert integration.audit_entries.exists()
    assert not integration.audit_entries.filter(actor__isnull=False).exists()
    events = CandidacyEvent.objects.all()
    assert events.exists()
    assert not events.filter(actor__isnull=False).exists()
    assert not events.filter(source=CandidacyEvent.Source.PERSON).exists()
    created = events.filter(kind=CandidacyEvent.Kind.CREATED)
    assert set(created.values_list("source", flat=True)) == {CandidacyEvent.Source.KARAT}


def test_pages_show_the_seeds_entries_as_automatic() -> None:
    _seed()
    client = Client()
    client.force_login(User.objects.get(email="admin@acme.test"))
    integration = AtsIntegration.objects.get(group__name="Engineering")
    candidacy = Candidacy.objects.filter(group=integration.group).first()
    assert candidacy is not None

    timeline = client.get(f"/candidates/{candidacy.code}/").content.decode()
    audit = client.get(f"/settings/ats-integrations/{integration.public_id}/").content.decode()

    assert "Ada Admin" not in timeline.split('id="timeline-h"')[1]
    assert "A person" not in timeline
    assert "Karat, automatically" in timeline.split('id="timeline-h"')[1]
    audit_log = audit.split('id="audit-heading"')[1]
    assert "Ada Admin" not in audit_log
    assert "Karat, automatically" in audit_log


def test_the_background_check_of_the_seeded_key_is_credited_to_the_system(
    settings: Settings,
) -> None:
    from integrations import tasks

    with SandboxServer(port=0, rate_per_second=None) as sandbox:
        settings.LEVER_API_BASE_URL = sandbox.api_url
        _seed()
        integration = AtsIntegration.objects.get(group__name="Engineering")
        tasks.api_key_validate(integration.pk)  # what the worker runs in the background

    entry = integration.audit_entries.get(action=AuditEntry.Action.API_KEY_VALIDATED)
    assert entry.actor is None
    client = Client()
    client.force_login(User.objects.get(email="admin@acme.test"))
    page = client.get(f"/settings/ats-integrations/{integration.public_id}/").content.decode()
    audit_log = page.split('id="audit-heading"')[1]
    assert "API key validated" in audit_log
    assert "Ada Admin" not in audit_log


def test_a_rerun_keeps_a_changed_password_unless_asked_to_reset() -> None:
    _seed()
    admin = User.objects.get(email="admin@acme.test")
    admin.set_password("my own password 42")
    admin.save(update_fields=["password"])

    _seed()
    admin.refresh_from_db()
    assert admin.check_password("my own password 42")

    _seed("--reset-passwords")
    admin.refresh_from_db()
    assert admin.check_password("karat-demo-admin")


def test_the_printed_admin_credentials_sign_in() -> None:
    _seed()
    client = Client()

    response = client.post(
        "/accounts/login/", {"username": "admin@acme.test", "password": "karat-demo-admin"}
    )

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(User.objects.get(email="admin@acme.test").pk)


def test_a_partial_demo_is_completed_without_duplicates() -> None:
    # Someone already created the organization and one group by hand.
    organization = Organization.objects.create(name="Acme Corp")
    Group.objects.create(organization=organization, name="Engineering")

    _seed()

    assert Organization.objects.count() == 1
    assert Group.objects.filter(organization=organization).count() == 2
    assert OpportunityLink.objects.count() == 8


def test_register_webhooks_points_the_sandbox_webhooks_at_the_console_once(
    settings: Settings,
) -> None:
    with SandboxServer(port=0, rate_per_second=None) as sandbox:
        settings.LEVER_API_BASE_URL = sandbox.api_url
        settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
        _seed()
        integration = AtsIntegration.objects.get(group__name="Engineering")

        first = _seed("--register-webhooks")
        second = _seed("--register-webhooks")
        in_lever = requests.get(
            f"{sandbox.api_url}/webhooks", auth=(DEMO_API_KEY, ""), timeout=5
        ).json()["data"]

    expected_url = f"http://127.0.0.1:8000/webhooks/lever/{integration.public_id}/"
    subscriptions = WebhookSubscription.objects.filter(integration=integration)
    assert {s.event for s in subscriptions} == set(WebhookEvent.values)
    assert all(s.signature_token and s.lever_webhook_id for s in subscriptions)
    assert f"Demo webhooks → {expected_url} (created: " in first
    assert "(kept: " in second
    assert sorted(hook["event"] for hook in in_lever) == sorted(WebhookEvent.values)
    assert {hook["url"] for hook in in_lever} == {expected_url}
    registered = integration.audit_entries.filter(action=AuditEntry.Action.WEBHOOKS_CHANGED)
    assert registered.exists()
    assert not registered.filter(actor__isnull=False).exists()  # `make run` did it, no person


def test_register_webhooks_without_the_demo_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        _seed("--register-webhooks")


def test_every_seeded_candidacy_is_on_a_candidate_the_invite_preview_accepts(
    settings: Settings,
) -> None:
    from integrations.invites.services.preview import (
        InviteWarning,
        email_unsupported_reason,
        invite_preview,
    )

    with SandboxServer(port=0, rate_per_second=None) as sandbox:
        settings.LEVER_API_BASE_URL = sandbox.api_url
        _seed()
        integration = AtsIntegration.objects.get(group__name="Engineering")
        previews = [
            invite_preview(
                group=integration.group,
                integration=integration,
                url=f"https://hire.sandbox.lever.co/candidates/{link.opportunity_id}",
            )
            for link in integration.opportunity_links.all()
        ]

    assert len(previews) == 8
    for preview in previews:
        assert preview.ok, preview.message
        assert preview.email
        assert email_unsupported_reason(preview.email) == ""
        # Invited by the seed, and nothing else to warn about.
        assert preview.warnings == (InviteWarning.ALREADY_INVITED,)
