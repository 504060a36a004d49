"""Django admin for integrations and hiring: pages load, secrets are write-only, history is
read-only, and a key typed into the admin goes through the same service as the console."""

from __future__ import annotations

import re
from typing import TypedDict

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from integrations.connection.services import lifecycle
from integrations.models import AtsIntegration, AuditEntry, OpportunityLink, WebhookSubscription
from karatlever.accounts.models import Group, User
from karatlever.hiring import services as hiring_services
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone, Role
from tests.factories import RoleFactory
from tests.integrations.conftest import API_KEY, OTHER_KEY, mark_valid

pytestmark = pytest.mark.django_db
SIGNATURE_TOKEN = "sigtok_TEST_0123456789abcdefWXYZ"


@pytest.fixture
def staff_client(db: None) -> Client:
    user = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def candidacy(group: Group) -> Candidacy:
    role = RoleFactory(group=group, title="Backend Engineer")
    candidacy = hiring_services.candidacy_create(
        role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
    )
    hiring_services.candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    return candidacy


class Everything(TypedDict):
    integration: AtsIntegration
    subscription: WebhookSubscription
    link: OpportunityLink
    audit: AuditEntry
    candidacy: Candidacy
    role: Role


@pytest.fixture
def everything(keyed_integration: AtsIntegration, candidacy: Candidacy) -> Everything:
    subscription = WebhookSubscription.objects.create(
        integration=keyed_integration,
        event="candidateHired",
        signature_token=SIGNATURE_TOKEN,
        signature_token_last4=SIGNATURE_TOKEN[-4:],
    )
    link = OpportunityLink.objects.create(
        integration=keyed_integration, candidacy=candidacy, opportunity_id="opp-1"
    )
    audit = AuditEntry.objects.first()
    assert audit is not None
    return {
        "integration": keyed_integration,
        "subscription": subscription,
        "link": link,
        "audit": audit,
        "candidacy": candidacy,
        "role": candidacy.role,
    }


def _admin_url(obj: models.Model | None, view: str = "change") -> str:
    assert obj is not None
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


MODELS = [AtsIntegration, WebhookSubscription, OpportunityLink, AuditEntry, Role, Candidacy]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_admin_list_and_change_page_loads(
    staff_client: Client, everything: Everything, model: type[models.Model]
) -> None:
    obj = model._default_manager.first()
    meta = model._meta

    changelist = staff_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    change = staff_client.get(_admin_url(obj))

    assert changelist.status_code == 200
    assert change.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_console_users_cannot_open_the_django_admin(
    admin_client: Client, everything: Everything, model: type[models.Model]
) -> None:
    response = admin_client.get(_admin_url(model._default_manager.first()))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_integration_admin_never_shows_the_key(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]

    change = staff_client.get(_admin_url(integration)).content.decode()
    changelist = staff_client.get(reverse("admin:integrations_atsintegration_changelist"))

    for page in (change, changelist.content.decode()):
        assert API_KEY not in page
        assert "••••" + API_KEY[-4:] in page
    field = re.search(r'<input[^>]*name="new_api_key"[^>]*>', change)
    assert field is not None
    assert 'type="password"' in field.group(0)
    assert "value=" not in field.group(0)
    assert 'name="api_key"' not in change


def test_the_webhook_admin_never_shows_the_signature_token(
    staff_client: Client, everything: Everything
) -> None:
    subscription = everything["subscription"]

    change = staff_client.get(_admin_url(subscription)).content.decode()
    changelist = staff_client.get(
        reverse("admin:integrations_webhooksubscription_changelist")
    ).content.decode()

    for page in (change, changelist):
        assert SIGNATURE_TOKEN not in page
        assert "••••" + SIGNATURE_TOKEN[-4:] in page


def test_a_key_typed_into_the_admin_is_saved_through_the_service(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]
    mark_valid(integration)

    response = staff_client.post(
        _admin_url(integration),
        {
            "enabled": "on",
            "rate_limit_per_second": "5",
            "rate_limit_burst": "7",
            "new_api_key": OTHER_KEY,
        },
    )

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.rate_limit_per_second == 5
    assert integration.api_key == API_KEY  # the working key stays until the new one passes
    assert integration.pending_api_key == OTHER_KEY
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.API_KEY_SET).first()
    assert entry is not None
    assert entry.detail["api_key_last4"] == OTHER_KEY[-4:]


def test_a_bad_key_in_the_admin_is_a_form_error(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]

    response = staff_client.post(
        _admin_url(integration),
        {
            "enabled": "on",
            "rate_limit_per_second": "8",
            "rate_limit_burst": "10",
            "new_api_key": "has a space in it ok",
        },
    )

    assert response.status_code == 200
    assert "spaces or line breaks" in response.content.decode()
    integration.refresh_from_db()
    assert integration.api_key == API_KEY


def test_saving_the_admin_form_without_a_key_keeps_the_key(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]

    staff_client.post(
        _admin_url(integration),
        {"rate_limit_per_second": "8", "rate_limit_burst": "10", "new_api_key": ""},
    )

    integration.refresh_from_db()
    assert integration.enabled is False
    assert integration.api_key == API_KEY


def test_disabling_and_rate_limits_in_the_admin_are_audited(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]

    response = staff_client.post(
        _admin_url(integration),
        {"rate_limit_per_second": "4", "rate_limit_burst": "6", "new_api_key": ""},
    )

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.enabled is False
    assert (integration.rate_limit_per_second, integration.rate_limit_burst) == (4, 6)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert AuditEntry.Action.DISABLED in actions
    assert AuditEntry.Action.SETTINGS_CHANGED in actions


@pytest.mark.parametrize(("per_second", "burst"), [("0", "10"), ("500", "10"), ("8", "0")])
def test_an_out_of_range_rate_limit_in_the_admin_is_a_form_error(
    staff_client: Client, everything: Everything, per_second: str, burst: str
) -> None:
    integration = everything["integration"]
    before = (integration.rate_limit_per_second, integration.rate_limit_burst)

    response = staff_client.post(
        _admin_url(integration),
        {"enabled": "on", "rate_limit_per_second": per_second, "rate_limit_burst": burst},
    )

    assert response.status_code == 200
    integration.refresh_from_db()
    assert before == (10, 20)  # Lever's documented rate and burst, the defaults
    assert (integration.rate_limit_per_second, integration.rate_limit_burst) == before
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SETTINGS_CHANGED).exists()


def test_deleting_in_the_admin_keeps_the_audit_log(
    staff_client: Client, everything: Everything
) -> None:
    integration = everything["integration"]

    staff_client.post(_admin_url(integration, "delete"), {"post": "yes"})

    assert not AtsIntegration.objects.exists()
    assert AuditEntry.objects.filter(
        integration_public_id=integration.public_id, action=AuditEntry.Action.DELETED
    ).exists()


def test_integrations_cannot_be_added_in_the_admin(staff_client: Client) -> None:
    assert staff_client.get(reverse("admin:integrations_atsintegration_add")).status_code == 403


def test_the_audit_log_is_read_only_in_the_admin(
    staff_client: Client, everything: Everything
) -> None:
    entry = everything["audit"]

    change = staff_client.get(_admin_url(entry)).content.decode()
    post = staff_client.post(_admin_url(entry), {"summary": "rewritten"})
    delete = staff_client.post(_admin_url(entry, "delete"), {"post": "yes"})

    assert 'name="summary"' not in change
    assert post.status_code == 403
    assert delete.status_code == 403
    assert staff_client.get(reverse("admin:integrations_auditentry_add")).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exclude(summary="rewritten").exists()


def test_the_candidacy_admin_shows_the_timeline_read_only(
    staff_client: Client, everything: Everything
) -> None:
    candidacy = everything["candidacy"]

    page = staff_client.get(_admin_url(candidacy)).content.decode()

    event = CandidacyEvent.objects.filter(candidacy=candidacy).first()
    assert event is not None
    assert event.summary in page
    assert 'name="events-0-summary"' not in page
    assert 'name="events-MAX_NUM_FORMS" value="0"' in page  # no new events can be added


def test_audit_entries_of_deleted_integrations_stay_visible_in_the_admin(
    staff_client: Client, keyed_integration: AtsIntegration, admin_user: User
) -> None:
    lifecycle.integration_delete(integration=keyed_integration, actor=admin_user)

    page = staff_client.get(reverse("admin:integrations_auditentry_changelist")).content.decode()

    assert str(keyed_integration.public_id) in page
    assert API_KEY not in page
