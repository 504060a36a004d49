"""Integration pages: access matrix, the setup guide's Step 2 and Step 4, bad input, actions."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.connection.services import lifecycle
from integrations.models import Ats, AtsIntegration, AuditEntry, KeyCheck, Region
from integrations.status import services as status
from karatlever.accounts.models import Group, Membership, User
from tests.factories import GroupFactory, IntegrationFactory, MembershipFactory
from tests.integrations.conftest import API_KEY, OTHER_KEY, mark_valid, set_key

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus

LIST = reverse("integrations:list")


def _url(name: str, integration: AtsIntegration) -> str:
    return reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})


# (method, url name, POST data) for every page; "list" has no id.
ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("get", "list", {}),
    ("post", "list", {"ats": "lever"}),
    ("get", "detail", {}),
    ("get", "settings", {}),
    ("post", "settings", {"api_key": "", "ats_user_id": "", "region": "us"}),
    ("post", "check-key", {}),
    ("get", "status", {}),
    ("post", "set-enabled", {"enabled": "0"}),
    ("get", "delete", {}),
    ("post", "delete", {}),
]
ROUTE_IDS = [f"{m.upper()} {name}" for m, name, _ in ROUTES]


def _call(
    client: Client, integration: AtsIntegration, route: tuple[str, str, dict[str, str]]
) -> Any:
    method, name, data = route
    url = LIST if name == "list" else _url(name, integration)
    if name == "list" and method == "post":
        data = {**data, "group": str(integration.group.code)}
    return getattr(client, method)(url, data) if method == "post" else client.get(url)


# --- access matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_an_admin_can_use_every_page(
    admin_client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(admin_client, integration, route)

    # POST list: the group already has a Lever integration → the form explains (400).
    expected = {"get": {200}, "post": {302, 400}}[route[0]]
    assert response.status_code in expected


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_recruiter_gets_the_403_page_everywhere(
    recruiter_client: Client, integration: AtsIntegration, route: Any
) -> None:
    before = AuditEntry.objects.count()

    response = _call(recruiter_client, integration, route)

    assert response.status_code == 403
    assert "Only organization admins" in response.content.decode()
    assert AtsIntegration.objects.filter(pk=integration.pk, enabled=True).exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("route", [r for r in ROUTES if r[1] != "list"], ids=ROUTE_IDS[2:])
def test_another_organizations_admin_gets_404_for_our_integration(
    outsider_client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(outsider_client, integration, route)

    assert response.status_code == 404
    assert AtsIntegration.objects.filter(pk=integration.pk, enabled=True).exists()


def test_another_organizations_admin_sees_none_of_ours_in_the_list(
    outsider_client: Client, integration: AtsIntegration
) -> None:
    response = outsider_client.get(LIST)

    assert response.status_code == 200
    assert str(integration.public_id) not in response.content.decode()
    assert str(integration.group.code) not in response.content.decode()
    assert "<strong>Engineering</strong>" not in response.content.decode()


def test_another_organizations_admin_cannot_create_in_our_group(
    outsider_client: Client, group: Group
) -> None:
    response = outsider_client.post(LIST, {"group": str(group.code), "ats": "lever"})

    assert response.status_code == 400
    assert not AtsIntegration.objects.exists()


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(client, integration, route)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert AtsIntegration.objects.filter(pk=integration.pk, enabled=True).exists()


def test_a_hidden_group_integration_is_a_404_for_a_limited_admin(
    integration: AtsIntegration, second_group: Group
) -> None:
    limited = MembershipFactory(
        organization=integration.group.organization, role=Membership.Role.ADMIN
    )
    limited.groups.set([second_group])
    client = Client()
    client.force_login(limited.user)

    assert client.get(_url("detail", integration)).status_code == 404
    assert str(integration.public_id) not in client.get(LIST).content.decode()


def test_posts_need_a_csrf_token(admin_user: User, integration: AtsIntegration) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(_url("set-enabled", integration), {"enabled": "0"})

    assert response.status_code == 403
    integration.refresh_from_db()
    assert integration.enabled is True


# --- Step 2 of the setup guide ---------------------------------------------------------------


def test_settings_menu_leads_to_ats_integrations(admin_client: Client, group: Group) -> None:
    home = admin_client.get("/", follow=True).content.decode()

    assert 'href="/settings/ats-integrations/"' in home
    assert ">ATS Integrations<" in home


def test_step_2_with_one_group_has_no_group_drop_down(admin_client: Client, group: Group) -> None:
    page = admin_client.get(LIST).content.decode()

    assert "Create New ATS Integration" in page
    assert 'name="group"' in page
    assert '<select name="group"' not in page
    assert 'type="hidden" name="group"' in page
    assert "Select ATS" in page
    assert '<option value="lever">Lever</option>' in page
    assert ">Create</button>" in page


def test_step_2_with_several_groups_offers_a_group_drop_down(
    admin_client: Client, group: Group, second_group: Group
) -> None:
    page = admin_client.get(LIST).content.decode()

    assert '<select name="group"' in page
    assert f'value="{group.code}"' in page
    assert f'value="{second_group.code}"' in page


def test_step_2_the_whole_setup_flow(
    admin_client: Client, admin_user: User, group: Group, second_group: Group
) -> None:
    # Settings → ATS Integrations → group drop-down → Select ATS → Create
    response = admin_client.post(LIST, {"group": str(second_group.code), "ats": "lever"})
    integration = AtsIntegration.objects.get()
    assert integration.group == second_group
    assert response.status_code == 302
    assert response["Location"] == _url("detail", integration)

    # "You will be sent to the following page": the Integration ID, Settings right under it.
    page = admin_client.get(response["Location"]).content.decode()
    assert "Integration ID" in page
    id_at = page.index(str(integration.public_id))
    settings_link = page.index(f'href="{_url("settings", integration)}"')
    status_link = page.index(f'href="{_url("status", integration)}"')
    assert id_at < settings_link
    assert id_at < status_link
    assert "integration created for Data" in page  # the message

    # Click Settings → API Key (paste), no User ID → Save
    settings_page = admin_client.get(_url("settings", integration)).content.decode()
    assert "API Key" in settings_page
    assert "You don&#x27;t need to add a User ID" in settings_page
    assert ">Save</button>" in settings_page
    saved = admin_client.post(
        _url("settings", integration),
        {"api_key": API_KEY + "\n", "ats_user_id": "", "region": "us"},
        follow=True,
    )
    assert saved.status_code == 200
    body = saved.content.decode()
    assert "Saved. Checking the key with Lever…" in body
    assert "••••" + API_KEY[-4:] in body
    assert API_KEY not in body
    integration.refresh_from_db()
    assert integration.api_key == API_KEY
    assert integration.key_status == KeyStatus.CHECKING
    assert 'http-equiv="refresh"' in body  # the page refreshes itself while checking

    # The audit log on the integration page says who did what.
    detail = admin_client.get(_url("detail", integration)).content.decode()
    assert "Audit log" in detail
    assert "API key ••••" + API_KEY[-4:] + " set" in detail
    assert "Lever integration created for Data" in detail
    assert admin_user.display_name in detail


def test_step_4_status_page_shows_overall_status_and_basic_information(
    admin_client: Client, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)
    mark_valid(integration)

    page = admin_client.get(LIST).content.decode()
    assert f'href="{_url("status", integration)}"' in page  # "Click Status"

    status = admin_client.get(_url("status", integration)).content.decode()
    assert "Overall status" in status
    assert "Needs attention" in status  # the key works; the webhooks (Step 3) are not set up yet
    assert "Basic information" in status
    assert str(integration.public_id) in status
    assert integration.group.name in status
    assert "US (api.lever.co)" in status
    assert "••••" + API_KEY[-4:] in status


def test_the_settings_page_includes_the_webhooks_section(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.get(_url("settings", integration))

    assert "webhooks/_integration_webhooks.html" in [t.name for t in response.templates]


def test_the_api_key_field_never_renders_a_value(
    admin_client: Client, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)

    page = admin_client.get(_url("settings", integration)).content.decode()

    field = re.search(r'<input[^>]*name="api_key"[^>]*>', page)
    assert field is not None
    assert 'type="password"' in field.group(0)
    assert "value=" not in field.group(0)
    assert "Leave blank to keep ••••" + API_KEY[-4:] in page


# --- creating: duplicates and bad input --------------------------------------------------------


def test_a_duplicate_create_explains_and_creates_nothing(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(LIST, {"group": str(integration.group.code), "ats": "lever"})

    assert response.status_code == 400
    assert "already has a Lever integration" in response.content.decode()
    assert AtsIntegration.objects.count() == 1
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"ats": "greenhouse"},
        {"ats": ""},
        {},
        {"ats": "lever", "group": str(uuid.uuid4())},
        {"ats": "lever", "group": "not-a-uuid"},
        {"ats": "lever", "group": ""},
        {"ats": ["lever", "lever"], "group": "x" * 5000},
    ],
    ids=["unknown ats", "no ats", "empty", "unknown group", "junk group", "blank group", "junk"],
)
def test_bad_create_input_gets_form_errors_and_creates_nothing(
    admin_client: Client, group: Group, second_group: Group, data: dict[str, Any]
) -> None:
    data = {"group": str(group.code), **data}

    response = admin_client.post(LIST, data)

    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not AtsIntegration.objects.exists()


def test_another_organizations_group_code_is_refused(
    admin_client: Client, group: Group, outsider_user: User
) -> None:
    globex_group = outsider_user.membership.organization.groups.get()

    response = admin_client.post(LIST, {"group": str(globex_group.code), "ats": "lever"})

    assert response.status_code == 400
    assert "Choose one of your organization" in response.content.decode()
    assert not AtsIntegration.objects.exists()


def test_the_select_ats_menu_is_built_from_the_ats_choices(
    admin_client: Client, group: Group
) -> None:
    page = admin_client.get(LIST).content.decode()

    for value, label in Ats.choices:
        assert f'<option value="{value}">{label}</option>' in page


def test_an_organization_without_groups_gets_an_explanation(admin_user: User) -> None:
    admin_user.membership.organization.groups.all().delete()
    client = Client()
    client.force_login(admin_user)

    response = client.get(LIST)

    assert response.status_code == 200
    assert "no groups yet" in response.content.decode()


# --- settings: bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"api_key": "k" * 513}, "too long"),
        ({"api_key": "lvr_TEST_abcd\nefgh12345678"}, "spaces or line breaks"),
        ({"api_key": "lvr_TEST_abcd efgh12345678"}, "spaces or line breaks"),
        ({"api_key": "abc"}, "too short"),
        ({"region": "apac"}, "Choose a region"),
        ({"region": "US"}, "Choose a region"),  # "" is "Detect from the key"
        ({"ats_user_id": "bob"}, "User ID looks like"),
        ({"ats_user_id": "x" * 300}, "at most 200"),
    ],
    ids=[
        "oversized key",
        "newline in key",
        "space in key",
        "short key",
        "unknown region",
        "a label, not a region",
        "bad user id",
        "huge user id",
    ],
)
def test_bad_settings_get_form_errors_and_change_nothing(
    admin_client: Client,
    keyed_integration: AtsIntegration,
    data: dict[str, str],
    error: str,
) -> None:
    before = AuditEntry.objects.count()
    post = {"api_key": "", "ats_user_id": "", "region": "eu", **data}

    response = admin_client.post(_url("settings", keyed_integration), post)

    assert response.status_code == 400
    body = response.content.decode()
    assert error in body
    assert "Nothing was saved" in body
    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == API_KEY
    assert keyed_integration.region == Region.US
    assert AuditEntry.objects.count() == before
    assert "efgh12345678" not in body  # a refused key is not echoed back


def test_saving_without_a_key_keeps_the_current_one(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    mark_valid(keyed_integration)

    response = admin_client.post(
        _url("settings", keyed_integration),
        {"api_key": "", "ats_user_id": "", "region": "us"},
        follow=True,
    )

    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == API_KEY
    assert "Saved." in response.content.decode()


def test_replacing_a_working_key_shows_both_while_the_new_one_is_checked(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    mark_valid(keyed_integration)

    response = admin_client.post(
        _url("settings", keyed_integration),
        {"api_key": OTHER_KEY, "ats_user_id": "", "region": "us"},
        follow=True,
    )

    body = response.content.decode()
    assert "New key ••••" + OTHER_KEY[-4:] in body
    assert "••••" + API_KEY[-4:] in body
    assert OTHER_KEY not in body


def test_the_settings_page_announces_the_finished_check(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    mark_valid(keyed_integration)

    body = admin_client.get(_url("settings", keyed_integration) + "?checking=1").content.decode()

    assert "Lever accepted the key ••••" + API_KEY[-4:] in body
    assert 'http-equiv="refresh"' not in body


def test_the_settings_page_announces_a_rejected_replacement(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    mark_valid(keyed_integration)
    KeyCheck.objects.create(
        integration=keyed_integration,
        subject=KeyCheck.Subject.PENDING,
        api_key_last4="Zz34",
        api_key_fingerprint="0" * 16,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome=KeyCheck.Outcome.INVALID,
        summary="Lever check failed: API key: Lever rejected the key (401).",
        checks=[{"code": "auth", "name": "API key", "ok": False, "message": "401"}],
    )

    body = admin_client.get(_url("settings", keyed_integration) + "?checking=1").content.decode()

    assert "Lever rejected the new key ••••Zz34" in body
    assert "Karat keeps using ••••" + API_KEY[-4:] in body


def test_the_settings_page_stops_refreshing_after_two_minutes(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    url = _url("settings", keyed_integration)

    early = admin_client.get(url + "?checking=3").content.decode()
    late = admin_client.get(url + "?checking=40").content.decode()
    junk = admin_client.get(url + "?checking=99999999999999999999")

    assert "?checking=4" in early
    assert 'http-equiv="refresh"' not in late
    assert "Still checking" in late
    assert junk.status_code == 200
    assert "?checking=1" in junk.content.decode()


def test_a_broker_outage_never_turns_a_save_into_an_error(
    admin_client: Client,
    integration: AtsIntegration,
    dead_broker: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            _url("settings", integration), {"api_key": API_KEY, "ats_user_id": "", "region": "us"}
        )

    assert len(callbacks) == 2  # the key check and the status recompute: both publishes fail
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.api_key == API_KEY
    assert integration.key_status == KeyStatus.CHECKING  # "Check again" can retry later
    assert "in on_commit()" in caplog.text  # the publish really failed, and was logged
    assert API_KEY not in caplog.text


def test_check_again_marks_the_key_checking(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    AtsIntegration.objects.filter(pk=keyed_integration.pk).update(key_status=KeyStatus.UNREACHABLE)

    response = admin_client.post(_url("check-key", keyed_integration), follow=True)

    keyed_integration.refresh_from_db()
    assert keyed_integration.key_status == KeyStatus.CHECKING
    assert "Checking the key with Lever" in response.content.decode()


def test_check_again_without_a_key_explains(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(_url("check-key", integration), follow=True)

    assert "no API key to check yet" in response.content.decode()


# --- enable, disable, delete -------------------------------------------------------------------


def test_disable_and_enable_from_the_integration_page(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(_url("set-enabled", integration), {"enabled": "0"}, follow=True)
    integration.refresh_from_db()
    assert integration.enabled is False
    assert "Integration disabled" in response.content.decode()
    assert "Enable integration" in response.content.decode()

    response = admin_client.post(_url("set-enabled", integration), {"enabled": "1"}, follow=True)
    integration.refresh_from_db()
    assert integration.enabled is True
    assert "Integration enabled." in response.content.decode()


def test_get_is_not_allowed_on_actions(admin_client: Client, integration: AtsIntegration) -> None:
    assert admin_client.get(_url("set-enabled", integration)).status_code == 405
    assert admin_client.get(_url("check-key", integration)).status_code == 405


def test_delete_asks_first_then_deletes_and_keeps_the_audit_log(
    admin_client: Client, integration: AtsIntegration
) -> None:
    confirm = admin_client.get(_url("delete", integration)).content.decode()
    assert "Delete the Lever integration for Engineering?" in confirm
    assert AtsIntegration.objects.exists()

    response = admin_client.post(_url("delete", integration), follow=True)

    assert response.redirect_chain[-1][0] == LIST
    assert "deleted. Its audit log is kept." in response.content.decode()
    assert not AtsIntegration.objects.exists()
    assert AuditEntry.objects.filter(
        integration_public_id=integration.public_id, action=AuditEntry.Action.DELETED
    ).exists()


def test_unknown_integration_ids_are_404(admin_client: Client, group: Group) -> None:
    missing = reverse("integrations:detail", kwargs={"public_id": uuid.uuid4()})

    assert admin_client.get(missing).status_code == 404
    assert admin_client.get("/settings/ats-integrations/not-a-uuid/").status_code == 404


def test_the_list_shows_each_integration_with_settings_and_status_links(
    admin_client: Client, integration: AtsIntegration, organization: Any
) -> None:
    other = IntegrationFactory(group=GroupFactory(organization=organization, name="Sales"))
    lifecycle.integration_disable(integration=other, actor=None)

    page = admin_client.get(LIST).content.decode()

    for item in (integration, other):
        assert str(item.public_id) in page
        assert _url("settings", item) in page
        assert _url("status", item) in page
    assert "Disabled" in page
    # The list shows the stored status: none computed yet, then the computed one.
    assert "Not checked yet" in page
    status.integration_status_compute(integration_id=integration.pk)
    page = admin_client.get(LIST).content.decode()
    assert "Not working" in page
    assert "No API key yet: add your Lever API key in Settings." in page


# --- finding your way (issue 10): one breadcrumb and one tab row on every integration page -----


def _integration_pages(integration: AtsIntegration) -> dict[str, tuple[str, str]]:
    """Every page of an integration: url and the breadcrumb's last part."""
    from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery, subscriptions_set
    from webhooks.services import intake

    subscriptions_set(integration, EXAMPLE_TOKENS)
    delivery = intake.delivery_record(
        integration_public_id=integration.public_id, body=make_delivery()
    )
    activity = reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    return {
        "overview": (_url("detail", integration), "Overview"),
        "settings": (_url("settings", integration), "Settings"),
        "status": (_url("status", integration), "Status"),
        "roles": (_url("roles", integration), "Roles"),
        "activity": (activity, "Activity"),
        "delivery": (
            reverse(
                "webhooks-console:delivery-detail",
                kwargs={"public_id": integration.public_id, "delivery_id": delivery.delivery_id},
            ),
            f"Delivery #{delivery.delivery_id}",
        ),
        "delete": (_url("delete", integration), "Delete"),
    }


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_every_integration_page_has_the_same_breadcrumb_and_tabs(
    admin_client: Client, integration: AtsIntegration
) -> None:
    group = integration.group.name
    activity = reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    tab_links = [
        _url("detail", integration),
        _url("settings", integration),
        _url("status", integration),
        _url("roles", integration),
        activity,
    ]
    for name, (url, last) in _integration_pages(integration).items():
        page = admin_client.get(url).content.decode()

        crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumb">(.*?)</nav>', page)
        assert crumbs is not None, name
        parts = ["Settings", "ATS Integrations", group]
        parts += ["Activity"] if name == "delivery" else []
        assert _text(crumbs.group(1)) == " \u203a ".join([*parts, last]), name
        assert f'href="{LIST}"' in crumbs.group(1), name
        assert f'href="{_url("detail", integration)}"' in crumbs.group(1), name

        tabs = re.search(r'<nav class="tabs" aria-label="Integration">(.*?)</nav>', page, re.S)
        assert tabs is not None, name
        assert re.findall(r'href="([^"]+)"', tabs.group(1)) == tab_links, name
        assert _text(tabs.group(1)).split() == [
            "Overview",
            "Settings",
            "Status",
            "Roles",
            "Activity",
        ]
        current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', tabs.group(1))
        expected_current = {
            "overview": ["Overview"],
            "settings": ["Settings"],
            "status": ["Status"],
            "roles": ["Roles"],
            "activity": ["Activity"],
            "delivery": ["Activity"],
            "delete": [],
        }[name]
        assert current == expected_current, name


# --- the Settings menu only for those who may open it ------------------------------------------


def test_the_settings_menu_shows_for_admins_only(
    admin_client: Client, recruiter_client: Client, group: Group
) -> None:
    admin_page = admin_client.get(reverse("hiring:candidate-list")).content.decode()
    recruiter_page = recruiter_client.get(reverse("hiring:candidate-list")).content.decode()

    assert f'href="{LIST}"' in admin_page
    assert "<summary" in admin_page
    assert f'href="{LIST}"' not in recruiter_page
    assert ">Settings</summary>" not in recruiter_page
    assert "{#" not in admin_page  # no template comment leaks into the page


# --- the create form offers only groups that can take an integration --------------------------


def test_the_create_form_offers_only_groups_without_a_lever_integration(
    admin_client: Client, group: Group, second_group: Group, organization: Any
) -> None:
    third = GroupFactory(organization=organization, name="Platform")
    IntegrationFactory(group=third)
    IntegrationFactory(group=group)

    page = admin_client.get(LIST).content.decode()

    form = page[page.index('id="create-heading"') :]
    # Only one group can take one: no drop-down, that group named, the others explained.
    assert f'type="hidden" name="group" value="{second_group.code}"' in form
    assert f"Group: <strong>{second_group.name}</strong>" in form
    assert f'value="{third.code}"' not in form
    assert "Platform already has a Lever integration." in form
    assert f"{group.name} already has a Lever integration." in form


def test_the_create_form_drop_down_lists_only_the_free_groups(
    admin_client: Client, group: Group, second_group: Group, organization: Any
) -> None:
    free = GroupFactory(organization=organization, name="Zeta")
    IntegrationFactory(group=group)

    page = admin_client.get(LIST).content.decode()

    select = re.search(r'<select name="group"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([^"]+)"', select.group(1))
    assert offered == [str(second_group.code), str(free.code)]
    assert f"{group.name} already has a Lever integration." in page


def test_when_every_group_has_one_the_create_form_says_so(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.get(LIST).content.decode()

    assert ">Create</button>" not in page
    assert "Every group already has an integration" in page
    assert f"{integration.group.name} already has a Lever integration." in page


def test_posting_a_group_that_has_one_still_explains(
    admin_client: Client, integration: AtsIntegration, second_group: Group
) -> None:
    response = admin_client.post(LIST, {"group": str(integration.group.code), "ats": "lever"})

    assert response.status_code == 400
    assert f"{integration.group.name} already has a Lever integration" in response.content.decode()
    assert AtsIntegration.objects.count() == 1


# --- region: the note on the form, and switching when the key works elsewhere -----------------


def test_the_settings_form_explains_how_to_pick_the_region(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.get(_url("settings", integration)).content.decode()

    help_text = re.search(r'<div class="help" id="id_region_helptext">(.*?)</div>', page, re.S)
    assert help_text is not None
    assert "hire.lever.co" in help_text.group(1)
    assert "hire.eu.lever.co" in help_text.group(1)


def _region_check(integration: AtsIntegration, suggested: str) -> None:
    integration.refresh_from_db()
    KeyCheck.objects.filter(integration=integration).update(
        finished_at=timezone.now(),
        outcome=KeyCheck.Outcome.INVALID,
        summary="Lever check failed.",
        checks=[
            {"code": "auth", "name": "API key", "ok": False, "message": "401"},
            {
                "code": "region",
                "name": "Region",
                "ok": False,
                "message": "api.lever.co (US) does not accept this key, but api.eu.lever.co (EU) "
                "does: your Lever account is in the EU region. Switch the region to EU.",
                "suggested_region": suggested,
            },
        ],
    )
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=AtsIntegration.KeyStatus.INVALID
    )


def test_the_settings_page_offers_to_switch_to_the_region_that_accepted_the_key(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    _region_check(keyed_integration, "eu")

    page = admin_client.get(_url("settings", keyed_integration)).content.decode()

    assert "Lever accepted this key in the EU region" in page
    form = re.search(
        rf'<form method="post" action="{_url("switch-region", keyed_integration)}".*?</form>',
        page,
        re.S,
    )
    assert form is not None
    assert 'name="region" value="eu"' in form.group(0)
    assert ">Switch to EU</button>" in form.group(0)


def test_no_switch_is_offered_without_a_suggested_region(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    _region_check(keyed_integration, "")

    page = admin_client.get(_url("settings", keyed_integration)).content.decode()

    assert "Switch to" not in page


def test_switch_region_saves_the_region_and_checks_the_key_again(
    admin_client: Client, keyed_integration: AtsIntegration, admin_user: User
) -> None:
    _region_check(keyed_integration, "eu")
    checks_before = KeyCheck.objects.count()

    response = admin_client.post(_url("switch-region", keyed_integration), {"region": "eu"})

    assert response.status_code == 302
    assert response["Location"] == _url("settings", keyed_integration) + "?checking=1"
    keyed_integration.refresh_from_db()
    assert keyed_integration.region == Region.EU
    assert keyed_integration.api_key == API_KEY  # the key stays
    assert KeyCheck.objects.count() == checks_before + 1
    changed = AuditEntry.objects.filter(action=AuditEntry.Action.SETTINGS_CHANGED).get()
    assert changed.detail["changes"]["region"] == ["us", "eu"]
    assert changed.actor == admin_user


@pytest.mark.parametrize("region", ["", "mars"])
def test_switch_region_refuses_an_unknown_region(
    admin_client: Client, keyed_integration: AtsIntegration, region: str
) -> None:
    response = admin_client.post(_url("switch-region", keyed_integration), {"region": region})

    assert response.status_code == 302
    keyed_integration.refresh_from_db()
    assert keyed_integration.region == Region.US


def test_switch_region_is_for_admins_and_posts_only(
    admin_client: Client, recruiter_client: Client, keyed_integration: AtsIntegration
) -> None:
    url = _url("switch-region", keyed_integration)

    assert recruiter_client.post(url, {"region": "eu"}).status_code == 403
    assert admin_client.get(url).status_code == 405
    keyed_integration.refresh_from_db()
    assert keyed_integration.region == Region.US


# --- issue #10: old key outcomes never outlive the key they were about ---------------------------


def _rejected_mentions(body: str, last4: str) -> list[str]:
    """Every place the page speaks about ••••last4 being rejected (banner or block)."""
    return [
        line
        for line in body.splitlines()
        if f"••••{last4}" in line and ("rejected" in line.lower() or "Rejected" in line)
    ]


@pytest.mark.parametrize(
    "start", ["working key", "no key"], ids=["A replaces a working key", "A is the first key"]
)
def test_a_rejected_key_is_forgotten_once_a_valid_key_is_saved_and_checked(
    admin_client: Client, integration: AtsIntegration, lever_sandbox: Any, start: str
) -> None:
    from integrations import tasks
    from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS

    settings_url = _url("settings", integration)

    def save(key: str) -> str:
        admin_client.post(settings_url, {"api_key": key, "ats_user_id": "", "region": "us"})
        tasks.api_key_validate(integration.pk)
        return admin_client.get(settings_url + "?checking=1").content.decode()

    if start == "working key":
        save(DEMO_API_KEY)
    key_a = API_KEY  # unknown to the sandbox: rejected
    key_b = lever_sandbox.create_api_key(list(KARAT_PERMISSIONS), label="B")

    after_a = save(key_a)
    # A's rejection is said once it happens: as a rejected replacement, or as the key in use.
    assert _rejected_mentions(after_a, key_a[-4:]) or (
        f"••••{key_a[-4:]}" in after_a and 'badge-invalid">Invalid' in after_a
    )
    after_b = save(key_b)
    admin_client.post(_url("check-key", integration))
    tasks.api_key_validate(integration.pk)
    after_check = admin_client.get(settings_url + "?checking=1").content.decode()

    integration.refresh_from_db()
    assert integration.api_key_last4 == key_b[-4:]
    assert integration.key_status == KeyStatus.VALID
    for body in (after_b, after_check):
        assert f"••••{key_a[-4:]}" not in body  # nothing on the page is about A any more
        assert "badge-invalid" not in body
        assert "Rejected key" not in body
        assert "msg-error" not in body
    assert f"Lever accepted the key ••••{key_b[-4:]}" in after_check


def test_check_again_after_a_rejected_replacement_speaks_only_about_the_key_in_use(
    admin_client: Client, integration: AtsIntegration, lever_sandbox: Any
) -> None:
    # The admin tried key A (rejected), pasted the working key again (nothing to change) and
    # pressed "Check again": the new check is about the key in use; A is history.
    from integrations import tasks
    from integrations.lever.sandbox import DEMO_API_KEY

    settings_url = _url("settings", integration)
    for key in (DEMO_API_KEY, API_KEY, DEMO_API_KEY):
        admin_client.post(settings_url, {"api_key": key, "ats_user_id": "", "region": "us"})
        tasks.api_key_validate(integration.pk)
    still_shown = admin_client.get(settings_url).content.decode()
    assert "Rejected key ••••" + API_KEY[-4:] in still_shown  # no new check yet

    admin_client.post(_url("check-key", integration))
    tasks.api_key_validate(integration.pk)
    body = admin_client.get(settings_url + "?checking=1").content.decode()

    assert _rejected_mentions(body, API_KEY[-4:]) == []
    assert "msg-error" not in body
    assert "Lever accepted the key ••••" + DEMO_API_KEY[-4:] in body


def test_check_again_with_a_pending_key_reports_that_keys_rejection(
    admin_client: Client, integration: AtsIntegration, lever_sandbox: Any
) -> None:
    # "Check again" while a replacement waits checks both; the replacement's verdict is the
    # latest word, so it is announced.
    from integrations import tasks
    from integrations.lever.sandbox import DEMO_API_KEY

    settings_url = _url("settings", integration)
    admin_client.post(settings_url, {"api_key": DEMO_API_KEY, "ats_user_id": "", "region": "us"})
    tasks.api_key_validate(integration.pk)
    admin_client.post(settings_url, {"api_key": API_KEY, "ats_user_id": "", "region": "us"})

    admin_client.post(_url("check-key", integration))
    tasks.api_key_validate(integration.pk)
    body = admin_client.get(settings_url + "?checking=1").content.decode()

    assert "Lever rejected the new key ••••" + API_KEY[-4:] in body
    assert "Rejected key ••••" + API_KEY[-4:] in body


def test_the_settings_page_says_key_in_use_and_its_status_once(
    admin_client: Client, integration: AtsIntegration, lever_sandbox: Any
) -> None:
    from integrations import tasks
    from integrations.lever.sandbox import DEMO_API_KEY

    settings_url = _url("settings", integration)
    admin_client.post(settings_url, {"api_key": DEMO_API_KEY, "ats_user_id": "", "region": "us"})
    tasks.api_key_validate(integration.pk)

    body = admin_client.get(settings_url).content.decode()

    assert body.count("Key in use") == 1
    assert len(re.findall(r'<span class="badge badge-valid">\s*Valid\s*</span>', body)) == 1
    # The check's results are still there (summary and each line), just not a second badge.
    assert "Lever accepted the key and it has every permission Karat reads with." in body
    assert "Read postings" in body
    status = admin_client.get(_url("status", integration)).content.decode()
    assert len(re.findall(r'<span class="badge badge-valid">\s*Valid\s*</span>', status)) == 1
