"""A second ATS, defined here with only some capabilities, works with the generic code:
intake, processing, reconciliation, webhook setup and the settings page ask only for the
capabilities they use, and the status page shows what needs the others as not available."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations import ats as iface
from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
from karatlever.hiring.models import Candidacy
from karatlever.hiring.services import AtsState
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import processing, reconcile

pytestmark = pytest.mark.django_db

SIGNING_KEY = "fake-ats-signing-key-0123456789"
OPPORTUNITY = "cand-0001"


class FakeAts(iface.InboundDeliveries, iface.Opportunities, iface.WebhooksApi):
    """A tiny ATS offering three capabilities and nothing else: inbound deliveries
    ``{"id", "kind", "at", "candidate", "mac"}`` (HMAC of id+at), opportunity state, and a
    Webhooks API. No key checks, postings, writes, users, invite reads or candidate links."""

    ats = "fakeats"
    label = "FakeATS"
    regions: Sequence[tuple[str, str]] = (("us", "US"),)
    webhook_events: Sequence[iface.WebhookEventSpec] = (
        iface.WebhookEventSpec("candidate.moved", "Candidate moved"),
    )

    def __init__(self) -> None:
        self.states: dict[str, tuple[str, int]] = {}
        self.calls: list[str] = []
        self.webhooks: list[iface.RemoteWebhook] = []

    def api_host(self, region: str) -> str:
        return "api.fake.example"

    # --- inbound deliveries -------------------------------------------------------------------

    def delivery_parse(self, body: Mapping[str, Any]) -> iface.InboundDelivery:
        if not isinstance(body.get("id"), str) or not isinstance(body.get("at"), int):
            raise iface.DeliveryMalformed("id and at are required")
        return iface.InboundDelivery(
            event=str(body.get("kind", "")),
            delivery_key=body["id"],
            triggered_at_ms=body["at"],
            opportunity_id=str(body.get("candidate", "")),
            is_test=not body.get("candidate"),
        )

    def delivery_verify(self, body: Mapping[str, Any], *, signature_tokens: Sequence[str]) -> bool:
        message = f"{body.get('id')}{body.get('at')}".encode()
        return any(
            hmac.compare_digest(
                hmac.new(t.encode(), message, hashlib.sha256).hexdigest(), str(body.get("mac"))
            )
            for t in signature_tokens
        )

    # --- opportunities ------------------------------------------------------------------------

    def _state(self, opportunity_id: str) -> iface.OpportunityState:
        stage, version = self.states[opportunity_id]
        return iface.OpportunityState(
            opportunity_id=opportunity_id,
            contact_id="person-1",
            state=AtsState(
                stage_id=stage, stage_name=stage.title(), archived=False, version=version
            ),
        )

    def opportunity_state(
        self, account: iface.AtsAccount, opportunity_id: str, *, profile: iface.CallProfile
    ) -> iface.OpportunityState:
        self.calls.append(f"read {opportunity_id}")
        if opportunity_id not in self.states:
            raise iface.AtsRecordNotFound("no such candidate", status_code=404)
        return self._state(opportunity_id)

    def opportunities_changed(
        self,
        account: iface.AtsAccount,
        *,
        since_ms: int,
        contact_ids: Sequence[str] | None,
        profile: iface.CallProfile,
    ) -> Iterator[iface.OpportunityState]:
        self.calls.append("list changed")
        for opportunity_id, (_, version) in self.states.items():
            if version >= since_ms:
                yield self._state(opportunity_id)

    # --- webhooks API -------------------------------------------------------------------------

    def webhooks_list(
        self, account: iface.AtsAccount, *, profile: iface.CallProfile
    ) -> list[iface.RemoteWebhook]:
        return [replace(w, signature_token="") for w in self.webhooks]

    def webhook_create(
        self, account: iface.AtsAccount, *, url: str, event: str, profile: iface.CallProfile
    ) -> iface.RemoteWebhook:
        created = iface.RemoteWebhook(
            id=f"w{len(self.webhooks) + 1}", event=event, url=url, signature_token="t" * 32
        )
        self.webhooks.append(created)
        return created

    def webhook_update_url(
        self, account: iface.AtsAccount, webhook_id: str, *, url: str, profile: iface.CallProfile
    ) -> None:
        self.webhooks = [replace(w, url=url) if w.id == webhook_id else w for w in self.webhooks]

    def webhook_delete(
        self, account: iface.AtsAccount, webhook_id: str, *, profile: iface.CallProfile
    ) -> None:
        self.webhooks = [w for w in self.webhooks if w.id != webhook_id]


class FakeAtsWithPostings(FakeAts, iface.Postings):
    """The same ATS grown by one capability: its postings (role matching)."""

    posting_states: Sequence[tuple[str, str]] = (("open", "Open"), ("closed", "Closed"))
    posting_open_states: frozenset[str] = frozenset({"open"})
    postings = (iface.RemotePosting(posting_id="p-1", title="Backend Engineer", state="open"),)

    def postings_page(
        self,
        account: iface.AtsAccount,
        *,
        cursor: str | None,
        updated_since_ms: int | None,
        profile: iface.CallProfile,
    ) -> iface.PostingPage:
        self.calls.append("postings_page")
        return iface.PostingPage(postings=self.postings, next_cursor=None)

    def postings_get(
        self, account: iface.AtsAccount, posting_ids: Sequence[str], *, profile: iface.CallProfile
    ) -> dict[str, iface.PostingInfo]:
        return {p.posting_id: p for p in self.postings_list(account, profile=profile)}

    def postings_list(
        self, account: iface.AtsAccount, *, profile: iface.CallProfile
    ) -> list[iface.PostingInfo]:
        return [
            iface.PostingInfo(p.posting_id, p.title, p.requisition_codes) for p in self.postings
        ]


@pytest.fixture
def fake() -> Iterator[FakeAts]:
    adapter = FakeAts()
    iface.adapter_register("fakeats", adapter)
    yield adapter
    iface.adapter_unregister("fakeats")


@pytest.fixture
def fake_with_postings(fake: FakeAts) -> FakeAtsWithPostings:
    adapter = FakeAtsWithPostings()
    iface.adapter_register("fakeats", adapter)  # unregistered by ``fake``
    return adapter


@pytest.fixture
def fake_integration(fake: FakeAts, group: Any) -> AtsIntegration:
    integration = IntegrationFactory(group=group, ats="fakeats")
    integration.api_key = "fake-key-0123456789abcdef"
    integration.api_key_last4 = "cdef"
    integration.save(update_fields=["api_key", "api_key_last4"])
    WebhookSubscription.objects.create(
        integration=integration,
        event="candidate.moved",
        signature_token=SIGNING_KEY,
        signature_token_last4=SIGNING_KEY[-4:],
    )
    return integration


@pytest.fixture
def fake_candidacy(fake_integration: AtsIntegration) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=fake_integration.group))
    OpportunityLink.objects.create(
        integration=fake_integration, candidacy=candidacy, opportunity_id=OPPORTUNITY
    )
    return candidacy


def _delivery(delivery_id: str, *, at: int | None = None, key: str = SIGNING_KEY) -> str:
    """A delivery of the fake ATS signed ``at`` (ms since the epoch; default now, inside the
    receiver's freshness window whatever today's date is)."""
    at = _now_ms() if at is None else at
    mac = hmac.new(key.encode(), f"{delivery_id}{at}".encode(), hashlib.sha256).hexdigest()
    body = {"id": delivery_id, "kind": "candidate.moved", "at": at, "candidate": OPPORTUNITY}
    return json.dumps({**body, "mac": mac})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _receive_url(integration: AtsIntegration) -> str:
    return f"/webhooks/fakeats/{integration.public_id}/"


def test_a_signed_delivery_of_the_second_ats_is_stored_and_processed(
    client: Client, fake: FakeAts, fake_candidacy: Candidacy, fake_integration: AtsIntegration
) -> None:
    fake.states[OPPORTUNITY] = ("onsite", _now_ms())

    response = client.post(
        _receive_url(fake_integration), _delivery("d-1"), content_type="application/json"
    )

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(integration=fake_integration)
    assert (delivery.event, delivery.token, delivery.opportunity_id) == (
        "candidate.moved",
        "d-1",
        OPPORTUNITY,
    )
    assert processing.delivery_process(delivery_id=delivery.pk) == WebhookDelivery.Status.PROCESSED
    fake_candidacy.refresh_from_db()
    assert fake_candidacy.ats_stage_name == "Onsite"
    assert fake.calls == [f"read {OPPORTUNITY}"]


def test_a_badly_signed_delivery_of_the_second_ats_is_refused(
    client: Client, fake: FakeAts, fake_candidacy: Candidacy, fake_integration: AtsIntegration
) -> None:
    response = client.post(
        _receive_url(fake_integration),
        _delivery("d-2", key="another-key-0123456789abcdef"),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_a_deleted_record_of_the_second_ats_is_ignored_without_blaming_the_key(
    client: Client, fake: FakeAts, fake_candidacy: Candidacy, fake_integration: AtsIntegration
) -> None:
    client.post(_receive_url(fake_integration), _delivery("d-3"), content_type="application/json")

    status = processing.delivery_process(delivery_id=WebhookDelivery.objects.get().pk)

    assert status == WebhookDelivery.Status.IGNORED
    fake_integration.refresh_from_db()
    assert fake_integration.last_error == ""


def test_reconciliation_heals_a_missed_change_of_the_second_ats(
    fake: FakeAts, fake_candidacy: Candidacy, fake_integration: AtsIntegration
) -> None:
    fake.states[OPPORTUNITY] = ("offer", 4_000_000_000_000)

    result = reconcile.integration_reconcile(integration_id=fake_integration.pk)

    assert result is not None
    assert result.changed == 1
    fake_candidacy.refresh_from_db()
    assert fake_candidacy.ats_stage_name == "Offer"


def test_the_second_ats_offers_only_the_capabilities_it_implements(fake: FakeAts) -> None:
    assert iface.adapter_for("fakeats", iface.Opportunities) is fake
    assert iface.capability("fakeats", iface.WebhooksApi) is fake
    assert iface.capability("fakeats", iface.KeyChecks) is None
    with pytest.raises(iface.CapabilityMissing, match=r"FakeATS .* does not offer Postings"):
        iface.adapter_for("fakeats", iface.Postings)
    with pytest.raises(iface.CapabilityMissing) as missing:
        iface.adapter_for("fakeats")
    assert missing.value.missing == (
        "OpportunityDetails",
        "Postings",
        "Writes",
        "Users",
        "KeyChecks",
        "CandidateLinks",
        "Deletions",
    )


def test_the_second_ats_registers_its_webhooks_through_its_webhooks_api(
    fake: FakeAts, fake_integration: AtsIntegration
) -> None:
    from webhooks.services import setup

    result = setup.webhooks_register(integration=fake_integration, actor=None)

    assert result.created == ["candidate.moved"]
    assert [(w.event, w.url) for w in fake.webhooks] == [("candidate.moved", result.url)]
    subscription = WebhookSubscription.objects.get(integration=fake_integration)
    assert subscription.signature_token == "t" * 32
    assert subscription.previous_signature_token == SIGNING_KEY


def test_the_status_and_settings_pages_show_the_second_ats_events(
    admin_client: Client, fake: FakeAts, fake_integration: AtsIntegration
) -> None:
    kwargs = {"public_id": fake_integration.public_id}

    status_page = admin_client.get(reverse("integrations:status", kwargs=kwargs))
    settings_page = admin_client.get(reverse("integrations:settings", kwargs=kwargs))

    assert status_page.status_code == 200
    assert "Candidate moved" in status_page.content.decode()
    assert settings_page.status_code == 200
    assert "Candidate moved" in settings_page.content.decode()


def test_the_status_page_shows_features_needing_what_the_second_ats_lacks_as_not_available(
    fake: FakeAts, fake_integration: AtsIntegration
) -> None:
    from integrations.status import services as status

    snapshot = status.integration_status_compute(integration_id=fake_integration.pk)

    assert snapshot is not None
    labels = {feature["key"]: feature["label"] for feature in snapshot.features}
    assert labels["auto_state_updating"] != "Not available for FakeATS"
    assert {key for key, label in labels.items() if label == "Not available for FakeATS"} == {
        "invite_from_lever_url",
        "post_candidacy_updates",
        "role_matching",
        "automatic_invites",
        "late_links",
        "interview_panels",
        # The hiring team comes with the posting sync (Postings).
        "role_followers_from_ats",
        "feedback_forms",
        "deletions_honoured",
    }


def test_the_second_ats_postings_sync_and_match_karat_roles(
    fake_with_postings: FakeAtsWithPostings, fake_integration: AtsIntegration
) -> None:
    from integrations.roles import selectors
    from integrations.roles.services import sync

    role = RoleFactory(group=fake_integration.group, title="Backend engineer")
    run = sync.postings_sync_request(integration=fake_integration)

    assert sync.postings_sync_run(run_id=run.pk) == "succeeded"

    assert "postings_page" in fake_with_postings.calls
    assert selectors.posting_role_get(integration=fake_integration, posting_id="p-1") == role
    page = selectors.roles_page(integration=fake_integration)
    assert [row.state_label for row in page.rows] == ["Open"]
    assert page.unmatched_open == 0
