"""The invite pages and the invitations API: wiring, tenancy, idempotency, progress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from integrations.invites.services.batches import (
    RowChoice,
    invite_batch_confirm,
    invite_batch_invite,
    invite_batch_preview,
)
from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import invite_preview
from integrations.models import AtsIntegration, InviteBatch, InviteItem, OpportunityLink
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Role
from tests.factories import RoleFactory
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db

BAD_URLS = [
    "https://example.com/not-lever",
    "https://jobs.lever.co/acme/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
    "https://hire.lever.co/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
]


def paste(client: Client, integration: AtsIntegration, urls: list[str]) -> Any:
    return client.post(
        reverse("invites:new"), {"urls": "\n".join(urls), "group": integration.group.code}
    )


def test_recruiter_previews_and_invites_a_small_batch(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    response = paste(recruiter_client, lever_integration, [url_of(invitable[0]), *BAD_URLS])

    batch = InviteBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("invites:batch", args=[batch.public_id])
    assert batch.status == InviteBatch.Status.PREVIEWED
    page = recruiter_client.get(response["Location"]).content.decode()
    assert "Invite selected candidates" in page
    for item in batch.items.filter(status=InviteItem.Status.ERROR):
        assert item.message[:40] in page.replace("&#x27;", "'")
    assert set(batch.items.values_list("code", flat=True)) == {
        "",
        "not_lever",
        "job_posting",
        "unknown_opportunity",
    }

    ready = batch.items.get(status=InviteItem.Status.READY)
    confirm = recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), {f"include-{ready.pk}": "on"}
    )

    assert confirm.status_code == 302
    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.DONE
    assert Candidacy.objects.count() == 1
    summary = recruiter_client.get(confirm["Location"]).content.decode()
    assert "1 invited" in summary
    assert "3 not invited" in summary


def test_a_row_without_a_matched_role_takes_the_picked_role(
    recruiter_client: Client, lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    role = RoleFactory(group=lever_integration.group, title="Picked")
    paste(recruiter_client, lever_integration, [url_of(invitable[0])])
    item = InviteItem.objects.get()
    assert item.role is None

    recruiter_client.post(
        reverse("invites:batch-confirm", args=[item.batch.public_id]),
        {f"include-{item.pk}": "on", f"role-{item.pk}": str(role.code)},
    )

    assert Candidacy.objects.get().role == role


def test_confirming_twice_invites_once(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration, [url_of(invitable[0])])
    item = InviteItem.objects.get()
    url = reverse("invites:batch-confirm", args=[item.batch.public_id])

    recruiter_client.post(url, {f"include-{item.pk}": "on"})
    second = recruiter_client.post(url, {f"include-{item.pk}": "on"}, follow=True)

    assert Candidacy.objects.count() == 1
    assert "already confirmed" in second.content.decode()


def test_more_than_200_urls_is_refused_and_stores_nothing(
    recruiter_client: Client, lever_integration: AtsIntegration
) -> None:
    response = paste(recruiter_client, lever_integration, [url_of("x")] * 201)

    assert response.status_code == 200
    assert "at most 200" in response.content.decode()
    assert not InviteBatch.objects.exists()


def test_large_batch_runs_in_the_background_with_a_polled_progress_bar(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2
    paste(recruiter_client, lever_integration, [url_of(o) for o in invitable[:3]])
    batch = InviteBatch.objects.get()
    progress = reverse("invites:batch-progress", args=[batch.public_id])

    running = recruiter_client.get(reverse("invites:batch", args=[batch.public_id]))
    invite_batch_preview(batch_id=batch.pk)
    finished = recruiter_client.get(progress, HTTP_HX_REQUEST="true")

    assert batch.status == InviteBatch.Status.PREVIEWING
    html = running.content.decode()
    assert f'hx-get="{progress}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "<progress" in html
    assert finished.status_code == 286 or finished.headers.get("HX-Refresh") == "true"


def test_outsider_gets_404_on_every_invite_route(
    recruiter_client: Client,
    outsider_client: Client,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    paste(recruiter_client, lever_integration, [url_of(invitable[0])])
    batch = InviteBatch.objects.get()

    for name in ("invites:batch", "invites:batch-progress"):
        assert outsider_client.get(reverse(name, args=[batch.public_id])).status_code == 404
    confirm = reverse("invites:batch-confirm", args=[batch.public_id])
    assert outsider_client.post(confirm).status_code == 404
    other_group = paste(outsider_client, lever_integration, [url_of(invitable[0])])
    assert other_group.status_code == 200
    assert "Choose one of your groups" in other_group.content.decode()
    assert InviteBatch.objects.count() == 1


# --- API --------------------------------------------------------------------------------------


def post_invitations(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("api-invitation-create"), body, content_type="application/json")


def test_api_invites_and_a_repeat_creates_nothing_new(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    client = token_client(recruiter_user)
    body = {
        "group": str(lever_integration.group.code),
        "lever_urls": [url_of(invitable[0]), url_of(invitable[1]), BAD_URLS[0]],
    }

    first = post_invitations(client, body)
    second = post_invitations(client, body)

    assert first.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == [
        "invited",
        "invited",
        "not_invited",
    ]
    assert first.json()["results"][2]["code"] == "not_lever"
    assert [r["status"] for r in second.json()["results"]] == [
        "already_invited",
        "already_invited",
        "not_invited",
    ]
    assert [r["candidacy"] for r in second.json()["results"][:2]] == [
        r["candidacy"] for r in first.json()["results"][:2]
    ]
    assert Candidacy.objects.count() == 2


def test_api_role_applies_to_every_url(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    role = RoleFactory(group=lever_integration.group, title="Any")
    body = {
        "group": str(lever_integration.group.code),
        "lever_urls": [url_of(invitable[0])],
        "role": str(role.code),
    }

    response = post_invitations(token_client(recruiter_user), body)

    assert response.json()["results"][0]["status"] == "invited"
    assert Candidacy.objects.get().role == role


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lever_urls": []}, "lever_urls"),
        ({"lever_urls": ["x"] * 201}, "lever_urls"),
        ({"lever_urls": "https://hire.lever.co/candidates/x"}, "lever_urls"),
        ({"lever_urls": ["x"], "role": "not-a-uuid"}, "role"),
        ({"lever_urls": ["x"], "group": "nope"}, "group"),
    ],
)
def test_api_bad_fields_are_400_and_create_nothing(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    body: dict[str, Any],
    field: str,
) -> None:
    response = post_invitations(
        token_client(recruiter_user), {"group": str(lever_integration.group.code), **body}
    )

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Candidacy.objects.exists()


def test_api_role_of_another_group_is_400(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    second_group: Any,
) -> None:
    other = RoleFactory(group=second_group)
    body = {
        "group": str(lever_integration.group.code),
        "lever_urls": ["x"],
        "role": str(other.code),
    }

    response = post_invitations(token_client(recruiter_user), body)

    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_api_another_organizations_group_is_404(
    token_client: Callable[[User], Client],
    outsider_user: User,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    body = {"group": str(lever_integration.group.code), "lever_urls": [url_of(invitable[0])]}

    response = post_invitations(token_client(outsider_user), body)

    assert response.status_code == 404
    assert not Candidacy.objects.exists()


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_invites_of_one_opportunity_give_one_candidacy(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    preview = invite_preview(
        group=lever_integration.group, integration=lever_integration, url=url_of(invitable[0])
    )
    role = Role.objects.get(pk=preview.role_id or 0)
    barrier = threading.Barrier(4)
    codes: list[str] = []

    def invite() -> None:
        try:
            barrier.wait()
            outcome = invite_create(
                integration=lever_integration, preview=preview, role=role, actor=None
            )
            codes.append(outcome.code)
        except Exception as exc:  # shown in the assertion below instead of lost in a thread
            codes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=invite) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == ["already_invited"] * 3 + ["invited"]
    assert Candidacy.objects.count() == 1
    assert OpportunityLink.objects.count() == 1


def test_background_batches_are_read_and_invited_in_chunks(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2
    paste(recruiter_client, lever_integration, [url_of(o) for o in invitable[:5]])
    batch = InviteBatch.objects.get()

    more = [invite_batch_preview(batch_id=batch.pk, limit=2) for _ in range(3)]
    batch.refresh_from_db()
    items = list(batch.items.all())
    choices = {i.pk: RowChoice(include=True) for i in items}
    invite_batch_confirm(batch=batch, choices=choices, actor=None)
    invited_more = [invite_batch_invite(batch_id=batch.pk, limit=3) for _ in range(2)]
    batch.refresh_from_db()

    assert more == [True, True, False]
    assert invited_more == [True, False]
    assert batch.status == InviteBatch.Status.DONE
    assert batch.processed == batch.total == 5
    assert Candidacy.objects.count() == 5


def test_a_batch_still_being_read_cannot_be_confirmed(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    invitable: list[str],
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 1
    paste(recruiter_client, lever_integration, [url_of(o) for o in invitable[:2]])
    batch = InviteBatch.objects.get()

    response = recruiter_client.post(
        reverse("invites:batch-confirm", args=[batch.public_id]), follow=True
    )

    assert "still reading" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.PREVIEWING
    assert not Candidacy.objects.exists()


def test_staff_read_invite_batches_in_the_admin(
    recruiter_client: Client, lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    from django.contrib.auth import get_user_model

    paste(recruiter_client, lever_integration, [url_of(invitable[0]), BAD_URLS[0]])
    batch = InviteBatch.objects.get()
    staff = get_user_model().objects.create_superuser("ops@karat.test", "pw")
    client = Client()
    client.force_login(staff)

    listing = client.get(reverse("admin:integrations_invitebatch_changelist"))
    detail = client.get(reverse("admin:integrations_invitebatch_change", args=[batch.pk]))

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert "not_lever" in detail.content.decode()


def test_a_link_from_another_region_tells_a_recruiter_to_ask_an_admin_and_an_admin_where(
    recruiter_client: Client,
    admin_client: Client,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    # Issue 20 item 5: a sandbox link, pasted into a group whose integration is set to US.
    sandbox_link = f"https://hire.sandbox.lever.co/candidates/{invitable[0]}"
    settings_url = reverse("integrations:settings", args=[lever_integration.public_id])

    response = paste(recruiter_client, lever_integration, [sandbox_link])

    item = InviteItem.objects.get()
    assert item.code == "region_mismatch"
    assert "ask an admin to set the integration's region" in item.message
    assert "change the integration's region" not in item.message  # a recruiter can't
    page = recruiter_client.get(response["Location"]).content.decode()
    assert "ask an admin to set the integration&#x27;s region" in page
    assert settings_url not in page  # the recruiter can't open the integration's settings
    admin_page = admin_client.get(response["Location"]).content.decode()
    assert f'href="{settings_url}">Settings → Region</a>' in admin_page
