"""Invitations answer every pasted item with its own result, in order: a blank item, a NUL, an
over-long item, text that is no link and a link wrapped in chat or email markup each get their
own reason, never a whole-request 400 that hides the other results, never a dropped item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration, InviteBatch, InviteItem
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Role
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db

# A well-formed id that the sandbox has no opportunity for.
UNKNOWN = "8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e"
FRAMEWORK_WORDING = ("Ensure this field", "Null characters", "Expected a list", "This field")


def post_invitations(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("api-invitation-create"), body, content_type="application/json")


def test_every_item_gets_its_own_result_in_order(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    items = [
        "",
        "   ",
        f"https://hire.lever.co/candidates/{invitable[0]}\x00",
        "https://hire.lever.co/candidates/" + "a" * 9000,
        f"<{url_of(invitable[0])}>",
        f"[Jane Doe]({url_of(invitable[1])})",
        f'"{url_of(invitable[2])}".',
        f"Candidate: {url_of(invitable[3])}, thanks!",
        f'<a href="{url_of(invitable[4])}">Jane</a>',
        f"<{url_of(invitable[5])}|Jane Doe>",
        "Jane Doe",
        "jane@acme.test",
        f"{url_of(invitable[0])} {url_of(invitable[1])}",
        url_of(UNKNOWN) + ".",
    ]

    response = post_invitations(
        token_client(recruiter_user),
        {"group": str(lever_integration.group.code), "lever_urls": items},
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["url"] for r in results] == items
    assert [(r["status"], r["code"]) for r in results] == [
        ("not_invited", "empty"),
        ("not_invited", "empty"),
        ("not_invited", "control_characters"),
        ("not_invited", "too_long"),
        ("invited", "invited"),
        ("invited", "invited"),
        ("invited", "invited"),
        ("invited", "invited"),
        ("invited", "invited"),
        ("invited", "invited"),
        ("not_invited", "not_lever"),
        ("not_invited", "not_lever"),
        ("not_invited", "several_links"),
        ("not_invited", "unknown_opportunity"),
    ]
    assert [r["opportunity_id"] for r in results] == [
        None,
        None,
        None,
        None,
        *invitable[:6],
        None,
        None,
        None,
        UNKNOWN,
    ]
    for result in results:
        assert result["message"]
        assert not result["message"].startswith(FRAMEWORK_WORDING)
    assert "isn't a Lever candidate link" in results[10]["message"]
    assert Candidacy.objects.count() == 6


def test_not_invited_for_a_rule_still_names_the_opportunity(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    # No roles: the link parses and the opportunity is read, but nothing matches its posting.
    body = {"group": str(lever_integration.group.code), "lever_urls": [url_of(invitable[0])]}

    result = post_invitations(token_client(recruiter_user), body).json()["results"][0]

    assert (result["code"], result["opportunity_id"]) == ("no_role", invitable[0])


@pytest.mark.parametrize(
    ("lever_urls", "message"),
    [
        ("https://hire.lever.co/candidates/x", "Give a list of Lever URLs"),
        (None, "Give a list of Lever URLs"),
    ],
)
def test_a_request_that_is_not_a_list_of_items_says_so_in_product_words(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    lever_urls: Any,
    message: str,
) -> None:
    body = {"group": str(lever_integration.group.code), "lever_urls": lever_urls}

    response = post_invitations(token_client(recruiter_user), body)

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["lever_urls"][0].startswith(message)


def test_the_page_gives_each_line_its_own_row(
    recruiter_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
) -> None:
    lines = [
        f"https://hire.lever.co/candidates/{invitable[0]}\x00",
        "https://hire.lever.co/candidates/" + "a" * 9000,
        f"<{url_of(invitable[1])}>.",
        "",
        "Jane Doe",
    ]

    response = recruiter_client.post(
        reverse("invites:new"), {"urls": "\n".join(lines), "group": lever_integration.group.code}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    batch = InviteBatch.objects.get()
    items = list(batch.items.order_by("position"))
    assert [(i.status, i.code) for i in items] == [
        (InviteItem.Status.ERROR, "control_characters"),
        (InviteItem.Status.ERROR, "too_long"),
        (InviteItem.Status.READY, ""),
        (InviteItem.Status.ERROR, "not_lever"),
    ]
    assert "\x00" not in items[0].url
    assert items[2].opportunity_id == invitable[1]
