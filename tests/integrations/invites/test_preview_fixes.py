"""What a first real user hit on the invite pages: the default group, rows that need a
decision, counts, the empty problems card, emails Karat can't send to, and which process
invites a large batch (the automatic invite's are in tests/integrations/auto_invites/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from integrations.invites.services.batches import invite_batch_invite, invite_batch_preview
from integrations.invites.services.create import invite_urls
from integrations.invites.services.preview import (
    InviteCode,
    email_unsupported_reason,
    invite_group_default,
)
from integrations.lever.sandbox.demo import demo_data
from integrations.models import AtsIntegration, InviteBatch, InviteItem
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory
from tests.integrations.conftest import posting_of
from tests.integrations.invites.conftest import (
    queued_emails_send,
    unmailable_opportunity_id,
    url_of,
)

pytestmark = pytest.mark.django_db


def paste(client: Client, group: Group, urls: list[str]) -> Any:
    return client.post(reverse("invites:new"), {"urls": "\n".join(urls), "group": group.code})


def checkbox(page: str, item: InviteItem) -> str:
    found = re.search(rf'<input type="checkbox" name="include-{item.pk}"[^>]*>', page)
    assert found is not None
    return found.group(0)


def test_the_form_starts_on_the_first_group_with_an_enabled_integration(
    recruiter_client: Client, lever_integration: AtsIntegration, second_group: Group
) -> None:
    # "Data" (no integration) sorts before "Engineering" (the integration's group).
    page = recruiter_client.get(reverse("invites:new")).content.decode()

    selected = re.search(r'<option value="([^"]+)" selected>', page)
    assert selected is not None
    assert selected.group(1) == str(lever_integration.group.code)


def test_a_group_without_an_integration_still_says_so(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    second_group: Group,
    invitable: list[str],
) -> None:
    paste(recruiter_client, second_group, [url_of(invitable[0])])

    assert InviteItem.objects.get().code == InviteCode.NO_INTEGRATION


def test_a_disabled_integration_is_not_the_default(
    lever_integration: AtsIntegration, second_group: Group
) -> None:
    IntegrationFactory(group=second_group)
    lever_integration.enabled = False
    lever_integration.save(update_fields=["enabled"])

    chosen = invite_group_default(groups=[second_group, lever_integration.group])

    assert chosen == second_group


def test_a_row_without_a_role_starts_unticked_and_a_ticked_one_is_refused_per_row(
    recruiter_client: Client, lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    role = RoleFactory(group=lever_integration.group, title="Picked")
    paste(recruiter_client, lever_integration.group, [url_of(invitable[0])])
    item = InviteItem.objects.get()
    batch_url = reverse("invites:batch", args=[item.batch.public_id])
    confirm_url = reverse("invites:batch-confirm", args=[item.batch.public_id])

    page = recruiter_client.get(batch_url).content.decode()
    refused = recruiter_client.post(confirm_url, {f"include-{item.pk}": "on"})

    assert item.role is None
    assert "checked" not in checkbox(page, item)
    assert refused.status_code == 400
    assert "Choose a Karat role for this candidate" in refused.content.decode()
    assert "checked" in checkbox(refused.content.decode(), item)  # the choice is kept
    item.batch.refresh_from_db()
    item.refresh_from_db()
    assert item.batch.status == InviteBatch.Status.PREVIEWED
    assert item.status == InviteItem.Status.READY
    assert not Candidacy.objects.exists()

    recruiter_client.post(
        confirm_url, {f"include-{item.pk}": "on", f"role-{item.pk}": str(role.code)}
    )

    assert Candidacy.objects.get().role == role


def test_rows_with_warnings_to_decide_start_unticked(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    recent, plain = invitable[0], invitable[1]
    role = next(r for r in roles if r.title == posting_of(recent)["text"])
    email = next(o for o in demo_data().opportunities if o["id"] == recent)["emails"][0]
    CandidacyFactory(role=role, candidate_email=email.lower())
    published = {p["id"] for p in demo_data().postings if p["state"] == "published"}
    archived = next(
        o["id"]
        for o in demo_data().opportunities
        if o["archived"]
        and o["_application"]
        and o["_application"]["posting"] in published
        and o["emails"]
        and o["emails"][0].isascii()
    )
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in (recent, plain, archived)])
    batch = InviteBatch.objects.get()

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    rows = {i.opportunity_id: i for i in batch.items.filter(status=InviteItem.Status.READY)}
    assert "recent_interview" in rows[recent].warnings
    assert "archived" in rows[archived].warnings
    assert "checked" not in checkbox(page, rows[recent])
    assert "checked" not in checkbox(page, rows[archived])
    assert "checked" in checkbox(page, rows[plain])


def test_recent_invites_count_the_pasted_urls_not_the_ticked_rows(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:3]])
    batch = InviteBatch.objects.get()
    first = batch.items.order_by("position").first()
    assert first is not None
    recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{first.pk}": "on"}
    )

    page = recruiter_client.get(reverse("invites:new")).content.decode()
    batch_page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id]))

    assert "3 URLs for Engineering" in page
    assert "3 URLs" in batch_page.content.decode()


def test_the_problems_card_is_hidden_when_every_row_can_be_invited(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [url_of(invitable[0])])
    batch = InviteBatch.objects.get()

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    assert "Invite selected candidates" in page
    assert "Can&#x27;t be invited" not in page
    assert "invite-problems" not in page


def test_an_email_with_a_non_ascii_local_part_is_refused_with_its_reason(
    recruiter_client: Client, lever_integration: AtsIntegration, roles: list[Role]
) -> None:
    opportunity_id = unmailable_opportunity_id()
    paste(recruiter_client, lever_integration.group, [url_of(opportunity_id)])
    item = InviteItem.objects.get()

    outcomes = invite_urls(
        group=lever_integration.group, urls=[url_of(opportunity_id)], role=roles[0], actor=None
    )

    assert item.status == InviteItem.Status.ERROR
    assert item.code == InviteCode.EMAIL_UNSUPPORTED
    assert "can't receive mail from Karat" in item.message
    assert item.preview["email"] in item.message
    assert [o.code for o in outcomes] == [InviteCode.EMAIL_UNSUPPORTED]
    assert not Candidacy.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("email", "refused"),
    [
        ("tomás.silva68@example.org", True),
        ("ethan.müller1@example.org", True),
        ("tomas.silva68@example.org", False),
        ("anna@bücher.example", False),  # a non-ASCII domain is sent as punycode
    ],
)
def test_email_unsupported_reason(email: str, refused: bool) -> None:
    assert bool(email_unsupported_reason(email)) is refused


def test_a_large_batch_is_invited_in_the_worker_even_with_few_rows_ticked(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:3]])
    batch = InviteBatch.objects.get()
    invite_batch_preview(batch_id=batch.pk)
    first = batch.items.order_by("position").first()
    assert first is not None

    recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{first.pk}": "on"}
    )

    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.INVITING  # queued for the worker, not done here
    assert not Candidacy.objects.exists()
    assert mail.outbox == []
    invite_batch_invite(batch_id=batch.pk)  # what the worker's task runs
    assert Candidacy.objects.count() == 1
    assert len(queued_emails_send()) == 1


def test_a_ticked_recent_interview_row_needs_invite_again_anyway(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    opportunity_id = invitable[0]
    role = next(r for r in roles if r.title == posting_of(opportunity_id)["text"])
    email = next(o for o in demo_data().opportunities if o["id"] == opportunity_id)["emails"][0]
    earlier = CandidacyFactory(role=role, candidate_email=email.lower())
    paste(recruiter_client, lever_integration.group, [url_of(opportunity_id)])
    item = InviteItem.objects.get()
    confirm_url = reverse("invites:batch-confirm", args=[item.batch.public_id])

    refused = recruiter_client.post(confirm_url, {f"include-{item.pk}": "on"})
    item.batch.refresh_from_db()

    assert refused.status_code == 400
    assert "or untick the row" in refused.content.decode()
    assert item.batch.status == InviteBatch.Status.PREVIEWED
    assert list(Candidacy.objects.all()) == [earlier]

    recruiter_client.post(confirm_url, {f"include-{item.pk}": "on", f"confirm-{item.pk}": "on"})

    assert Candidacy.objects.count() == 2


def test_the_form_hint_shows_the_integration_regions_own_link(
    recruiter_client: Client, lever_integration: AtsIntegration, second_group: Group
) -> None:
    lever_integration.region = "sandbox"
    lever_integration.save(update_fields=["region"])

    page = recruiter_client.get(reverse("invites:new")).content.decode()
    eu = IntegrationFactory(group=second_group, region="eu")
    mixed = recruiter_client.get(reverse("invites:new")).content.decode()
    assert eu.enabled

    assert "https://hire.sandbox.lever.co/candidates/…" in page
    assert "https://hire.lever.co/candidates/" not in page
    # Two regions among the user's groups: the neutral hint names every host.
    assert "hire.eu.lever.co" in mixed
    assert "hire.sandbox.lever.co" in mixed
