"""Step 3 (tokens, register in Lever), the settings partial and the activity page; access rules."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.late_links.services import opportunity_link_detach
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.models import AtsIntegration, AuditEntry, WebhookSubscription
from karatlever.accounts.models import User
from karatlever.accounts.selectors import membership_get
from webhooks import console_views, selectors
from webhooks.models import WebhookDelivery
from webhooks.services import intake

from .conftest import EXAMPLE_TOKENS, make_delivery

pytestmark = pytest.mark.django_db

NEW_TOKEN = "n3wT0ken-for-stage-change-0123456789abcdef0123456"


def _url(name: str, integration: AtsIntegration, **kwargs: Any) -> str:
    return reverse(
        f"webhooks-console:{name}", kwargs={"public_id": integration.public_id, **kwargs}
    )


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _render_partial(integration: AtsIntegration, user: User) -> str:
    request = RequestFactory().get("/settings/")
    request.user = user
    section = console_views.settings_section(integration)
    return render_to_string(
        section.template,
        {
            "integration": integration,
            "membership": membership_get(user=user),
            "section": section.context,
        },
        request=request,
    )


# --- the settings partial -------------------------------------------------------------------


def test_partial_shows_the_url_each_events_state_and_the_actions(
    webhook_integration: AtsIntegration, admin_user: User, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://karat.example"
    WebhookSubscription.objects.filter(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
    ).delete()
    intake.delivery_record(
        integration_public_id=webhook_integration.public_id,
        body=make_delivery(WebhookEvent.CANDIDATE_STAGE_CHANGE),
    )

    html = _render_partial(webhook_integration, admin_user)

    assert f"https://karat.example/webhooks/lever/{webhook_integration.public_id}/" in html
    assert html.count("Configured") == 2
    assert "Not configured" in html
    assert "Register webhooks in Lever" in html
    assert "None yet" in html  # the archive event has had no delivery
    for token in EXAMPLE_TOKENS.values():
        assert token not in html
        if token != EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED]:
            assert f"••••{token[-4:]}" in html
    assert _url("activity", webhook_integration) in html
    assert "Activity with Lever →" in html  # the page's own title, not an older one
    assert "Webhook activity" not in html


def test_partial_hides_actions_from_recruiters(
    webhook_integration: AtsIntegration, recruiter_user: User
) -> None:
    html = _render_partial(webhook_integration, recruiter_user)

    assert "Register webhooks in Lever" not in html
    assert "Save tokens" not in html


def test_partial_warns_when_webhooks_are_not_arriving(
    webhook_integration: AtsIntegration, admin_user: User
) -> None:
    WebhookSubscription.objects.filter(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
    ).update(missed_at=timezone.now(), missed_count=1)

    html = _render_partial(webhook_integration, admin_user)

    assert "Webhooks are not arriving" in html
    assert "<strong>Candidate Hired</strong> webhook announced" in html
    assert "Settings → Integrations and API → Webhooks" in html


# --- pasted tokens --------------------------------------------------------------------------


def test_admin_saves_a_pasted_token_and_the_old_one_stays_valid(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    response = admin_client.post(
        _url("tokens", webhook_integration), {"token_candidateStageChange": f"  {NEW_TOKEN} "}
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#webhooks")
    subscription = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    )
    assert subscription.signature_token == NEW_TOKEN
    assert subscription.signature_token_last4 == NEW_TOKEN[-4:]
    assert (
        subscription.previous_signature_token == EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_STAGE_CHANGE]
    )
    hired = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
    )
    assert hired.signature_token == EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED]  # blank = kept
    audit = AuditEntry.objects.get(action=AuditEntry.Action.WEBHOOKS_CHANGED)
    assert NEW_TOKEN not in json.dumps(audit.detail) + audit.summary
    assert any("Candidate Stage Change" in m for m in _messages(response))


def test_invalid_token_is_refused_without_echoing_it(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    response = admin_client.post(
        _url("tokens", webhook_integration), {"token_candidateHired": "has spaces in it 123456"}
    )

    assert response.status_code == 302
    messages = _messages(response)
    assert any("without spaces" in m for m in messages)
    assert all("has spaces" not in m for m in messages)
    assert (
        WebhookSubscription.objects.get(
            integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
        ).signature_token
        == EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED]
    )


def test_empty_token_form_is_refused(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    response = admin_client.post(_url("tokens", webhook_integration), {})

    assert any("at least one" in m for m in _messages(response))
    assert not AuditEntry.objects.exists()


# --- register in Lever ----------------------------------------------------------------------


def test_register_creates_three_webhooks_in_lever_and_stores_their_tokens(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    url = f"http://127.0.0.1:9/webhooks/lever/{sandbox_integration.public_id}/"

    response = admin_client.post(_url("register", sandbox_integration))

    assert response.status_code == 302
    hooks = {row["event"]: row for row in lever.sandbox.webhooks()}
    assert set(hooks) == set(WebhookEvent.values)
    for event, hook in hooks.items():
        subscription = WebhookSubscription.objects.get(integration=sandbox_integration, event=event)
        assert hook["url"] == url
        assert subscription.lever_webhook_id == hook["id"]
        assert subscription.signature_token == hook["signature_token"]
        # the pasted example token keeps working while Lever retries older deliveries
        assert subscription.previous_signature_token == EXAMPLE_TOKENS.get(event, "")
    text = " ".join(_messages(response))
    assert "switch the three toggles ON" in text
    # the guide's three and candidateDeleted (integrations/deletions/)
    assert "created 4" in text


def test_register_again_keeps_the_webhooks_and_repairs_a_changed_url(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    admin_client.post(_url("register", sandbox_integration))
    tokens = dict(
        WebhookSubscription.objects.filter(integration=sandbox_integration).values_list(
            "event", "signature_token_last4"
        )
    )

    again = admin_client.post(_url("register", sandbox_integration))
    settings.PUBLIC_BASE_URL = "https://karat.example"
    moved = admin_client.post(_url("register", sandbox_integration))

    assert "4 already in place" in " ".join(_messages(again))
    assert "repaired 4" in " ".join(_messages(moved))
    hooks = lever.sandbox.webhooks()
    assert len(hooks) == 4
    assert {h["url"] for h in hooks} == {
        f"https://karat.example/webhooks/lever/{sandbox_integration.public_id}/"
    }
    assert tokens == dict(
        WebhookSubscription.objects.filter(integration=sandbox_integration).values_list(
            "event", "signature_token_last4"
        )
    )


def test_register_removes_extra_webhooks_pointing_at_our_url(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    url = f"http://127.0.0.1:9/webhooks/lever/{sandbox_integration.public_id}/"
    lever.sandbox.create_webhook(url=url, event="candidateHired", origins=None, source="api")
    lever.sandbox.create_webhook(
        url="http://elsewhere.example/", event="candidateHired", origins=None, source="api"
    )

    admin_client.post(_url("register", sandbox_integration))

    hooks = lever.sandbox.webhooks()
    assert sorted(h["event"] for h in hooks if h["url"] == url) == sorted(WebhookEvent.values)
    assert any(h["url"] == "http://elsewhere.example/" for h in hooks)


def test_register_explains_a_key_without_webhook_permissions(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    key = lever.create_api_key(["opportunities:read:admin"])
    sandbox_integration.api_key, sandbox_integration.api_key_last4 = key, key[-4:]
    sandbox_integration.save(update_fields=["api_key", "api_key_last4"])

    response = admin_client.post(_url("register", sandbox_integration))

    text = " ".join(_messages(response))
    assert "paste their signature tokens" in text
    assert key not in text
    assert lever.sandbox.webhooks() == []


def test_register_needs_an_api_key(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    response = admin_client.post(_url("register", webhook_integration))

    assert any("API key first" in m for m in _messages(response))


# --- activity -------------------------------------------------------------------------------


def _deliveries(integration: AtsIntegration) -> list[int]:
    ids = []
    for event in (WebhookEvent.CANDIDATE_STAGE_CHANGE, WebhookEvent.CANDIDATE_HIRED):
        result = intake.delivery_record(
            integration_public_id=integration.public_id, body=make_delivery(event)
        )
        assert result.delivery_id is not None
        ids.append(result.delivery_id)
    return ids


def test_activity_lists_deliveries_newest_first_and_counts_rejections(
    admin_client: Client, webhook_integration: AtsIntegration, post_delivery: Any
) -> None:
    stage_id, hired_id = _deliveries(webhook_integration)
    post_delivery(make_delivery(signature_token="w" * 48))
    post_delivery(b"{oops")
    post_delivery(b"{oops")

    response = admin_client.get(_url("activity", webhook_integration))

    assert response.status_code == 200
    assert [d.pk for d in response.context["deliveries"]] == [hired_id, stage_id]
    assert dict(response.context["rejections"]) == {
        "Bad or missing signature": 1,
        "Malformed body": 2,
        "Body too large": 0,
        "Not JSON (content type)": 0,
        "Sent outside the accepted time window": 0,
    }


def test_activity_filters_by_event_and_outcome(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    stage_id, hired_id = _deliveries(webhook_integration)
    WebhookDelivery.objects.filter(pk=stage_id).update(status=WebhookDelivery.Status.PROCESSED)

    by_event = admin_client.get(
        _url("activity", webhook_integration), {"event": WebhookEvent.CANDIDATE_HIRED}
    )
    by_status = admin_client.get(_url("activity", webhook_integration), {"status": "processed"})

    assert [d.pk for d in by_event.context["deliveries"]] == [hired_id]
    assert [d.pk for d in by_status.context["deliveries"]] == [stage_id]


def test_activity_shows_event_labels_and_one_title_for_both_tables(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    stage_id, _hired_id = _deliveries(webhook_integration)

    page = admin_client.get(_url("activity", webhook_integration)).content.decode()
    detail = admin_client.get(
        _url("delivery-detail", webhook_integration, delivery_id=stage_id)
    ).content.decode()

    assert '<td data-label="Event">Candidate Stage Change</td>' in page
    assert '<td data-label="Event">Candidate Hired</td>' in page
    assert '<option value="candidateHired">Candidate Hired</option>' in page
    assert "candidateStageChange<" not in page
    assert "Webhook activity" not in page
    assert "<h2>Activity with Lever</h2>" in page
    assert 'id="webhooks-received-h">Webhooks received from Lever</h2>' in page
    assert 'id="outbound-h">Updates posted to Lever</h2>' in page
    assert f"<h2>Candidate Stage Change delivery #{stage_id}</h2>" in detail


@pytest.mark.parametrize(
    "params",
    [
        {"event": "applicationCreated"},
        {"status": "exploded"},
        {"event": "<script>", "status": "processed"},
    ],
)
def test_activity_refuses_an_unknown_filter_with_a_clear_error(
    admin_client: Client, webhook_integration: AtsIntegration, params: dict[str, str]
) -> None:
    _deliveries(webhook_integration)

    response = admin_client.get(_url("activity", webhook_integration), params)

    body = response.content.decode()
    assert response.status_code == 400
    assert "Filters not applied" in body
    assert "<script>" not in body.split("<main")[1]
    # Nothing filtered by a half-understood request: both deliveries still listed.
    assert len(response.context["deliveries"]) == 2


def test_activity_pages_keep_the_filter_and_link_older_and_newer(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    from webhooks.console_views import DELIVERIES_PER_PAGE

    for _ in range(DELIVERIES_PER_PAGE + 1):
        intake.delivery_record(
            integration_public_id=webhook_integration.public_id,
            body=make_delivery(WebhookEvent.CANDIDATE_HIRED),
        )
    url = _url("activity", webhook_integration)

    first_page = admin_client.get(url, {"event": WebhookEvent.CANDIDATE_HIRED})
    first = first_page.content.decode()
    cursor = first_page.context["keyset"].next_cursor
    second_page = admin_client.get(url, {"event": WebhookEvent.CANDIDATE_HIRED, "cursor": cursor})
    second = second_page.content.decode()
    # Keyset paging: the cursor names the last row shown, the filter stays.
    assert (
        f'href="?event={WebhookEvent.CANDIDATE_HIRED}&amp;cursor={cursor}#webhooks-received" rel="next">Older →'
        in first
    )
    assert 'rel="prev"' not in first
    assert len(first_page.context["deliveries"]) == DELIVERIES_PER_PAGE
    assert len(second_page.context["deliveries"]) == 1
    assert 'rel="prev">← Newer' in second
    assert 'rel="next"' not in second
    newer = second_page.context["keyset"].previous_cursor
    back = admin_client.get(url, {"event": WebhookEvent.CANDIDATE_HIRED, "cursor": newer})
    assert [d.pk for d in back.context["deliveries"]] == [
        d.pk for d in first_page.context["deliveries"]
    ]
    # A forged cursor is the newest page, never a 500.
    forged = admin_client.get(url, {"cursor": "o99999999999999999999.1'--"})
    assert forged.status_code == 200
    assert len(forged.context["deliveries"]) == DELIVERIES_PER_PAGE


def test_delivery_detail_masks_the_token_and_signature(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    body = make_delivery()
    result = intake.delivery_record(integration_public_id=webhook_integration.public_id, body=body)

    response = admin_client.get(
        _url("delivery-detail", webhook_integration, delivery_id=result.delivery_id)
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert body["token"] not in html
    assert body["signature"] not in html
    assert body["data"]["opportunityId"] in html
    assert "Process again" in html


def test_activity_names_the_linked_candidate_in_a_constant_number_of_queries(
    admin_client: Client,
    webhook_integration: AtsIntegration,
    linked_candidacy: Any,
    django_assert_max_num_queries: Any,
) -> None:
    _deliveries(webhook_integration)  # both for the linked opportunity
    unlinked = make_delivery(WebhookEvent.CANDIDATE_HIRED, opportunity_id="opp-not-linked-0001")
    intake.delivery_record(integration_public_id=webhook_integration.public_id, body=unlinked)
    url = _url("activity", webhook_integration)
    admin_client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)

    for _ in range(10):
        intake.delivery_record(
            integration_public_id=webhook_integration.public_id,
            body=make_delivery(WebhookEvent.CANDIDATE_HIRED),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)

    html = response.content.decode()
    candidate_url = reverse("hiring:candidate-detail", args=[linked_candidacy.code])
    assert html.count(f'<a href="{candidate_url}">{linked_candidacy.candidate_name}</a>') == 12
    assert "opp-not-linked-0001" in html  # no candidate: the opportunity id, said so
    assert "Not linked to a candidate" in html


def test_after_a_detach_the_activity_still_names_the_candidacy_and_says_the_link_went(
    admin_client: Client, webhook_integration: AtsIntegration, linked_candidacy: Any
) -> None:
    _deliveries(webhook_integration)  # both for the linked opportunity
    opportunity_link_detach(candidacy=linked_candidacy, actor=None)

    html = admin_client.get(_url("activity", webhook_integration)).content.decode()

    candidate_url = reverse("hiring:candidate-detail", args=[linked_candidacy.code])
    assert html.count(f'<a href="{candidate_url}">{linked_candidacy.candidate_name}</a>') == 2
    assert html.count("No longer linked: the Lever link was detached") == 2
    assert "Not linked to a candidate" not in html


def test_an_unlinked_candidacy_of_another_group_is_not_named(
    admin_client: Client,
    webhook_integration: AtsIntegration,
    linked_candidacy: Any,
    second_group: Any,
) -> None:
    """The audit log is the integration's, but a candidacy moved out of its group (or one the
    entry names wrongly) is not the viewer's to open."""
    _deliveries(webhook_integration)
    opportunity_link_detach(candidacy=linked_candidacy, actor=None)
    type(linked_candidacy).objects.filter(pk=linked_candidacy.pk).update(group=second_group)

    html = admin_client.get(_url("activity", webhook_integration)).content.decode()

    assert linked_candidacy.candidate_name not in html
    assert html.count("Not linked to a candidate") == 2


def test_delivery_detail_shows_dates_the_candidate_and_real_characters(
    admin_client: Client, webhook_integration: AtsIntegration, linked_candidacy: Any
) -> None:
    body = make_delivery(triggered_at=1795965022799)  # 2026-11-29T15:10:22.799Z
    body["data"]["note"] = "Zoë \u2014 café"
    with time_machine.travel(datetime(2026, 11, 29, 15, 11, tzinfo=UTC), tick=False):
        result = intake.delivery_record(
            integration_public_id=webhook_integration.public_id, body=body
        )
    assert result.delivery_id is not None

    html = admin_client.get(
        _url("delivery-detail", webhook_integration, delivery_id=result.delivery_id)
    ).content.decode()

    assert "1795965022799</code>" not in html
    assert (
        '<dt>Triggered in Lever</dt><dd><time datetime="2026-11-29T15:10:22.799Z" '
        'class="when">Nov 29, 2026, 15:10 UTC</time></dd>'
    ) in html
    received = '<time datetime="2026-11-29T15:11:00Z" class="when">Nov 29, 2026, 15:11 UTC</time>'
    assert f"<dt>Received</dt><dd>{received}</dd>" in html
    assert "\\u" not in html
    assert "••••••" in html
    assert "Zoë \u2014 café" in html
    candidate_url = reverse("hiring:candidate-detail", args=[linked_candidacy.code])
    assert f'<a href="{candidate_url}">{linked_candidacy.candidate_name}</a>' in html


def test_admin_processes_a_delivery_again(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    delivery_id = _deliveries(webhook_integration)[0]
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.DEAD, attempts=8, error="boom"
    )

    response = admin_client.post(
        _url("delivery-process-again", webhook_integration, delivery_id=delivery_id)
    )

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert response.status_code == 302
    assert (delivery.status, delivery.attempts, delivery.error) == ("received", 0, "")


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "with_delivery"),
    [
        ("get", "activity", False),
        ("get", "delivery-detail", True),
        ("post", "delivery-process-again", True),
        ("post", "tokens", False),
        ("post", "register", False),
    ],
)
def test_recruiters_get_403_and_other_organizations_404(
    recruiter_client: Client,
    outsider_client: Client,
    client: Client,
    webhook_integration: AtsIntegration,
    method: str,
    name: str,
    with_delivery: bool,
) -> None:
    kwargs = {"delivery_id": _deliveries(webhook_integration)[0]} if with_delivery else {}
    url = _url(name, webhook_integration, **kwargs)
    data = {"token_candidateStageChange": NEW_TOKEN} if name == "tokens" else {}

    assert getattr(recruiter_client, method)(url, data).status_code == 403
    assert getattr(outsider_client, method)(url, data).status_code == 404
    assert getattr(client, method)(url, data).status_code == 302  # anonymous → login
    assert (
        WebhookSubscription.objects.get(
            integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
        ).signature_token
        == EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_STAGE_CHANGE]
    )


def test_delivery_of_another_integration_is_404(
    admin_client: Client, webhook_integration: AtsIntegration, other_integration: AtsIntegration
) -> None:
    token = WebhookSubscription.objects.get(
        integration=other_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    ).signature_token
    other = intake.delivery_record(
        integration_public_id=other_integration.public_id,
        body=make_delivery(signature_token=token),
    )

    response = admin_client.get(
        _url("delivery-detail", webhook_integration, delivery_id=other.delivery_id)
    )

    assert response.status_code == 404


def test_integration_settings_page_shows_the_webhook_step(
    admin_client: Client, webhook_integration: AtsIntegration, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://karat.example"
    url = reverse("integrations:settings", kwargs={"public_id": webhook_integration.public_id})

    response = admin_client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Step 3: Webhooks" in html
    assert f"https://karat.example/webhooks/lever/{webhook_integration.public_id}/" in html
    assert _url("register", webhook_integration) in html
    for token in EXAMPLE_TOKENS.values():
        assert token not in html


def test_settings_page_has_step_3_right_after_the_key_and_an_index_of_every_section(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    url = reverse("integrations:settings", kwargs={"public_id": webhook_integration.public_id})

    html = admin_client.get(url).content.decode()

    ids = [
        "integration-settings",
        "key-check",
        "webhooks",
        "outbound",
        "automatic-invite",
        "late-links",
        "interview-panels",
        "hiring-team",
        "feedback-form",
        "deletions",
    ]
    index = html.split('aria-label="On this page">')[1].split("</nav>")[0]
    assert re.findall(r'href="#([a-z-]+)"', index) == ids
    # Each section is on the page, in the index's (the setup guide's) order.
    positions = [html.index(f'id="{anchor}"') for anchor in ids]
    assert positions == sorted(positions)


def test_token_form_redirects_back_to_the_settings_page(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    response = admin_client.post(
        _url("tokens", webhook_integration), {"token_candidateHired": NEW_TOKEN}
    )

    settings_url = reverse(
        "integrations:settings", kwargs={"public_id": webhook_integration.public_id}
    )
    assert response["Location"] == settings_url + "#webhooks"


def test_setup_rows_show_rotation_without_decrypting_the_previous_token(
    webhook_integration: AtsIntegration,
) -> None:
    stage = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    )
    # Ciphertext no key can open: reading it through the field would raise DecryptionError.
    table = WebhookSubscription._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET previous_signature_token = %s WHERE id = %s",  # noqa: S608
            ["gAAAAA-not-a-valid-fernet-token", stage.pk],
        )

    rows = {row.event: row for row in selectors.webhook_setup(integration=webhook_integration)}

    assert rows[WebhookEvent.CANDIDATE_STAGE_CHANGE].rotating is True
    assert rows[WebhookEvent.CANDIDATE_HIRED].rotating is False
    assert all(row.configured for event, row in rows.items() if event in EXAMPLE_TOKENS)


def test_register_fails_fast_without_retrying_when_lever_errors(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    lever.set_faults(fail_next=[503, 503, 503, 503])
    lever.app.reset_request_stats()

    response = admin_client.post(_url("register", sandbox_integration))

    # one call inside the admin's request, no retries with backoff
    assert lever.request_stats() == {"503": 1}
    text = " ".join(_messages(response))
    assert "did not answer in time or could not be reached" in text
    assert "Not registered: Candidate Stage Change" in text
    assert "again to finish" in text
    assert lever.sandbox.webhooks() == []


def test_register_stopped_midway_says_what_was_and_was_not_registered(
    admin_client: Client, sandbox_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    admin_client.post(_url("register", sandbox_integration))
    # Three events lost their tokens: they need new webhooks, and Lever fails the first create.
    WebhookSubscription.objects.filter(integration=sandbox_integration).exclude(
        event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    ).update(signature_token="", signature_token_last4="")
    lever.set_faults(fail_next=[503], methods=["POST"])

    response = admin_client.post(_url("register", sandbox_integration))

    text = " ".join(_messages(response))
    assert "Registered: Candidate Stage Change." in text
    assert (
        "Not registered: Candidate Archive State Change, Candidate Hired, Candidate Deleted."
        in text
    )
    assert "again to finish" in text

    lever.reset_faults()
    again = admin_client.post(_url("register", sandbox_integration))

    assert "created 3" in " ".join(_messages(again))
    assert all(
        WebhookSubscription.objects.filter(integration=sandbox_integration).values_list(
            "signature_token_last4", flat=True
        )
    )


def test_settings_page_ids_are_unique_so_every_label_names_its_own_field(
    admin_client: Client, webhook_integration: AtsIntegration
) -> None:
    url = reverse("integrations:settings", kwargs={"public_id": webhook_integration.public_id})

    html = admin_client.get(url).content.decode()

    ids = re.findall(r'\sid="([^"]+)"', html)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert repeated == []
