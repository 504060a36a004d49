"""What a recruiter reads on the invite pages (issue 20): rows named in the summary, the
recent invites newest first and labelled by what is left to do, no finished progress bar for
a batch that never showed one, and a hired candidate told apart from an archived one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.invites.services.preview import InviteWarning, invite_preview
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, InviteBatch, InviteItem
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role
from tests.integrations.conftest import roles_by_posting_title
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db

NOT_A_CANDIDATE = "https://hire.lever.co/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e"


def paste(client: Client, group: Group, urls: list[str]) -> Any:
    return client.post(reverse("invites:new"), {"urls": "\n".join(urls), "group": group.code})


def checkbox(page: str, item: InviteItem) -> str:
    found = re.search(rf'<input type="checkbox" name="include-{item.pk}"[^>]*>', page)
    assert found is not None
    return found.group(0)


def problems_card(page: str) -> str:
    card = page[page.index('<section class="card invite-problems">') :]
    return card[: card.index("</section>")]


def recent_list(page: str) -> str:
    section = page[page.index("Your recent invites") :]
    return section[: section.index("</section>")]


def test_the_summary_names_the_candidates_not_invited(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:2]])
    batch = InviteBatch.objects.get()
    first, second = batch.items.order_by("position")
    recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{first.pk}": "on"}
    )

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    second.refresh_from_db()
    assert second.status == InviteItem.Status.SKIPPED
    card = problems_card(page)
    assert second.preview["candidate_name"] in card
    assert f'href="{second.preview["candidate_url"]}"' in card


def test_a_sandbox_region_batch_opens_lever_profiles_on_the_local_sandbox(
    recruiter_client: Client,
    integration: AtsIntegration,
    regional_sandbox: SandboxServer,
    invitable: list[str],
    settings: Any,
) -> None:
    # make run: hire.sandbox.lever.co doesn't resolve, the local sandbox serves the page.
    settings.LEVER_SANDBOX_SITE_URL = regional_sandbox.url
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.region = "sandbox"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])
    roles_by_posting_title(integration.group)
    opportunity_id = invitable[0]
    paste(
        recruiter_client,
        integration.group,
        [f"https://hire.sandbox.lever.co/candidates/{opportunity_id}"],
    )
    batch = InviteBatch.objects.get()

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    item = batch.items.get()
    assert item.preview["candidate_url"].startswith("https://hire.sandbox.lever.co/candidates/")
    assert f'href="{regional_sandbox.url}/candidates/{opportunity_id}"' in page
    assert "hire.sandbox.lever.co/candidates" not in page


def test_a_row_lever_could_not_read_is_still_shown_by_its_link(
    recruiter_client: Client, lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    paste(recruiter_client, lever_integration.group, [NOT_A_CANDIDATE])
    batch = InviteBatch.objects.get()

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    assert NOT_A_CANDIDATE in problems_card(page)


def test_recent_invites_are_listed_newest_first(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    start = timezone.now()
    for days, count in ((3, 1), (2, 2), (1, 3)):
        with time_machine.travel(start - timedelta(days=days), tick=False):
            paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:count]])

    page = recruiter_client.get(reverse("invites:new")).content.decode()

    listed = re.findall(r"(\d) URLs? for Engineering", recent_list(page))
    assert listed == ["3", "2", "1"]


def test_a_recent_batch_with_nothing_to_invite_is_not_ready_to_invite(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [NOT_A_CANDIDATE])
    paste(recruiter_client, lever_integration.group, [url_of(invitable[0])])

    page = recent_list(recruiter_client.get(reverse("invites:new")).content.decode())

    assert InviteBatch.objects.filter(status=InviteBatch.Status.PREVIEWED).count() == 2
    assert page.count("Ready to invite") == 1
    assert "Nothing to invite" in page


def test_a_recent_finished_batch_says_how_many_were_invited(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:2]])
    batch = InviteBatch.objects.get()
    first = batch.items.order_by("position").first()
    assert first is not None
    recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{first.pk}": "on"}
    )

    page = recent_list(recruiter_client.get(reverse("invites:new")).content.decode())

    assert "1 invited" in page


def test_a_small_batch_shows_no_finished_progress_bar(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration.group, [url_of(invitable[0])])
    batch = InviteBatch.objects.get()
    url = reverse("invites:batch", args=[batch.public_id])
    item = batch.items.get()

    preview = recruiter_client.get(url).content.decode()
    recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{item.pk}": "on"}
    )
    summary = recruiter_client.get(url).content.decode()

    assert "Invite selected candidates" in preview
    assert "<progress" not in preview
    assert "1 invited" in summary
    assert "<progress" not in summary


def test_a_batch_read_in_the_background_keeps_its_finished_bar(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
) -> None:
    from integrations.invites.services.batches import invite_batch_preview

    settings.INVITE_BACKGROUND_THRESHOLD = 1
    paste(recruiter_client, lever_integration.group, [url_of(o) for o in invitable[:2]])
    batch = InviteBatch.objects.get()
    invite_batch_preview(batch_id=batch.pk)

    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    assert "Invite selected candidates" in page
    assert re.search(r'<progress [^>]*max="2" value="2"', page)


def test_a_hired_candidate_is_flagged_hired_not_just_archived(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    hired, archived = invitable[0], invitable[1]
    lever.hire(hired)
    reason = next(r for r in lever.sandbox.archive_reasons() if r["type"] != "hired")
    lever.archive(archived, reason["id"])

    previews = {
        o: invite_preview(
            group=lever_integration.group, integration=lever_integration, url=url_of(o)
        )
        for o in (hired, archived)
    }
    paste(recruiter_client, lever_integration.group, [url_of(hired), url_of(archived)])
    batch = InviteBatch.objects.get()
    page = recruiter_client.get(reverse("invites:batch", args=[batch.public_id])).content.decode()

    assert previews[hired].warnings == (InviteWarning.HIRED,)
    assert previews[archived].warnings == (InviteWarning.ARCHIVED,)
    rows = {i.opportunity_id: i for i in batch.items.all()}
    assert "checked" not in checkbox(page, rows[hired])
    assert "checked" not in checkbox(page, rows[archived])
    row = page[page.index(f'name="include-{rows[hired].pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Hired in Lever" in row
    assert "Archived in Lever" not in row
    assert "Archived in Lever" in page  # the other row
    assert not Candidacy.objects.exists()
