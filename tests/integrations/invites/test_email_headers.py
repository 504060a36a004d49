"""Values from Lever that end up in an email's addresses or headers: a candidate email that is
not exactly one plain address, a posting title with a line break. Each ends only its own row,
with its own reason, in the API and in a console batch; headers never carry them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.invites.services.batches import (
    RowChoice,
    invite_batch_confirm,
    invite_batch_invite,
    invite_batch_preview,
    invite_batch_start,
)
from integrations.invites.services.preview import InviteCode
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity
from integrations.models import AtsIntegration, InviteBatch, InviteItem
from integrations.roles.services import mappings
from integrations.roles.services.sync import postings_sync_request, postings_sync_run
from karatlever.accounts.models import Group, User
from karatlever.email_headers import address_problem, header_text
from karatlever.hiring.models import Candidacy, Role
from karatlever.hiring.services import role_create, role_update
from tests.factories import RoleFactory
from tests.integrations.conftest import mark_valid
from tests.integrations.invites.conftest import queued_emails_send, url_of

pytestmark = pytest.mark.django_db

# Each value as Lever may hold it, and a word of the reason Karat gives for it.
BAD_EMAILS = [
    ("jordan.example@", "not a valid email address"),
    ("mailto:jordan@example.org", "mailto:"),
    ("a@x.test; b@y.test", "more than one address"),
    ("Evil Corp <attacker@evil.test>", "a name with the address"),
    ("jordan@example.org\r\nBcc: audit@evil.example", "line break"),
]
EVIL_TITLE = "Backend Engineer\nBcc: audit@evil.example"


def post_invitations(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("api-invitation-create"), body, content_type="application/json")


@pytest.mark.parametrize(("email", "reason"), BAD_EMAILS)
def test_the_api_refuses_only_the_row_with_a_bad_address_and_invites_the_others(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    email: str,
    reason: str,
) -> None:
    lever.set_emails(invitable[1], [email])
    urls = [url_of(o) for o in invitable[:3]]

    response = post_invitations(
        token_client(recruiter_user),
        {
            "group": str(lever_integration.group.code),
            "lever_urls": urls,
            "role": str(roles[0].code),
        },
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["url"] for r in results] == urls
    assert [r["status"] for r in results] == ["invited", "not_invited", "invited"]
    assert results[1]["code"] == InviteCode.EMAIL_INVALID
    assert reason in results[1]["message"]
    assert "\n" not in results[1]["message"]
    assert "\r" not in results[1]["message"]
    assert Candidacy.objects.count() == 2
    assert not Candidacy.objects.filter(candidate_email__icontains="evil").exists()


def test_a_console_batch_with_every_bad_address_completes_and_says_why_per_row(
    recruiter_user: User,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2  # read and invited in the worker, in chunks
    bad = invitable[: len(BAD_EMAILS)]
    good = invitable[len(BAD_EMAILS) : len(BAD_EMAILS) + 2]
    for opportunity_id, (email, _) in zip(bad, BAD_EMAILS, strict=True):
        lever.set_emails(opportunity_id, [email])
    # A good row first and last: the rows after the bad ones are invited too.
    paste = [good[0], *bad, good[1]]
    batch = invite_batch_start(
        group=lever_integration.group,
        raw_urls="\n".join(url_of(o) for o in paste),
        actor=recruiter_user,
    )
    invite_batch_preview(batch_id=batch.pk)  # what the worker's task runs
    batch.refresh_from_db()
    ready = batch.items.filter(status=InviteItem.Status.READY)
    choices = {item.pk: RowChoice(include=True, role=roles[0]) for item in ready}

    invite_batch_confirm(batch=batch, choices=choices, actor=recruiter_user)
    invite_batch_invite(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.DONE
    items = list(batch.items.order_by("position"))
    assert [i.status for i in items] == [
        InviteItem.Status.INVITED,
        *[InviteItem.Status.ERROR] * len(BAD_EMAILS),
        InviteItem.Status.INVITED,
    ]
    for item, (_, reason) in zip(items[1:-1], BAD_EMAILS, strict=True):
        assert item.code == InviteCode.EMAIL_INVALID
        assert reason in item.message
    assert Candidacy.objects.count() == 2


@pytest.mark.parametrize(("email", "reason"), BAD_EMAILS)
def test_address_problem_names_what_is_wrong(email: str, reason: str) -> None:
    assert reason in address_problem(email)


@pytest.mark.parametrize(
    "email", ["jordan@example.org", "o'brien+karat@mail.example.net", "anna@bücher.example"]
)
def test_a_plain_address_has_no_problem(email: str) -> None:
    assert address_problem(email) == ""


def test_header_text_collapses_line_breaks_and_control_characters() -> None:
    assert header_text("Backend\r\n Engineer\tII\x00\x1b  \u2028x ") == "Backend Engineer II x"


# --- a posting title with a line break --------------------------------------------------------


def test_a_role_made_from_a_posting_title_with_a_line_break_is_one_line_and_invites(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
) -> None:
    posting_id = demo_opportunity(invitable[0])["_application"]["posting"]
    lever.update_posting(posting_id, text=EVIL_TITLE)
    mark_valid(lever_integration)
    postings_sync_run(run_id=postings_sync_request(integration=lever_integration, kind="full").pk)
    (mapping,) = mappings.roles_create_from_postings(
        integration=lever_integration, posting_ids=[posting_id], actor=None
    )
    assert mapping.role is not None
    assert mapping.role.title == "Backend Engineer Bcc: audit@evil.example"

    response = post_invitations(
        token_client(recruiter_user),
        {"group": str(lever_integration.group.code), "lever_urls": [url_of(invitable[0])]},
    )

    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "invited"
    (message,) = queued_emails_send()
    headers = message.message().as_string().split("\n\n", 1)[0]
    assert "Bcc" not in message.message()
    assert "\nBcc:" not in headers
    assert message.subject == (
        "Your Karat interview with Acme Corp for Backend Engineer Bcc: audit@evil.example"
    )


def test_a_role_title_from_a_person_is_cleaned_too(group: Group) -> None:
    role = role_create(group=group, title="  Data\r\nEngineer\x07 ")

    role_update(role=role, title="Data\nScientist", requisition_code="", active=True)

    role.refresh_from_db()
    assert role.title == "Data Scientist"


def test_a_role_stored_with_a_line_break_still_gives_a_one_line_subject(
    token_client: Callable[[User], Client],
    recruiter_user: User,
    lever_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    # Written before titles were cleaned where they enter (or straight into the database).
    role = RoleFactory(group=lever_integration.group, title=EVIL_TITLE)

    response = post_invitations(
        token_client(recruiter_user),
        {
            "group": str(lever_integration.group.code),
            "lever_urls": [url_of(invitable[0])],
            "role": str(role.code),
        },
    )

    assert response.json()["results"][0]["status"] == "invited"
    (message,) = queued_emails_send()
    assert "Bcc" not in message.message()
    assert message.subject == (
        "Your Karat interview with Acme Corp for Backend Engineer Bcc: audit@evil.example"
    )
