"""The automatic invite's page as an admin first meets it (issue 20): a named empty role
choice, a hint on the postings list, a dry run of the form's values without saving them, and
a dry run (and timeline) that tells who entered the stage from who was already in it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.auto_invites import services as auto_invites
from integrations.lever.sandbox import SandboxServer
from integrations.lever.schemas import Opportunity
from integrations.models import AtsIntegration, AtsPosting, AuditEntry, AutoInviteRule
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role
from tests.integrations.auto_invites.test_auto_invite import TECHNICAL, TECHNICAL_NAME, rule_on
from tests.integrations.conftest import posting_of

pytestmark = pytest.mark.django_db


def page_url(integration: AtsIntegration) -> str:
    return reverse("auto-invite:edit", args=[integration.public_id])


def dry_run_rows(page: str) -> dict[str, str]:
    """Candidate name → the row's "Why", from the dry-run table."""
    table = page[page.index('class="table table-stack auto-invite-dry-run"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        cells = re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row, flags=re.S)
        if cells:
            values = {label: re.sub(r"<[^>]+>", "", html).strip() for label, html in cells}
            rows[values["Candidate"]] = values["Why"]
    return rows


def test_the_fallback_role_has_a_named_empty_choice(
    admin_client: Client, lever_integration: AtsIntegration, roles: list[Role]
) -> None:
    page = admin_client.get(page_url(lever_integration)).content.decode()

    select = page[page.index('name="role"') :]
    select = select[: select.index("</select>")]
    assert "---------" not in page
    assert '<option value="" selected>— no fallback role —</option>' in select


def _seed_postings(integration: AtsIntegration, n: int) -> list[AtsPosting]:
    """``n`` synced postings (as the roles page's sync stores them)."""
    return AtsPosting.objects.bulk_create(
        AtsPosting(
            integration=integration,
            posting_id=f"post-{i:05d}",
            title=f"{'Backend' if i % 2 else 'Designer'} {i:05d}",
            title_key=f"title {i}",
            team="Platform",
            location="Remote",
            state="published",
        )
        for i in range(n)
    )


def test_the_posting_filter_searches_instead_of_listing_every_posting(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    _seed_postings(lever_integration, 300)
    rule_on(lever_integration, posting_ids=["post-00299"])

    page = admin_client.get(page_url(lever_integration)).content.decode()

    chosen = page[page.index('id="posting-chosen"') :]
    chosen = chosen[: chosen.index("</div>")]
    assert 'value="post-00299"' in chosen  # the chosen one is kept
    assert "checked" in chosen
    assert page.count('name="posting_ids"') == 1 + 20  # chosen + the first 20 matches
    assert "type more to narrow" in page
    hint = page[page.index('id="posting-help"') :]
    assert "every posting" in hint[: hint.index("</div>")]
    assert re.search(r'<label for="id_posting_q">Find postings</label>', page)


def test_the_postings_endpoint_returns_matches_without_the_chosen_ones(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    _seed_postings(lever_integration, 300)
    url = reverse("auto-invite:postings", args=[lever_integration.public_id])

    response = admin_client.get(
        url, {"posting_q": "designer 0000", "posting_ids": ["post-00000"]}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'value="([^"]+)"', body) == [f"post-{i:05d}" for i in (2, 4, 6, 8)]
    nothing = admin_client.get(url, {"posting_q": "<nope>"}, HTTP_HX_REQUEST="true")
    assert "No other posting matches “&lt;nope&gt;”" in nothing.content.decode()
    # Without htmx: the page itself, at that search.
    plain = admin_client.get(url, {"posting_q": "designer"})
    assert plain.status_code == 302
    assert "posting_q=designer" in plain["Location"]


def test_find_without_javascript_keeps_the_choices_and_saves_nothing(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    _seed_postings(lever_integration, 50)
    admin_client.get(page_url(lever_integration))  # the page creates the (empty) rule

    response = admin_client.post(
        page_url(lever_integration),
        {"posting_ids": ["post-00001"], "posting_q": "00002", "find_postings": "1"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'value="post-00001" id="posting-chosen-1" checked', page)
    assert 'value="post-00002"' in page
    assert AutoInviteRule.objects.get().posting_ids == []


def test_an_unknown_posting_is_refused_and_nothing_saved(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    _seed_postings(lever_integration, 5)
    admin_client.get(page_url(lever_integration))

    response = admin_client.post(page_url(lever_integration), {"posting_ids": ["forged-id"]})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert AutoInviteRule.objects.get().posting_ids == []


def test_another_organizations_postings_endpoint_is_a_404(
    outsider_client: Client, lever_integration: AtsIntegration
) -> None:
    url = reverse("auto-invite:postings", args=[lever_integration.public_id])
    assert outsider_client.get(url, HTTP_HX_REQUEST="true").status_code in (403, 404)


def test_a_dry_run_tries_the_forms_values_without_saving_them(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    lever.move_stage(invitable[0], TECHNICAL)
    admin_client.get(page_url(lever_integration))  # the page creates the (empty) rule

    response = admin_client.post(
        page_url(lever_integration), {"enabled": "on", "stage_id": TECHNICAL, "dry_run": "1"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Would be invited" in page
    assert "not saved" in page
    assert re.search(rf'<option value="{TECHNICAL}" selected>', page)  # the form keeps them
    assert 'name="enabled" checked' in page or re.search(r'name="enabled"[^>]*checked', page)
    rule = AutoInviteRule.objects.get()
    assert (rule.enabled, rule.stage_id) == (False, "")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.AUTO_INVITE_CHANGED).exists()
    assert not Candidacy.objects.exists()


def test_a_dry_run_of_changed_values_leaves_the_saved_rule_alone(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    target, other = (
        invitable[0],
        next(o for o in invitable if posting_of(o)["id"] != posting_of(invitable[0])["id"]),
    )
    rule_on(lever_integration, posting_ids=[posting_of(other)["id"]])
    lever.move_stage(target, TECHNICAL)

    saved = auto_invites.auto_invite_dry_run(integration=lever_integration)
    page = admin_client.post(
        page_url(lever_integration), {"enabled": "on", "stage_id": TECHNICAL, "dry_run": "1"}
    ).content.decode()

    assert not next(d for d in saved if d.opportunity_id == target).invite
    assert target in page  # its Lever link: invited by the values in the form
    rule = AutoInviteRule.objects.get()
    assert rule.posting_ids == [posting_of(other)["id"]]


def test_a_dry_run_without_a_stage_asks_for_one_and_saves_nothing(
    admin_client: Client, lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    response = admin_client.post(page_url(lever_integration), {"dry_run": "1"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose a stage to run a dry run." in page
    assert not AutoInviteRule.objects.filter(stage_id__gt="").exists()


def test_the_dry_run_tells_who_entered_the_stage_from_who_was_already_in_it(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    before, after = invitable[0], invitable[1]
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2)):
        lever.move_stage(before, TECHNICAL)
    with time_machine.travel(now - timedelta(days=1)):
        rule_on(lever_integration)
    lever.move_stage(after, TECHNICAL)

    decisions = {
        d.opportunity_id: d for d in auto_invites.auto_invite_dry_run(integration=lever_integration)
    }
    page = admin_client.get(page_url(lever_integration) + "?dry_run=1").content.decode()

    assert decisions[before].invite
    assert decisions[before].reason == f"Already in stage {TECHNICAL_NAME}"
    assert decisions[after].invite
    assert decisions[after].reason == f"Entered stage {TECHNICAL_NAME}"
    rows = dry_run_rows(page)
    assert rows[decisions[before].candidate_name] == f"Already in stage {TECHNICAL_NAME}"
    assert rows[decisions[after].candidate_name] == f"Entered stage {TECHNICAL_NAME}"


def test_an_unsaved_dry_run_finds_everyone_already_in_the_stage(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    lever.move_stage(invitable[0], TECHNICAL)

    page = admin_client.post(
        page_url(lever_integration), {"enabled": "on", "stage_id": TECHNICAL, "dry_run": "1"}
    ).content.decode()

    # Not turned on yet: whoever is in the stage now was there before it.
    reasons = set(dry_run_rows(page).values())
    assert f"Already in stage {TECHNICAL_NAME}" in reasons
    assert f"Entered stage {TECHNICAL_NAME}" not in reasons


def test_the_timeline_says_already_in_the_stage_for_one_invited_by_the_poll(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    before, after = invitable[0], invitable[1]
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2)):
        lever.move_stage(before, TECHNICAL)
    with time_machine.travel(now - timedelta(days=1)):
        rule_on(lever_integration)
    lever.move_stage(after, TECHNICAL)

    for opportunity_id in (before, after):
        outcome = auto_invites.auto_invite_consider(
            integration=lever_integration, opportunity_id=opportunity_id, via="reconciliation"
        )
        assert outcome is not None
        assert outcome.invited, outcome.message

    sent = {
        e.candidacy.candidate_name: e.summary
        for e in CandidacyEvent.objects.filter(kind=CandidacyEvent.Kind.INVITE_SENT)
    }
    summaries = sorted(sent.values())
    # Stored naming no ATS; the candidacy page reads "already in Lever stage …".
    assert any(f"already in the ATS stage “{TECHNICAL_NAME}”" in s for s in summaries), summaries
    assert any(f"entered the ATS stage “{TECHNICAL_NAME}”" in s for s in summaries), summaries


@pytest.mark.parametrize(
    ("opportunity", "expected"),
    [
        (
            {
                "stage": "b",
                "stageChanges": [
                    {"toStageId": "b", "updatedAt": 100},
                    "junk",
                    {"toStageId": "a", "updatedAt": 200},
                    {"toStageId": "b", "updatedAt": 300},
                ],
                "lastAdvancedAt": 300,
            },
            300,
        ),
        ({"stage": "b", "stageChanges": [{"toStageId": "a", "updatedAt": 5}]}, None),
        ({"stage": "b", "stageChanges": None, "lastAdvancedAt": 42}, 42),
        ({"stage": "b"}, None),
    ],
)
def test_when_an_opportunity_entered_its_stage(
    opportunity: dict[str, object], expected: int | None
) -> None:
    parsed = Opportunity.model_validate({"id": "o", **opportunity})

    assert parsed.stage_entered_at_ms == expected


def test_a_hired_candidate_in_the_stage_is_skipped_as_hired_not_just_archived(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    hired, archived = invitable[0], invitable[1]
    rule_on(lever_integration)
    reason = next(r for r in lever.sandbox.archive_reasons() if r["type"] != "hired")
    for opportunity_id in (hired, archived):
        lever.move_stage(opportunity_id, TECHNICAL)
    lever.hire(hired)
    lever.archive(archived, reason["id"])

    outcomes = {
        o: auto_invites.auto_invite_consider(
            integration=lever_integration, opportunity_id=o, via="webhook"
        )
        for o in (hired, archived)
    }

    messages = {o: outcome.message if outcome else "" for o, outcome in outcomes.items()}
    assert messages[hired] == "Automatic invite: Hired in Lever"
    assert messages[archived] == "Automatic invite: Archived"
    assert not Candidacy.objects.exists()


def test_with_many_roles_the_fallback_role_is_a_search(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    from integrations.roles.selectors import ROLE_SELECT_MAX
    from tests.factories import RoleFactory

    for i in range(ROLE_SELECT_MAX + 5):
        RoleFactory(group=lever_integration.group, title=f"Analyst {i:03d}", requisition_code="")
    admin_client.get(page_url(lever_integration))  # the page creates the (empty) rule

    found = admin_client.post(
        page_url(lever_integration), {"role_q": "analyst 05", "find_postings": "1"}
    ).content.decode()
    forged = admin_client.post(page_url(lever_integration), {"role": "not-a-code"})

    assert 'name="role_q"' in found
    assert found.count('type="radio" name="role"') == 1 + 5  # no fallback + 050…054
    assert forged.status_code == 200
    assert "is not a valid UUID." in forged.content.decode()
    assert AutoInviteRule.objects.get().role is None
