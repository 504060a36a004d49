"""The candidacy page's Lever link (check, attach, detach), the Settings switch, the status
row and the API, against the Lever sandbox: wiring, access, and clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from integrations.features import LATE_LINKS, feature_health_provider
from integrations.lever.sandbox import SandboxServer
from integrations.models import AtsIntegration, AuditEntry, LateLinkSettings, OpportunityLink
from integrations.outbound.services.notes import outbound_settings_get
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.late_links.conftest import unlinked_candidacy, url_of

pytestmark = pytest.mark.django_db


def page(candidacy: Candidacy) -> str:
    return reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})


def attach_url(candidacy: Candidacy) -> str:
    return reverse("late-links:attach", kwargs={"code": candidacy.code})


def detach_url(candidacy: Candidacy) -> str:
    return reverse("late-links:detach", kwargs={"code": candidacy.code})


def api_url(candidacy: Candidacy) -> str:
    return reverse("api-candidacy-lever-link", kwargs={"code": candidacy.code})


# --- the candidacy page -----------------------------------------------------------------------


def test_the_page_of_an_unlinked_candidacy_offers_to_attach_a_link(
    recruiter_client: Client, late_integration: AtsIntegration
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)

    html = recruiter_client.get(page(candidacy)).content.decode()

    assert attach_url(candidacy) in html
    assert "Check link" in html


@pytest.mark.parametrize(
    ("region", "host"),
    [("sandbox", "hire.sandbox.lever.co"), ("eu", "hire.eu.lever.co"), ("us", "hire.lever.co")],
)
def test_the_link_to_paste_is_shown_on_the_integration_s_own_host(
    recruiter_client: Client, late_integration: AtsIntegration, region: str, host: str
) -> None:
    # As the invite page: a sandbox recruiter copies hire.sandbox.lever.co links.
    late_integration.region = region
    late_integration.save(update_fields=["region"])
    candidacy = unlinked_candidacy(late_integration, results=False)

    panel = recruiter_client.get(page(candidacy)).content.decode()
    form = recruiter_client.get(attach_url(candidacy)).content.decode()

    assert f'placeholder="https://{host}/candidates/…"' in panel
    assert f"The candidate&#x27;s profile URL in Lever: https://{host}/candidates/…" in form
    for html in (panel, form):
        assert all(
            other not in html
            for other in ("hire.lever.co", "hire.eu.lever.co", "hire.sandbox.lever.co")
            if other != host
        )


def test_the_page_says_why_not_while_the_feature_is_off(
    recruiter_client: Client, lever_integration: AtsIntegration
) -> None:
    candidacy = unlinked_candidacy(lever_integration, results=False)

    html = recruiter_client.get(page(candidacy)).content.decode()

    assert attach_url(candidacy) not in html
    assert "Attaching a link later is off" in html


def test_checking_shows_the_candidate_and_changes_nothing(
    recruiter_client: Client, late_integration: AtsIntegration, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)

    response = recruiter_client.post(
        attach_url(candidacy), {"url": url_of(invitable[0]), "check": "1"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Attach link" in html
    assert "differs from the candidacy" in html  # the sandbox's email is not ada@example.com
    assert not OpportunityLink.objects.exists()


def test_attaching_from_the_page_links_and_says_what_was_queued(
    recruiter_client: Client,
    recruiter_user: User,
    late_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    candidacy = unlinked_candidacy(late_integration)

    response = recruiter_client.post(
        attach_url(candidacy), {"url": url_of(invitable[0]), "attach": "1"}, follow=True
    )

    assert response.redirect_chain[-1][0] == page(candidacy)
    html = response.content.decode()
    assert "4 milestones queued to be posted" in html
    assert re.search(r"Linked to the candidate [^<]+ in Lever", html)  # the timeline
    assert "Detach the Lever link" in html
    link = OpportunityLink.objects.get(candidacy=candidacy)
    assert link.opportunity_id == invitable[0]
    assert AuditEntry.objects.get(action=AuditEntry.Action.LINK_ATTACHED).actor == recruiter_user


def test_an_opportunity_linked_in_another_group_links_that_candidacy_for_an_admin(
    admin_client: Client,
    late_integration: AtsIntegration,
    data_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    other = CandidacyFactory(role=RoleFactory(group=data_integration.group))
    OpportunityLink.objects.create(
        integration=data_integration, candidacy=other, opportunity_id=invitable[0]
    )
    candidacy = unlinked_candidacy(late_integration)

    response = admin_client.post(attach_url(candidacy), {"url": url_of(invitable[0]), "check": "1"})

    assert response.status_code == 409
    html = response.content.decode()
    assert f'<a href="{page(other)}">Open the candidacy it is linked to →</a>' in html
    assert OpportunityLink.objects.filter(candidacy=candidacy).count() == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://jobs.lever.co/acme/123", "job posting"),
        ("not a link", ""),
        ("x" * 2001, "too long"),
    ],
)
def test_a_bad_link_is_a_clear_error_and_changes_nothing(
    recruiter_client: Client, late_integration: AtsIntegration, url: str, message: str
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)

    response = recruiter_client.post(attach_url(candidacy), {"url": url, "attach": "1"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    if message:
        assert message in html.lower()
    assert not OpportunityLink.objects.exists()


def test_lever_down_is_a_clear_error_on_the_page(
    recruiter_client: Client,
    late_integration: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    lever.set_faults(error_rates={"503": 1.0})

    response = recruiter_client.post(
        attach_url(candidacy), {"url": url_of(invitable[0]), "attach": "1"}
    )

    assert response.status_code == 400
    assert "busy or unavailable" in response.content.decode()
    assert not OpportunityLink.objects.exists()


def test_detaching_from_the_page(
    admin_client: Client, late_integration: AtsIntegration, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    admin_client.post(attach_url(candidacy), {"url": url_of(invitable[0]), "attach": "1"})

    confirm = admin_client.get(detach_url(candidacy)).content.decode()
    response = admin_client.post(detach_url(candidacy), follow=True)

    assert "waiting updates</strong> will not be sent" in confirm
    assert not OpportunityLink.objects.exists()
    html = response.content.decode()
    assert "Link to Lever detached" in html
    assert "Unlinked from Lever" in html
    assert CandidacyEvent.objects.filter(kind=CandidacyEvent.Kind.ATS_UNLINKED).count() == 1


def test_another_organizations_candidacy_is_404_everywhere(
    outsider_client: Client,
    outsider_user: User,
    token_client: Callable[[User], Client],
    late_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    api = token_client(outsider_user)

    assert outsider_client.get(attach_url(candidacy)).status_code == 404
    assert (
        outsider_client.post(attach_url(candidacy), {"url": url_of(invitable[0]), "attach": "1"})
    ).status_code == 404
    assert outsider_client.post(detach_url(candidacy)).status_code == 404
    assert api.post(api_url(candidacy), {"url": url_of(invitable[0])}).status_code == 404
    assert api.delete(api_url(candidacy)).status_code == 404
    assert not OpportunityLink.objects.exists()


# --- Settings and status --------------------------------------------------------------------


def test_an_admin_turns_it_on_in_settings_and_the_status_row_follows(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    settings_page = reverse(
        "integrations:settings", kwargs={"public_id": lever_integration.public_id}
    )
    health = feature_health_provider(LATE_LINKS)
    assert health is not None
    assert health(lever_integration).label == "Off"
    assert (
        "Attach a Lever link later (optional)" in admin_client.get(settings_page).content.decode()
    )

    admin_client.post(
        reverse("late-links:settings", kwargs={"public_id": lever_integration.public_id}),
        {"enabled": "on"},
    )

    assert LateLinkSettings.objects.get(integration=lever_integration).enabled
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LATE_LINK_SETTINGS_CHANGED).exists()
    assert health(lever_integration).level in ("ok", "bad")  # "bad" only for the key


def test_a_recruiter_cannot_turn_it_on(
    recruiter_client: Client, lever_integration: AtsIntegration
) -> None:
    url = reverse("late-links:settings", kwargs={"public_id": lever_integration.public_id})

    assert recruiter_client.post(url, {"enabled": "on"}).status_code == 403
    assert not LateLinkSettings.objects.exists()


def test_the_status_row_is_never_working_while_updates_to_lever_are_off(
    late_integration: AtsIntegration,
) -> None:
    outbound = outbound_settings_get(integration=late_integration)
    outbound.enabled = False
    outbound.save(update_fields=["enabled"])
    health = feature_health_provider(LATE_LINKS)
    assert health is not None

    result = health(late_integration)

    assert not result.working
    assert result.level == "warn"


# --- the API ----------------------------------------------------------------------------------


def test_the_api_attaches_and_detaches(
    recruiter_user: User,
    token_client: Callable[[User], Client],
    late_integration: AtsIntegration,
    invitable: list[str],
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    api = token_client(recruiter_user)

    created = api.post(
        api_url(candidacy), {"url": url_of(invitable[0])}, content_type="application/json"
    )
    again = api.post(
        api_url(candidacy), {"url": url_of(invitable[1])}, content_type="application/json"
    )
    detached = api.delete(api_url(candidacy))
    twice = api.delete(api_url(candidacy))

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["opportunity_id"] == invitable[0]
    assert body["milestones_queued"] == 4
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_linked"
    assert detached.status_code == 200
    assert detached.json()["cancelled"] > 0
    assert twice.status_code == 400
    assert twice.json()["error"]["code"] == "not_linked"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "https://example.com/x"}, "not_lever"),
        ({"url": ""}, "empty"),
        ({}, None),
        ({"url": None}, None),
        ({"url": ["a", "b"]}, None),
    ],
)
def test_the_api_answers_bad_input_with_a_clear_400(
    recruiter_user: User,
    token_client: Callable[[User], Client],
    late_integration: AtsIntegration,
    body: dict[str, object],
    code: str | None,
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)

    response = token_client(recruiter_user).post(
        api_url(candidacy), body, content_type="application/json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    assert not OpportunityLink.objects.exists()


def test_the_api_says_when_lever_is_down(
    recruiter_user: User,
    token_client: Callable[[User], Client],
    late_integration: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    lever.set_faults(error_rates={"502": 1.0})

    response = token_client(recruiter_user).post(
        api_url(candidacy), {"url": url_of(invitable[0])}, content_type="application/json"
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ats_unavailable"
    assert not OpportunityLink.objects.exists()


def test_an_admin_turns_it_on_through_the_api(
    admin_user: User,
    recruiter_user: User,
    outsider_user: User,
    token_client: Callable[[User], Client],
    lever_integration: AtsIntegration,
) -> None:
    url = reverse("api-integration-late-links", kwargs={"public_id": lever_integration.public_id})
    admin = token_client(admin_user)

    assert admin.get(url).json() == {"enabled": False}
    bad = admin.put(url, {"enabled": "maybe"}, content_type="application/json")
    on = admin.put(url, {"enabled": True}, content_type="application/json")

    assert bad.status_code == 400
    assert bad.json()["error"]["message"]
    assert on.status_code == 200
    assert on.json() == {"enabled": True}
    assert LateLinkSettings.objects.get().enabled
    assert (
        token_client(recruiter_user)
        .put(url, {"enabled": False}, content_type="application/json")
        .status_code
        == 403
    )
    assert token_client(outsider_user).get(url).status_code == 404
    assert LateLinkSettings.objects.get().enabled
