"""The integration status page: overall status rolled up from the key and the features, and the
Features section (Invite by URL and Auto state updating with their named checks, the features
not built yet honestly not available). The page reads the status snapshot: these tests change
data, then compute the snapshot as the background task would (``_page``)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from itertools import count
from typing import Any

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from pytest_django import DjangoAssertNumQueries, Settings

from integrations import features as feature_table
from integrations.lever import signatures
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS
from integrations.models import (
    AtsIntegration,
    IntegrationStatus,
    OpportunityLink,
    WebhookSubscription,
)
from integrations.status import selectors as status_selectors
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.conftest import API_KEY, mark_valid, set_key
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.services import intake, processing

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus
Status = WebhookDelivery.Status

# Shaped like Lever's signature tokens; only the last 4 characters may ever be shown.
TOKENS: dict[str, str] = {
    WebhookEvent.CANDIDATE_STAGE_CHANGE: "stgTokenSecret0123456789abcdefABCDEF0123456789Q1",
    WebhookEvent.CANDIDATE_ARCHIVE_CHANGE: "arcTokenSecret0123456789abcdefABCDEF0123456789Q2",
    WebhookEvent.CANDIDATE_HIRED: "hirTokenSecret0123456789abcdefABCDEF0123456789Q3",
}
PREVIOUS_TOKEN = "oldTokenSecret0123456789abcdefABCDEF0123456789Q0"
NOT_ARRIVING = (
    "1 Candidate Stage Change change reached Karat only through the 15-minute reconciliation: "
    "Lever is not sending this webhook. To fix it, turn on Candidate Stage Change in Lever: "
    "Settings → Integrations and API → Webhooks."
)
# Every feature, in the order of the setup guide (Auto state updating third).
FEATURE_NAMES = [
    "Invite candidates using Lever URL",
    "Post candidacy updates to Lever",
    "Auto state updating",
    "Ensure Lever roles match Karat roles",
    "Automatic invites",
    "Attach a Lever link later",
    "Karat interview on Lever's schedule",
    "Hiring team from Lever",
    "Recruiter follows the Lever owner",
    "Results as a Lever feedback form",
    "Deletions and anonymisation honoured",
]
_tokens = count()


def _status_url(integration: AtsIntegration) -> str:
    return reverse("integrations:status", kwargs={"public_id": integration.public_id})


@pytest.fixture
def connected(integration: AtsIntegration, admin_user: User) -> AtsIntegration:
    """An integration whose API key Lever accepted; no webhooks yet."""
    set_key(integration, admin_user)
    mark_valid(integration)
    return integration


def _tokens_set(
    integration: AtsIntegration, events: list[str] | None = None, delivered: bool = False
) -> None:
    for event in events if events is not None else list(TOKENS):
        WebhookSubscription.objects.update_or_create(
            integration=integration,
            event=event,
            defaults={
                "signature_token": TOKENS[event],
                "signature_token_last4": TOKENS[event][-4:],
                "previous_signature_token": PREVIOUS_TOKEN,
                "last_delivery_at": timezone.now() - timedelta(minutes=5) if delivered else None,
            },
        )


def _missed(integration: AtsIntegration, event: str = WebhookEvent.CANDIDATE_STAGE_CHANGE) -> None:
    """As if the reconciliation had found a change no delivery of ``event`` announced."""
    AtsIntegration.objects.filter(pk=integration.pk).update(reconciled_at=timezone.now())
    WebhookSubscription.objects.update_or_create(
        integration=integration,
        event=event,
        defaults={"missed_at": timezone.now(), "missed_count": 1},
    )
    integration.refresh_from_db()


def _delivery(
    integration: AtsIntegration, status: str, received_ago: timedelta = timedelta(0)
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        integration=integration,
        event=WebhookEvent.CANDIDATE_STAGE_CHANGE,
        token=f"delivery-{next(_tokens)}",
        opportunity_id="opp-1",
        triggered_at_ms=1_700_000_000_000,
        payload={"data": {"opportunityId": "opp-1"}},
        status=status,
    )
    if received_ago:
        # received_at is auto_now_add: backdate it the way a day-old row would look.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            received_at=timezone.now() - received_ago
        )
    return delivery


def _rejection(integration: AtsIntegration, reason: str, n: int, hours_ago: int = 0) -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)
    WebhookRejection.objects.create(
        integration=integration, reason=reason, hour=hour, count=n, last_at=hour
    )


def _auto(integration: AtsIntegration) -> feature_table.FeatureHealth:
    features = status.features_compute(integration=integration)
    return next(f for f in features if f.key == feature_table.AUTO_STATE_UPDATING)


def _page(client: Client, integration: AtsIntegration) -> str:
    """The status page after the snapshot was computed from the data as it is now."""
    status.integration_status_compute(integration_id=integration.pk)
    response = client.get(_status_url(integration))
    assert response.status_code == 200
    return response.content.decode()


def _hero(page: str) -> str:
    """The overall status line of the Status page."""
    hero = re.search(r'<div class="status-hero">(.*?)</div>', page, re.S)
    assert hero
    return hero.group(1)


def _feature_html(page: str, name: str) -> str:
    """The <article> of one feature on the page."""
    match = re.search(
        rf'<article class="feature"[^>]*>\s*<div class="feature-head">\s*<h3[^>]*>{re.escape(name)}</h3>.*?</article>',
        page,
        re.S,
    )
    assert match, f"no feature {name!r} on the page"
    return match.group(0)


# --- Auto state updating: each state ------------------------------------------------------------


def test_without_tokens_auto_state_updating_needs_attention_and_links_to_step_3(
    admin_client: Client, connected: AtsIntegration
) -> None:
    health = _auto(connected)

    assert health.level == "warn"
    assert health.label == "Needs attention"
    assert len(health.issues) == 1
    issue = health.issues[0]
    assert "Candidate Stage Change, Candidate Archive State Change, Candidate Hired" in issue.text
    assert "Register webhooks in Lever" in issue.text
    settings_url = reverse("integrations:settings", kwargs={"public_id": connected.public_id})
    assert issue.url == settings_url + "#webhooks"

    feature = _feature_html(_page(admin_client, connected), "Auto state updating")
    assert "Needs attention" in feature
    assert f'href="{settings_url}#webhooks"' in feature
    # One failing check per webhook, each with its fix link.
    assert feature.count("signature token</strong>: Missing") == 3
    assert feature.count(f'<a class="check-fix" href="{settings_url}#webhooks">') == 3


def test_a_missing_token_for_one_event_is_named(connected: AtsIntegration) -> None:
    _tokens_set(
        connected,
        [WebhookEvent.CANDIDATE_STAGE_CHANGE, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE],
        delivered=True,
    )

    health = _auto(connected)

    assert health.level == "warn"
    assert [i.text.split(":")[0] for i in health.issues] == [
        "No signature token for Candidate Hired"
    ]


def test_tokens_without_any_delivery_are_waiting_for_deliveries(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected)

    health = _auto(connected)

    # Nothing has arrived yet: that is waiting (neutral), not a problem to fix.
    assert (health.level, health.label) == ("info", "Waiting for the first delivery")
    assert health.level not in ("warn", "bad")
    assert health.issues == ()
    assert "test delivery" in health.summary
    assert "toggles are ON in Lever" in health.summary
    page = _page(admin_client, connected)
    feature = _feature_html(page, "Auto state updating")
    assert '<span class="badge badge-info">Waiting for the first delivery</span>' in feature
    assert feature.count("signature token</strong>: Set (••••") == 3
    assert feature.count("No verified delivery yet.") == 3
    hero = _hero(page)
    assert "Needs attention" not in hero
    assert "Auto state updating is waiting for the first delivery" in hero


def test_arriving_deliveries_make_the_feature_work_and_show_each_last_delivery(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)
    _delivery(connected, Status.PROCESSED)

    health = _auto(connected)

    assert (health.level, health.label, health.issues) == ("ok", "Working", ())
    feature = _feature_html(_page(admin_client, connected), "Auto state updating")
    assert "Working" in feature
    assert "No verified delivery yet" not in feature
    assert feature.count("<time datetime=") == 3
    activity = reverse("webhooks-console:activity", kwargs={"public_id": connected.public_id})
    assert f'href="{activity}"' in feature


def test_reconciliation_finding_an_unannounced_change_names_the_webhook_not_arriving(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)
    _missed(connected)

    health = _auto(connected)

    assert health.level == "warn"
    assert [i.text for i in health.issues] == [NOT_ARRIVING]
    checks = {c.code: c for c in health.checks}
    assert checks[f"{WebhookEvent.CANDIDATE_STAGE_CHANGE}:announced"].level == "warn"
    assert checks[f"{WebhookEvent.CANDIDATE_HIRED}:announced"].level == "ok"
    assert NOT_ARRIVING in _page(admin_client, connected)


def test_without_a_reconciliation_yet_changes_announced_is_not_claimed(
    connected: AtsIntegration,
) -> None:
    _tokens_set(connected, delivered=True)

    health = _auto(connected)

    assert health.level == "ok"
    announced = [c for c in health.checks if c.code.endswith(":announced")]
    assert len(announced) == 3
    assert {c.level for c in announced} == {"info"}


def test_before_the_first_reconciliation_changes_announced_says_when_it_will_run(
    connected: AtsIntegration, settings: Settings
) -> None:
    settings.RECONCILE_INTERVAL_SECONDS = 600
    _tokens_set(connected, delivered=True)

    def announced() -> set[str]:
        return {c.message for c in _auto(connected).checks if c.code.endswith(":announced")}

    unlinked = announced()
    OpportunityLink.objects.create(
        integration=connected,
        candidacy=CandidacyFactory(role=RoleFactory(group=connected.group)),
        opportunity_id="linked-opportunity",
    )
    linked = announced()

    assert unlinked == {"Checked by the 10-minute reconciliation once a candidacy is linked."}
    assert linked == {"Checked by the reconciliation, every 10 minutes: it has not run yet."}


def test_failed_and_dead_deliveries_of_the_last_day_need_attention_with_a_filtered_link(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)
    _delivery(connected, Status.PROCESSED)
    _delivery(connected, Status.FAILED)
    _delivery(connected, Status.DEAD)
    _delivery(connected, Status.FAILED, received_ago=timedelta(hours=25))  # too old to count

    health = _auto(connected)

    assert health.level == "warn"
    (issue,) = health.issues
    assert issue.text.startswith("2 deliveries in the last 24 hours could not be processed")
    activity = reverse("webhooks-console:activity", kwargs={"public_id": connected.public_id})
    assert issue.url == f"{activity}?status=failed"
    assert f'href="{activity}?status=failed"' in _page(admin_client, connected)


def test_only_dead_deliveries_link_to_the_dead_filter(connected: AtsIntegration) -> None:
    _tokens_set(connected, delivered=True)
    _delivery(connected, Status.DEAD)

    (issue,) = _auto(connected).issues

    assert issue.text.startswith("1 delivery in the last 24 hours")
    assert issue.url.endswith("?status=dead")


def test_every_problem_is_listed_at_once(connected: AtsIntegration, settings: Settings) -> None:
    _tokens_set(connected, [WebhookEvent.CANDIDATE_HIRED], delivered=True)
    _delivery(connected, Status.FAILED)
    _missed(connected)

    issues = [i.text for i in _auto(connected).issues]

    assert len(issues) == 3
    assert issues[0].startswith("No signature token for Candidate Stage Change")
    assert issues[1] == NOT_ARRIVING
    assert issues[2].startswith("1 delivery")


def test_rejections_of_the_last_24_hours_are_counted_by_reason(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)
    _rejection(connected, WebhookRejection.Reason.BAD_SIGNATURE, 4)
    _rejection(connected, WebhookRejection.Reason.MALFORMED, 1, hours_ago=3)
    _rejection(connected, WebhookRejection.Reason.BAD_SIGNATURE, 50, hours_ago=30)  # too old

    health = _auto(connected)

    assert health.detail["rejected_total"] == 5
    feature = _feature_html(_page(admin_client, connected), "Auto state updating")
    assert re.search(r"Rejected deliveries in the last 24 hours: <strong[^>]*>5</strong>", feature)
    assert "bad or missing signature: 4" in feature
    assert "malformed body: 1" in feature
    assert "doesn't match Lever's" in feature
    # Rejections alone don't change the state: forged requests would otherwise flip it.
    assert health.level == "ok"


def test_a_disabled_integration_shows_the_feature_off(connected: AtsIntegration) -> None:
    _tokens_set(connected)
    AtsIntegration.objects.filter(pk=connected.pk).update(enabled=False)
    connected.refresh_from_db()

    health = _auto(connected)

    assert (health.level, health.label) == ("muted", "Off")


# --- every feature ------------------------------------------------------------------------------


def test_every_feature_is_listed_in_order_and_none_is_missing(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)

    page = _page(admin_client, connected)

    names = [unescape(n) for n in re.findall(r'<h3 id="feature-[a-z_]+">([^<]+)</h3>', page)]
    assert names == FEATURE_NAMES
    assert "Not available yet" not in page


def test_every_feature_names_functions_that_import() -> None:
    keys = [feature.key for feature in feature_table.FEATURES]

    assert len(set(keys)) == len(keys)
    for feature in feature_table.FEATURES:
        assert callable(import_string(feature.health)), feature.key
        if feature.settings_section:
            assert callable(import_string(feature.settings_section)), feature.key


# --- overall roll-up ----------------------------------------------------------------------------


def test_overall_is_active_while_features_only_wait_for_their_first_event(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected, delivered=True)

    hero = _hero(_page(admin_client, connected))

    # A working key and working webhooks; no posting sync and no milestone yet is waiting,
    # not failing: Active, and the explanation says what each feature waits for.
    assert '<span class="badge badge-ok">Active</span>' in hero
    assert "Ensure Lever roles match Karat roles is waiting for the first sync" in hero
    assert "Post candidacy updates to Lever is waiting for the first milestone" in hero
    assert "not available yet" not in hero
    assert "Needs attention" not in hero


def test_overall_is_active_only_when_every_feature_works(connected: AtsIntegration) -> None:
    def feature(name: str) -> feature_table.FeatureHealth:
        return feature_table.FeatureHealth(
            key=name, name=name, description="", level="ok", label="Working", summary=""
        )

    overall = status_selectors.integration_overall_status(
        integration=connected, features=[feature("A"), feature("B")]
    )

    assert (overall.level, overall.label) == ("ok", "Active")
    assert overall.explanation == "Lever accepted the API key. A and B work."


@pytest.mark.parametrize(
    ("tokens", "missed"),
    [("none", False), ("delivered", True)],
    ids=["missing", "not arriving"],
)
def test_overall_needs_attention_when_the_key_works_but_webhooks_do_not(
    admin_client: Client, connected: AtsIntegration, tokens: str, missed: bool
) -> None:
    if tokens != "none":
        _tokens_set(connected, delivered=tokens == "delivered")
    if missed:
        _missed(connected)

    hero = _hero(_page(admin_client, connected))

    assert '<span class="badge badge-warn">Needs attention</span>' in hero
    assert "Lever accepted the API key, but Auto state updating needs attention" in hero
    # The features that only wait are still named.
    assert "Ensure Lever roles match Karat roles is waiting for the first sync" in hero


def test_waiting_for_the_first_delivery_is_not_needing_attention_overall(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected)

    hero = _hero(_page(admin_client, connected))

    assert '<span class="badge badge-ok">Active</span>' in hero
    assert "Auto state updating is waiting for the first delivery" in hero
    assert "Needs attention" not in hero


def test_waiting_alone_is_healthy_overall_and_says_what_it_waits_for(
    connected: AtsIntegration,
) -> None:
    _tokens_set(connected)

    overall = status_selectors.integration_overall_status(
        integration=connected, features=[_auto(connected)]
    )

    # Nothing failed and nothing degraded: Active, and the explanation says it still waits.
    assert (overall.level, overall.label) == ("ok", "Active")
    assert overall.explanation == (
        "Lever accepted the API key. Auto state updating is waiting for the first delivery."
    )


def test_an_optional_feature_that_is_off_does_not_count_against_active(
    connected: AtsIntegration,
) -> None:
    def feature(name: str, level: str, label: str) -> feature_table.FeatureHealth:
        return feature_table.FeatureHealth(
            key=name, name=name, description="", level=level, label=label, summary=""
        )

    overall = status_selectors.integration_overall_status(
        integration=connected,
        features=[feature("A", "ok", "Working"), feature("Automatic invites", "muted", "Off")],
    )

    assert (overall.level, overall.label) == ("ok", "Active")
    assert overall.explanation == "Lever accepted the API key. A works; Automatic invites is off."


def test_a_feature_not_built_yet_never_counts_as_working(connected: AtsIntegration) -> None:
    working = feature_table.FeatureHealth(
        key="a", name="A", description="", level="ok", label="Working", summary=""
    )
    missing = feature_table.feature_not_available(key=feature_table.ROLE_MATCHING)

    overall = status_selectors.integration_overall_status(
        integration=connected, features=[working, missing]
    )

    assert (overall.level, overall.label) == ("info", "Partly available")
    assert "Ensure Lever roles match Karat roles is not available yet" in overall.explanation
    assert "Ensure Lever roles match Karat roles work" not in overall.explanation


@pytest.mark.parametrize(
    ("key_status", "label"),
    [
        (KeyStatus.INVALID, "Not working"),
        (KeyStatus.UNREACHABLE, "Needs attention"),
        (KeyStatus.CHECKING, "Checking"),
    ],
)
def test_key_problems_keep_their_own_overall_state(
    connected: AtsIntegration, key_status: str, label: str
) -> None:
    AtsIntegration.objects.filter(pk=connected.pk).update(key_status=key_status)
    connected.refresh_from_db()
    features = status.features_compute(integration=connected)
    assert _auto(connected).level in ("warn", "bad")

    overall = status_selectors.integration_overall_status(integration=connected, features=features)

    assert overall.label == label


def test_without_a_key_the_overall_state_is_not_working(integration: AtsIntegration) -> None:
    features = status.features_compute(integration=integration)

    overall = status_selectors.integration_overall_status(
        integration=integration, features=features
    )

    # Nothing can work without a key; the explanation says what to do.
    assert (overall.level, overall.label) == ("bad", "Not working")
    assert overall.explanation == "No API key yet: add your Lever API key in Settings."


def test_a_disabled_integration_stays_disabled_overall(connected: AtsIntegration) -> None:
    AtsIntegration.objects.filter(pk=connected.pk).update(enabled=False)
    connected.refresh_from_db()

    overall = status_selectors.integration_overall_status(
        integration=connected, features=status.features_compute(integration=connected)
    )

    assert overall.label == "Disabled"


def test_the_worst_feature_level_wins_and_several_features_are_named(
    connected: AtsIntegration,
) -> None:
    def feature(name: str, level: str) -> feature_table.FeatureHealth:
        return feature_table.FeatureHealth(
            key=name, name=name, description="", level=level, label="", summary=""
        )

    overall = status_selectors.integration_overall_status(
        integration=connected,
        features=[
            feature("A", "warn"),
            feature("B", "ok"),
            feature("C", "bad"),
            feature("D", "muted"),
        ],
    )

    # A failing feature makes the integration "Not working"; the degraded one is named too.
    assert (overall.level, overall.label) == ("bad", "Not working")
    assert overall.explanation.startswith("C is not working and A needs attention")
    assert "B works" in overall.explanation


def test_features_not_available_yet_are_named_next_to_a_feature_that_needs_attention(
    connected: AtsIntegration,
) -> None:
    features = [
        feature_table.FeatureHealth(
            key="a", name="A", description="", level="warn", label="Needs attention", summary=""
        ),
        *(
            feature_table.feature_not_available(key=key)
            for key in (feature_table.INVITE_FROM_LEVER_URL, feature_table.ROLE_MATCHING)
        ),
    ]

    overall = status_selectors.integration_overall_status(integration=connected, features=features)

    assert overall.explanation == (
        "Lever accepted the API key, but A needs attention (the Status page's Features say what "
        "to do); Invite "
        "candidates using Lever URL and Ensure Lever roles match Karat roles are not "
        "available yet."
    )


def test_the_list_and_overview_pages_show_the_same_overall_status_as_the_status_page(
    admin_client: Client, connected: AtsIntegration
) -> None:
    # Every page reads the stored snapshot (computed in the background).
    status.integration_status_compute(integration_id=connected.pk)
    pages = [
        admin_client.get(reverse("integrations:list")).content.decode(),
        admin_client.get(
            reverse("integrations:detail", kwargs={"public_id": connected.public_id})
        ).content.decode(),
        admin_client.get(_status_url(connected)).content.decode(),
    ]

    # A valid key but no webhook tokens yet: every page says so, none says "Connected".
    for page in pages:
        assert "Needs attention" in page
        assert "Active" not in page
        assert "Auto state updating needs attention" in page
    _tokens_set(connected, delivered=True)
    status.integration_status_compute(integration_id=connected.pk)
    for url in (
        reverse("integrations:list"),
        reverse("integrations:detail", kwargs={"public_id": connected.public_id}),
        _status_url(connected),
    ):
        page = admin_client.get(url).content.decode()
        assert '<span class="badge badge-ok">Active</span>' in page
        assert "Ensure Lever roles match Karat roles is waiting for the first sync" in page
        assert "Needs attention" not in page


# --- access, queries, secrets -------------------------------------------------------------------


def test_access_matrix_is_unchanged(
    admin_client: Client,
    recruiter_client: Client,
    outsider_client: Client,
    connected: AtsIntegration,
) -> None:
    url = _status_url(connected)

    assert admin_client.get(url).status_code == 200
    assert recruiter_client.get(url).status_code == 403
    assert outsider_client.get(url).status_code == 404


def _query_count(client: Client, integration: AtsIntegration) -> int:
    """Queries of one page view of the stored snapshot (computed first, as the task would)."""
    status.integration_status_compute(integration_id=integration.pk)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_status_url(integration)).status_code == 200
    return len(queries)


def test_the_page_runs_a_constant_number_of_queries(
    admin_client: Client,
    connected: AtsIntegration,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    empty = _query_count(admin_client, connected)

    _tokens_set(connected, delivered=True)
    for delivery_status in [Status.PROCESSED] * 30 + [Status.FAILED] * 10 + [Status.DEAD] * 5:
        _delivery(connected, delivery_status)
    for hours_ago in range(24):
        _rejection(connected, WebhookRejection.Reason.BAD_SIGNATURE, 2, hours_ago=hours_ago)
        _rejection(connected, WebhookRejection.Reason.MALFORMED, 1, hours_ago=hours_ago)
    busy = _query_count(admin_client, connected)

    assert busy == empty
    # session, user, memberships (2), groups, integration with its snapshot, created by: the
    # deliveries, tokens, rejections and outbound updates were counted when the snapshot was
    # computed.
    with django_assert_max_num_queries(7):
        admin_client.get(_status_url(connected))


def test_no_secret_reaches_the_html(admin_client: Client, connected: AtsIntegration) -> None:
    _tokens_set(connected, delivered=True)
    _delivery(connected, Status.FAILED)

    page = _page(admin_client, connected)

    for secret in [API_KEY, *TOKENS.values(), PREVIOUS_TOKEN]:
        assert secret not in page
        assert secret[:-4] not in page
    assert "••••" + API_KEY[-4:] in page


# --- issue #9: a 403 on one confidential opportunity is not the key's fault -----------------


def test_a_confidential_opportunity_the_key_may_not_see_is_not_reported_as_a_refused_key(
    admin_client: Client,
    integration: AtsIntegration,
    admin_user: User,
    lever_sandbox: SandboxServer,
    memory_broker: Any,
) -> None:
    # A key made without Lever's "access to confidential data", and one linked candidate whose
    # opportunity is confidential: reading it is Lever's 403 for that record only.
    key = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != CONFIDENTIAL_ACCESS], label="no confidential"
    )
    set_key(integration, admin_user, key)
    mark_valid(integration)
    _tokens_set(integration)
    opportunity_id = demo_opportunity_ids(1)[0]
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=integration.group)),
        opportunity_id=opportunity_id,
        contact_id=lever_sandbox.opportunity(opportunity_id)["contact"],
    )
    lever_sandbox.set_confidential(opportunity_id)
    forbidden = requests.get(
        f"{lever_sandbox.api_url}/opportunities/{opportunity_id}", auth=(key, ""), timeout=5
    )
    assert forbidden.status_code == 403
    assert "not authorized to access confidential data" in forbidden.json()["message"]

    token, triggered_at = "delivery-confidential", int(timezone.now().timestamp() * 1000)
    event = WebhookEvent.CANDIDATE_STAGE_CHANGE
    received = intake.delivery_record(
        integration_public_id=integration.public_id,
        body={
            "triggeredAt": triggered_at,
            "event": event,
            "token": token,
            "signature": signatures.sign(
                signature_token=TOKENS[event], token=token, triggered_at=triggered_at
            ),
            "data": {"opportunityId": opportunity_id, "toStageId": "offer"},
        },
    )
    assert received.delivery_id is not None

    status = processing.delivery_process(delivery_id=received.delivery_id)

    integration.refresh_from_db()
    delivery = WebhookDelivery.objects.get(pk=received.delivery_id)
    assert status == Status.FAILED
    assert "confidential" in delivery.error
    assert integration.last_error == ""
    assert integration.last_error_at is None
    assert integration.key_status == KeyStatus.VALID
    page = _page(admin_client, integration)
    assert "refused the API key" not in page
    assert "Lever rejected the key" not in page
    activity = admin_client.get(
        reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    ).content.decode()
    assert "Failed" in activity
    assert "see this record" in activity
    detail = admin_client.get(
        reverse(
            "webhooks-console:delivery-detail",
            kwargs={"public_id": integration.public_id, "delivery_id": delivery.pk},
        )
    ).content.decode()
    assert "not authorized to access confidential data" in detail


# --- issue #10: Lever's test delivery counts as a verified delivery ----------------------------


def _test_delivery(integration: AtsIntegration, event: str, token: str) -> intake.RecordResult:
    triggered_at = int(timezone.now().timestamp() * 1000)
    delivery_token = f"test-{next(_tokens)}"
    return intake.delivery_record(
        integration_public_id=integration.public_id,
        body={
            "triggeredAt": triggered_at,
            "event": event,
            "token": delivery_token,
            "signature": signatures.sign(
                signature_token=token, token=delivery_token, triggered_at=triggered_at
            ),
            "data": {},
        },
    )


def test_a_verified_test_delivery_is_the_last_verified_delivery(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _tokens_set(connected)
    intake.verifiers_clear()

    for event, token in TOKENS.items():
        assert _test_delivery(connected, event, token).outcome is intake.Outcome.TEST

    subscriptions = WebhookSubscription.objects.filter(integration=connected)
    assert all(s.last_delivery_at is not None for s in subscriptions)
    health = _auto(connected)
    assert (health.level, health.label) == ("ok", "Working")
    feature = _feature_html(_page(admin_client, connected), "Auto state updating")
    assert feature.count("<time datetime=") == 3
    assert "None yet" not in feature


def test_a_badly_signed_test_delivery_is_not_a_verified_delivery(
    connected: AtsIntegration,
) -> None:
    _tokens_set(connected)
    intake.verifiers_clear()

    result = _test_delivery(connected, WebhookEvent.CANDIDATE_HIRED, "not-the-token")

    assert result.outcome is intake.Outcome.BAD_SIGNATURE
    assert not WebhookSubscription.objects.filter(last_delivery_at__isnull=False).exists()
    assert _auto(connected).label == "Waiting for the first delivery"


def test_the_roles_match_checks_say_something_and_date_through_when(
    admin_client: Client, connected: AtsIntegration
) -> None:
    from integrations.models import PostingSyncRun

    PostingSyncRun.objects.create(
        integration=connected,
        kind="full",
        status="succeeded",
        started_at="2026-11-29T19:52:00Z",
        finished_at="2026-11-29T19:53:00Z",
    )

    feature = _feature_html(
        _page(admin_client, connected),
        feature_table.FEATURES_BY_KEY[feature_table.ROLE_MATCHING].name,
    )

    assert (
        "<strong>Last sync</strong>: Succeeded, finished "
        '<time datetime="2026-11-29T19:53:00Z" class="when">Nov 29, 2026, 19:53 UTC</time>'
    ) in feature
    assert "2026-11-29 19:53" not in feature
    assert not re.search(r"<strong>[^<]+</strong>: (?:<|$)", feature)  # no empty message


def test_a_snapshot_stored_before_a_partial_was_renamed_still_renders(
    admin_client: Client, connected: AtsIntegration
) -> None:
    status.integration_status_compute(integration_id=connected.pk)
    snapshot = IntegrationStatus.objects.get(integration=connected)
    # As snapshots were stored before the feature folders: each named its partial.
    snapshot.features = [
        {**feature, "template": "integrations/_role_matching_feature.html"}
        for feature in snapshot.features
    ]
    snapshot.save(update_fields=["features"])

    response = admin_client.get(_status_url(connected))

    assert response.status_code == 200
    assert "Roles: postings and their Karat roles →" in response.content.decode()
