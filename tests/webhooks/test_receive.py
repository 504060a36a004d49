"""The receiver: known-answer deliveries, the negative matrix, duplicates, rotation, throttle."""

from __future__ import annotations

import ast
import copy
import io
import json
import logging
import secrets
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import ParseError

from integrations.lever.adapter import WebhookEvent
from integrations.models import AtsIntegration, IntegrationStatus, WebhookSubscription
from karatlever import outages
from tests.brokers import use_broker
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.parsers import BoundedJSONParser, PayloadTooLarge
from webhooks.services import enqueue, intake, processing

from .conftest import (
    EXAMPLE_OPPORTUNITY_ID,
    EXAMPLE_TOKENS,
    PostFn,
    example_payload,
    make_delivery,
    resign,
)

pytestmark = pytest.mark.django_db

EVENTS = list(EXAMPLE_TOKENS)


def _published(callbacks: list[Any]) -> list[Any]:
    """The on-commit callbacks that publish a delivery's processing task (the first verified
    delivery of a webhook also asks for a status recompute, which is not counted here)."""
    return [c for c in callbacks if getattr(c, "func", None) is enqueue.delivery_enqueue]


def _rejections(integration: AtsIntegration) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in WebhookRejection.objects.filter(integration=integration):
        counts[row.reason] = counts.get(row.reason, 0) + row.count
    return counts


# --- known answers --------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS)
def test_example_payload_is_accepted_stored_and_enqueued_after_commit(
    at_example_time: None,
    event: str,
    post_delivery: PostFn,
    webhook_integration: AtsIntegration,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = example_payload(event)

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_delivery(body)

    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.integration == webhook_integration
    assert delivery.event == event
    assert delivery.opportunity_id == EXAMPLE_OPPORTUNITY_ID
    assert delivery.token == body["token"]
    assert delivery.triggered_at_ms == body["triggeredAt"]
    assert delivery.payload == body
    assert delivery.status == WebhookDelivery.Status.RECEIVED
    # the processing task, published only once the row committed
    assert len(_published(callbacks)) == 1


def test_payload_is_stored_as_received_with_the_row_defaults(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    body = make_delivery()

    assert post_delivery(json.dumps(body, indent=2, sort_keys=True)).json() == {
        "status": "accepted"
    }

    delivery = WebhookDelivery.objects.get()
    assert delivery.payload == body
    assert (delivery.outcome, delivery.error, delivery.attempts) == ("", "", 0)
    assert delivery.processed_at is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param('"name": "Jos\\u00e9 \\ud83d\\ude00"', "José 😀", id="unicode-escapes"),
        # jsonb gives 1e99 back as the integer 10**99: the same number.
        pytest.param('"n": 1e99', 1e99, id="two-digit-exponent"),
        pytest.param('"n": 12' + "0" * 400, 12 * 10**400, id="400-digit-integer"),
    ],
)
def test_bodies_with_escapes_and_large_numbers_are_stored(
    post_delivery: PostFn, webhook_integration: AtsIntegration, extra: str, expected: Any
) -> None:
    text = json.dumps(make_delivery())[:-1] + ", " + extra + "}"

    assert post_delivery(text).json() == {"status": "accepted"}

    payload = WebhookDelivery.objects.get().payload
    assert payload is not None
    stored = payload[extra.split('"')[1]]
    assert (float(stored) if isinstance(expected, float) else stored) == expected


@pytest.mark.parametrize("number", ["1e400", "-1E+999", "2.5e-400"])
def test_number_beyond_a_float_is_400_not_a_database_error(
    post_delivery: PostFn, webhook_integration: AtsIntegration, number: str
) -> None:
    text = json.dumps(make_delivery())[:-1] + f', "n": {number}' + "}"

    response = post_delivery(text)

    if number == "2.5e-400":  # underflows to 0.0: a finite value, stored
        assert response.json() == {"status": "accepted"}
        payload = WebhookDelivery.objects.get().payload
        assert payload is not None
        assert payload["n"] == 0.0
    else:
        assert response.status_code == 400
        assert response.json()["detail"] == "the body contains values that cannot be stored"
        assert not WebhookDelivery.objects.exists()


def test_verified_delivery_marks_the_subscription_last_delivery(
    at_example_time: None, post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    post_delivery(example_payload(WebhookEvent.CANDIDATE_HIRED))

    subscription = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
    )
    assert subscription.last_delivery_at is not None
    other = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    )
    assert other.last_delivery_at is None


def test_first_verified_delivery_per_webhook_asks_for_a_status_recompute(
    at_example_time: None, post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    # The status page says "waiting for the first delivery" until its snapshot is recomputed.
    post_delivery(example_payload(WebhookEvent.CANDIDATE_HIRED))

    snapshot = IntegrationStatus.objects.get(integration=webhook_integration)
    assert snapshot.pending
    assert snapshot.request_reason == "First webhook delivery received"

    # Later deliveries to the same webhook ask for nothing (the receiver stays cheap).
    IntegrationStatus.objects.filter(pk=snapshot.pk).update(requested_at=None, request_reason="")
    WebhookSubscription.objects.filter(integration=webhook_integration).update(
        last_delivery_at=timezone.now() - timedelta(hours=1)
    )
    intake.verifiers_clear()
    answer = post_delivery(make_delivery(WebhookEvent.CANDIDATE_HIRED))
    assert answer.json() == {"status": "accepted"}

    snapshot.refresh_from_db()
    assert snapshot.requested_at is None


def test_duplicate_delivery_is_stored_once_and_answered_200(
    at_example_time: None, post_delivery: PostFn, django_capture_on_commit_callbacks: Any
) -> None:
    body = example_payload(WebhookEvent.CANDIDATE_STAGE_CHANGE)

    with django_capture_on_commit_callbacks() as callbacks:
        answers = [post_delivery(body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert WebhookDelivery.objects.count() == 1
    assert len(_published(callbacks)) == 1


def test_lever_test_delivery_is_answered_200_and_recorded_as_ignored(
    post_delivery: PostFn, django_capture_on_commit_callbacks: Any
) -> None:
    body = make_delivery(WebhookEvent.CANDIDATE_ARCHIVE_CHANGE, data={})

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_delivery(body)

    assert response.status_code == 200
    assert response.json() == {"status": "test"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.IGNORED
    assert delivery.outcome == "Test delivery from Lever"
    assert _published(callbacks) == []


def test_event_we_do_not_act_on_is_recorded_as_ignored_when_signed_with_a_known_token(
    post_delivery: PostFn,
) -> None:
    body = make_delivery(
        "applicationCreated",
        signature_token=EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED],
        data={"opportunityId": "opp-9", "applicationId": "app-1"},
    )

    response = post_delivery(body)

    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status) == ("applicationCreated", "ignored")


def test_event_we_do_not_act_on_with_an_unknown_token_is_401(post_delivery: PostFn) -> None:
    body = make_delivery("contactUpdated", signature_token="u" * 48, data={"contactId": "c"})

    assert post_delivery(body).status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_previous_token_stays_valid_during_rotation(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    old = EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_STAGE_CHANGE]
    new = secrets.token_hex(24)
    subscription = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    )
    subscription.previous_signature_token = old
    subscription.signature_token = new
    subscription.save()

    assert post_delivery(make_delivery(signature_token=old)).status_code == 200
    assert post_delivery(make_delivery(signature_token=new)).status_code == 200
    assert post_delivery(make_delivery(signature_token="z" * 48)).status_code == 401


def test_rotated_token_verifies_at_once_although_tokens_are_cached(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    assert post_delivery(make_delivery()).status_code == 200  # caches the event's tokens
    with CaptureQueriesContext(connection) as queries:
        assert post_delivery(make_delivery()).status_code == 200
    # the insert only (in the test's transaction, a savepoint around it): no SELECT
    assert [q["sql"].split()[0] for q in queries] == ["SAVEPOINT", "INSERT", "RELEASE"]
    new = secrets.token_hex(24)
    subscription = WebhookSubscription.objects.get(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    )
    subscription.signature_token, subscription.previous_signature_token = new, ""
    subscription.save()  # post_save clears this process's cache

    assert post_delivery(make_delivery(signature_token=new)).status_code == 200
    assert post_delivery(make_delivery()).status_code == 401  # the old token is gone


def test_disabled_integration_is_410_at_once_after_a_save(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    assert post_delivery(make_delivery()).status_code == 200
    webhook_integration.enabled = False
    webhook_integration.save()

    assert post_delivery(make_delivery()).status_code == 410


def test_cached_tokens_expire_after_the_ttl(
    post_delivery: PostFn, webhook_integration: AtsIntegration, monkeypatch: Any
) -> None:
    from webhooks.services import intake

    assert post_delivery(make_delivery()).status_code == 200
    new = secrets.token_hex(24)
    # A change this process is not told about (another process, or QuerySet.update).
    WebhookSubscription.objects.filter(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    ).update(signature_token=new)
    assert post_delivery(make_delivery(signature_token=new)).status_code == 401  # stale

    later = time.monotonic() + intake.VERIFIER_TTL + 0.1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert post_delivery(make_delivery(signature_token=new)).status_code == 200


# --- 401 ------------------------------------------------------------------------------------


def test_missing_signature_is_401(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    body = make_delivery()
    del body["signature"]

    response = post_delivery(body)

    assert response.status_code == 401
    assert response.json() == {"status": "bad_signature"}
    assert not WebhookDelivery.objects.exists()
    assert _rejections(webhook_integration) == {"bad_signature": 1}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b: b | {"signature": "0" * 64}, id="wrong-signature"),
        pytest.param(lambda b: b | {"signature": b["signature"].upper()}, id="uppercase"),
        pytest.param(lambda b: b | {"signature": ""}, id="empty"),
        pytest.param(lambda b: b | {"token": b["token"] + "x"}, id="token-changed"),
        pytest.param(lambda b: b | {"triggeredAt": b["triggeredAt"] + 1}, id="time-changed"),
        pytest.param(lambda b: b | {"signature": None}, id="null"),
    ],
)
def test_bad_signature_is_401_and_stores_nothing(post_delivery: PostFn, tamper: Any) -> None:
    body = tamper(make_delivery())

    response = post_delivery(body)

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_body_signed_with_another_integrations_token_is_401_and_stores_nothing(
    post_delivery: PostFn,
    webhook_integration: AtsIntegration,
    other_integration: AtsIntegration,
) -> None:
    other_token = WebhookSubscription.objects.get(
        integration=other_integration, event=WebhookEvent.CANDIDATE_STAGE_CHANGE
    ).signature_token
    body = make_delivery(signature_token=other_token)

    assert post_delivery(body, integration=other_integration).status_code == 200
    assert post_delivery(resign(body, other_token)).status_code == 401
    assert WebhookDelivery.objects.filter(integration=webhook_integration).count() == 0
    assert WebhookDelivery.objects.filter(integration=other_integration).count() == 1


def test_token_of_another_event_does_not_verify(post_delivery: PostFn) -> None:
    body = make_delivery(
        WebhookEvent.CANDIDATE_STAGE_CHANGE,
        signature_token=EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED],
    )

    assert post_delivery(body).status_code == 401


def test_event_without_a_configured_token_is_401(
    at_example_time: None, post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    WebhookSubscription.objects.filter(
        integration=webhook_integration, event=WebhookEvent.CANDIDATE_HIRED
    ).delete()

    assert post_delivery(example_payload(WebhookEvent.CANDIDATE_HIRED)).status_code == 401


# --- 404, 410 -------------------------------------------------------------------------------


def test_unknown_integration_is_404_and_counts_nothing(post_delivery: PostFn) -> None:
    response = post_delivery(make_delivery(), public_id=uuid.uuid4())

    assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()
    assert not WebhookRejection.objects.exists()


def test_integration_id_that_is_not_a_uuid_is_404(client: Client) -> None:
    response = client.post(
        "/webhooks/lever/42/", data=json.dumps(make_delivery()), content_type="application/json"
    )

    assert response.status_code == 404


def test_disabled_integration_is_410(
    at_example_time: None, post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    webhook_integration.enabled = False
    webhook_integration.save(update_fields=["enabled"])

    response = post_delivery(example_payload(WebhookEvent.CANDIDATE_STAGE_CHANGE))

    assert response.status_code == 410
    assert response.json() == {"status": "disabled"}
    assert not WebhookDelivery.objects.exists()


# --- 400 ------------------------------------------------------------------------------------


def _without(key: str) -> Any:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        body = dict(body)
        del body[key]
        return body

    return change


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_without("event"), id="no-event"),
        pytest.param(_without("token"), id="no-token"),
        pytest.param(_without("triggeredAt"), id="no-triggeredAt"),
        pytest.param(_without("data"), id="no-data"),
        pytest.param(lambda b: b | {"event": 7}, id="event-number"),
        pytest.param(lambda b: b | {"event": ""}, id="event-empty"),
        pytest.param(lambda b: b | {"event": "e" * 65}, id="event-too-long"),
        pytest.param(lambda b: b | {"token": ["a"]}, id="token-list"),
        pytest.param(lambda b: b | {"token": "t" * 129}, id="token-too-long"),
        pytest.param(lambda b: b | {"triggeredAt": "1767258000123"}, id="triggeredAt-string"),
        pytest.param(lambda b: b | {"triggeredAt": True}, id="triggeredAt-bool"),
        pytest.param(lambda b: b | {"triggeredAt": 1.5}, id="triggeredAt-float"),
        pytest.param(lambda b: b | {"triggeredAt": -1}, id="triggeredAt-negative"),
        pytest.param(lambda b: b | {"triggeredAt": 2**70}, id="triggeredAt-huge"),
        pytest.param(lambda b: b | {"signature": 12345}, id="signature-number"),
        pytest.param(lambda b: b | {"data": []}, id="data-list"),
        pytest.param(lambda b: b | {"data": "x"}, id="data-string"),
        pytest.param(lambda b: b | {"data": {"candidateId": "c"}}, id="no-opportunityId"),
        pytest.param(lambda b: b | {"data": {"opportunityId": 5}}, id="opportunityId-number"),
        pytest.param(lambda b: b | {"data": {"opportunityId": "o" * 65}}, id="opportunityId-long"),
        pytest.param(lambda b: b | {"data": {"opportunityId": "o", "n": "a\u0000b"}}, id="nul"),
    ],
)
def test_malformed_delivery_is_400_and_counted(
    post_delivery: PostFn, webhook_integration: AtsIntegration, change: Any
) -> None:
    response = post_delivery(change(make_delivery()))

    assert response.status_code == 400
    assert response.json()["status"] == "malformed"
    assert not WebhookDelivery.objects.exists()
    assert _rejections(webhook_integration) == {"malformed": 1}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="broken"),
        pytest.param(b"[1, 2, 3]", id="array"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b'{"triggeredAt": NaN}', id="nan"),
        pytest.param(b'{"triggeredAt": Infinity}', id="infinity"),
        pytest.param(b"[" * 8_000 + b"]" * 8_000, id="deeply-nested"),
        pytest.param(b'{"triggeredAt": 1' + b"0" * 5000 + b"}", id="5000-digit-number"),
        pytest.param(b'{"event": "candidateStageChange", "x": "\\ud800"}', id="lone-surrogate"),
    ],
)
def test_body_that_is_not_a_json_delivery_is_400(post_delivery: PostFn, raw: bytes) -> None:
    response = post_delivery(raw)

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_empty_json_body_is_400(post_delivery: PostFn) -> None:
    response = post_delivery(b"", CONTENT_TYPE="application/json")

    assert response.status_code == 400


# --- 413, 415 -------------------------------------------------------------------------------


def test_body_over_the_cap_is_413_and_counted(
    post_delivery: PostFn, webhook_integration: AtsIntegration, settings: Any
) -> None:
    body = make_delivery()
    body["data"]["padding"] = "p" * (256 * 1024)

    response = post_delivery(body)

    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists()
    assert _rejections(webhook_integration) == {"too_large": 1}


def test_body_just_under_the_cap_is_accepted(post_delivery: PostFn) -> None:
    body = make_delivery()
    body["data"]["padding"] = ""
    size = len(json.dumps(body).encode())
    body["data"]["padding"] = "p" * (16 * 1024 - size)

    assert len(json.dumps(body).encode()) == 16 * 1024
    assert post_delivery(body).status_code == 200


def test_parser_reads_at_most_one_byte_past_the_cap(settings: Any) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 10
    stream = io.BytesIO(b'{"a": "' + b"x" * 10_000 + b'"}')

    with pytest.raises(PayloadTooLarge):
        BoundedJSONParser().parse(stream)

    assert stream.tell() == 11
    with pytest.raises(ParseError):
        BoundedJSONParser().parse(io.BytesIO(b"{oops"))


def test_declared_length_over_the_cap_is_413_before_reading(
    post_delivery: PostFn, settings: Any
) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 100

    response = post_delivery(make_delivery(), CONTENT_LENGTH="5000000")

    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""],
)
def test_wrong_content_type_is_415(
    post_delivery: PostFn, webhook_integration: AtsIntegration, content_type: str
) -> None:
    response = post_delivery(make_delivery(), content_type=content_type)

    assert response.status_code == 415
    assert not WebhookDelivery.objects.exists()
    assert _rejections(webhook_integration) == {"unsupported_media_type": 1}


def test_json_with_charset_parameter_is_accepted(post_delivery: PostFn) -> None:
    response = post_delivery(make_delivery(), content_type="application/json; charset=utf-8")

    assert response.status_code == 200


def test_get_is_not_allowed(client: Client, webhook_integration: AtsIntegration) -> None:
    url = reverse(
        "webhooks:receive", kwargs={"ats": "lever", "public_id": webhook_integration.public_id}
    )

    assert client.get(url).status_code == 405


def test_receiver_needs_no_csrf_token(webhook_integration: AtsIntegration) -> None:
    client = Client(enforce_csrf_checks=True)
    url = reverse(
        "webhooks:receive", kwargs={"ats": "lever", "public_id": webhook_integration.public_id}
    )

    response = client.post(url, data=json.dumps(make_delivery()), content_type="application/json")

    assert response.status_code == 200


# --- rejected senders are limited per client; signed deliveries never are -------------------


def test_unsigned_junk_never_uses_up_what_signed_deliveries_need(
    post_delivery: PostFn, settings: Any
) -> None:
    # Issue input: 30 junk posts at a 30/min limit, then a correctly signed delivery.
    settings.WEBHOOK_REJECTED_RATE = "30/min"
    junk = make_delivery()
    junk["signature"] = "0" * 64
    attacker = {"REMOTE_ADDR": "203.0.113.9"}

    junk_answers = [post_delivery(junk, **attacker).status_code for _ in range(30)]
    signed = post_delivery(make_delivery(), REMOTE_ADDR="198.51.100.7")

    assert junk_answers == [401] * 30
    assert signed.status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_a_client_over_its_rejection_limit_gets_429_and_records_nothing_more(
    post_delivery: PostFn, webhook_integration: AtsIntegration, settings: Any
) -> None:
    settings.WEBHOOK_REJECTED_RATE = "3/min"
    junk = make_delivery()
    junk["signature"] = "0" * 64

    answers = [post_delivery(junk, REMOTE_ADDR="203.0.113.9").status_code for _ in range(6)]
    late = post_delivery(junk, REMOTE_ADDR="203.0.113.9")

    assert answers == [401, 401, 401, 401, 429, 429]
    assert int(late["Retry-After"]) >= 1
    counted = WebhookRejection.objects.get(integration=webhook_integration).count
    assert counted == 4  # the rejections up to the limit, then nothing more is written
    assert post_delivery(make_delivery(), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_a_signed_delivery_from_an_address_over_its_rejection_limit_is_stored(
    post_delivery: PostFn, settings: Any
) -> None:
    # Issue input: 70 junk posts from one address (Lever's deliveries for every customer come
    # from a few shared addresses), then a correctly signed delivery from the same address.
    settings.WEBHOOK_REJECTED_RATE = "60/min"
    junk = make_delivery()
    junk["signature"] = "0" * 64
    shared = {"REMOTE_ADDR": "203.0.113.9"}

    junk_answers = [post_delivery(junk, **shared).status_code for _ in range(70)]
    signed = post_delivery(make_delivery(), **shared)
    later_junk = post_delivery(junk, **shared)

    assert junk_answers == [401] * 61 + [429] * 9
    assert signed.status_code == 200
    assert signed.json() == {"status": "accepted"}
    assert WebhookDelivery.objects.count() == 1
    assert later_junk.status_code == 429


def test_every_kind_of_rejection_past_the_limit_is_429_and_signed_still_passes(
    post_delivery: PostFn, settings: Any
) -> None:
    settings.WEBHOOK_REJECTED_RATE = "1/min"
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    shared = {"REMOTE_ADDR": "203.0.113.9"}
    unsigned = make_delivery()
    unsigned["signature"] = "0" * 64
    post_delivery(unsigned, **shared)
    post_delivery(unsigned, **shared)  # over the limit: blocked from now on

    answers = [
        post_delivery(unsigned, **shared).status_code,
        post_delivery(b"{not json", **shared).status_code,
        post_delivery(b"{}" + b" " * 5000, **shared).status_code,
        post_delivery(b"<a/>", content_type="application/xml", **shared).status_code,
        post_delivery(unsigned, public_id=uuid.uuid4(), **shared).status_code,
    ]
    signed = post_delivery(make_delivery(), **shared)

    assert answers == [429] * 5
    assert signed.status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_signed_deliveries_are_never_throttled(post_delivery: PostFn, settings: Any) -> None:
    settings.WEBHOOK_REJECTED_RATE = "1/min"

    answers = {post_delivery(make_delivery()).status_code for _ in range(20)}

    assert answers == {200}
    assert WebhookDelivery.objects.count() == 20


def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(
    post_delivery: PostFn, settings: Any
) -> None:
    # Behind one proxy every request comes from the proxy: the limit must hit the sender.
    settings.WEBHOOK_REJECTED_RATE = "2/min"
    settings.TRUSTED_PROXY_COUNT = 1
    junk = make_delivery()
    junk["signature"] = "0" * 64
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}

    for _ in range(4):
        post_delivery(junk, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9", **via_proxy)
    blocked = post_delivery(junk, HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    signed = post_delivery(make_delivery(), HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy)

    assert blocked.status_code == 429
    assert signed.status_code == 200


def test_the_rejection_limit_fails_open_quickly_when_the_cache_is_down(
    post_delivery: PostFn, settings: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        }
    }
    settings.WEBHOOK_REJECTED_RATE = "1/min"
    junk = make_delivery()
    junk["signature"] = "0" * 64

    started = time.monotonic()
    answers = [post_delivery(junk).status_code for _ in range(3)]
    elapsed = time.monotonic() - started

    assert answers == [401, 401, 401]
    assert elapsed < 4.5


# --- broker down ----------------------------------------------------------------------------


def test_dead_broker_still_answers_200_fast_and_the_sweeper_enqueues_later(
    post_delivery: PostFn, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    use_broker(
        "redis://127.0.0.1:1/0",
        {"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "max_retries": 1},
    )

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post_delivery(make_delivery()).status_code for _ in range(5)]
    elapsed = time.monotonic() - started

    assert answers == [200] * 5
    assert elapsed < 1.0 * 5
    assert WebhookDelivery.objects.filter(status="received").count() == 5
    enqueue.pending.join()  # the publisher thread tried the dead broker and gave up

    # the broker is back
    use_broker("memory://")
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0

    result = processing.delivery_sweep()

    assert sorted(result.requeued) == sorted(WebhookDelivery.objects.values_list("pk", flat=True))


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_same_delivery_sent_three_times_concurrently_is_stored_once(
    at_example_time: None,
    webhook_integration: AtsIntegration,
) -> None:
    body = json.dumps(example_payload(WebhookEvent.CANDIDATE_ARCHIVE_CHANGE))
    url = reverse(
        "webhooks:receive", kwargs={"ats": "lever", "public_id": webhook_integration.public_id}
    )
    barrier = threading.Barrier(3)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        try:
            response = Client().post(url, data=body, content_type="application/json")
            with lock:
                answers.append((response.status_code, response.json()["status"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(answers) == [(200, "accepted"), (200, "duplicate"), (200, "duplicate")]
    assert WebhookDelivery.objects.count() == 1


# --- publishing -----------------------------------------------------------------------------


def test_accepted_delivery_publishes_one_task_with_its_id_after_commit(
    post_delivery: PostFn, django_capture_on_commit_callbacks: Any
) -> None:
    from kombu.transport.memory import Channel as MemoryChannel

    MemoryChannel.queues.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_delivery(make_delivery())
    enqueue.pending.join()  # published by the publisher thread, not by the request

    delivery = WebhookDelivery.objects.get()
    assert response.json() == {"status": "accepted"}
    queue = MemoryChannel.queues["urgent"]
    messages = [queue.get_nowait() for _ in range(queue.qsize())]
    # The first verified delivery also asked for a status recompute (its own task).
    published = [
        m for m in messages if m["headers"]["task"] == "webhooks.tasks.delivery_process_many"
    ]
    assert len(published) == 1
    assert ast.literal_eval(published[0]["headers"]["argsrepr"]) == ([delivery.pk],)


# --- database down --------------------------------------------------------------------------


def _database_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_database_down_is_503_with_retry_after_and_one_line_per_outage(
    post_delivery: PostFn,
    webhook_integration: AtsIntegration,
    caplog: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outages, "_current", None)  # no outage left over from another test
    body = make_delivery()

    with caplog.at_level(logging.WARNING), connection.execute_wrapper(_database_down):
        responses = [post_delivery(body) for _ in range(3)]

    assert [r.status_code for r in responses] == [503, 503, 503]
    assert {r["Retry-After"] for r in responses} == {"60"}
    assert responses[0].json() == {"status": "unavailable"}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # one line for the outage, not one per request
    assert "database unavailable where=webhooks" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere
    # the database is back: Lever's retry is stored
    assert post_delivery(body).json() == {"status": "accepted"}


# --- routes ---------------------------------------------------------------------------------


def test_post_without_the_trailing_slash_gets_the_same_answers(
    client: Client, webhook_integration: AtsIntegration, settings: Any
) -> None:
    settings.DEBUG = True  # APPEND_SLASH would raise RuntimeError for a POST without a route
    path = f"/webhooks/lever/{webhook_integration.public_id}"

    good = client.post(path, data=json.dumps(make_delivery()), content_type="application/json")
    forged = make_delivery(signature_token="f" * 48)
    bad = client.post(path, data=json.dumps(forged), content_type="application/json")

    assert (good.status_code, good.json()) == (200, {"status": "accepted"})
    assert bad.status_code == 401
    assert WebhookDelivery.objects.count() == 1


def test_the_webhook_url_shown_to_admins_is_the_generic_route_for_the_ats(
    webhook_integration: AtsIntegration, settings: Any
) -> None:
    from webhooks.selectors import webhook_url

    public_id = webhook_integration.public_id

    assert webhook_url(integration=webhook_integration) == (
        f"{settings.PUBLIC_BASE_URL}/webhooks/lever/{public_id}/"
    )


def test_ats_in_the_path_that_is_not_the_integrations_is_404(
    client: Client, webhook_integration: AtsIntegration
) -> None:
    path = f"/webhooks/greenhouse/{webhook_integration.public_id}/"

    response = client.post(path, data=json.dumps(make_delivery()), content_type="application/json")

    assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()
    assert not WebhookRejection.objects.exists()


# --- replays and freshness (signed fields: token and triggeredAt only) -----------------------


def test_a_captured_delivery_re_posted_with_other_data_is_stored_once(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    # Issue input: one captured delivery re-posted 40 times with different unsigned `data`.
    captured = make_delivery()
    answers = []
    for i in range(40):
        replay = copy.deepcopy(captured)
        replay["data"]["opportunityId"] = f"0000000{i:01d}-aaaa-4bbb-8ccc-{i:012d}"
        answers.append(post_delivery(replay).json()["status"])
    relabelled = copy.deepcopy(captured)
    relabelled["event"] = WebhookEvent.CANDIDATE_HIRED  # signed with that event's token
    relabelled = resign(relabelled, EXAMPLE_TOKENS[WebhookEvent.CANDIDATE_HIRED])

    relabelled_answer = post_delivery(relabelled).json()["status"]

    assert answers == ["accepted"] + ["duplicate"] * 39
    assert relabelled_answer == "duplicate"
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize(
    "triggered_at",
    [
        978307200000,  # 2001-01-01: a capture replayed years later
        4102444800000,  # 2100-01-01: dated ahead
    ],
)
def test_a_signed_delivery_outside_the_freshness_window_is_refused_and_not_stored(
    post_delivery: PostFn, webhook_integration: AtsIntegration, triggered_at: int
) -> None:
    response = post_delivery(make_delivery(triggered_at=triggered_at))

    assert response.status_code == 400
    assert response.json()["status"] == "stale"
    assert not WebhookDelivery.objects.exists()
    assert WebhookRejection.objects.get(integration=webhook_integration).reason == "stale"


def test_the_freshness_window_allows_lever_reruns_from_its_two_week_history(
    post_delivery: PostFn, settings: Any
) -> None:
    thirteen_days_ago = int(time.time() * 1000) - 13 * 24 * 3600 * 1000

    response = post_delivery(make_delivery(triggered_at=thirteen_days_ago))

    assert response.json() == {"status": "accepted"}


def test_replayed_large_bodies_store_nothing_beyond_the_body_limit(
    post_delivery: PostFn, webhook_integration: AtsIntegration
) -> None:
    # Issue input: five replays with 200 KB bodies (kept 30 days) stored 1.27 MB.
    captured = make_delivery()
    captured["data"]["padding"] = "x" * 200_000

    answers = [post_delivery(captured).status_code for _ in range(5)]

    assert answers == [413] * 5
    assert not WebhookDelivery.objects.exists()
