"""The region is detected from the API key (the region whose Lever API accepts it) unless an
admin chooses one; the status fails a region that refuses the account's own candidate links
(issue 20, item 5). Against the local sandbox, whose account is in the sandbox region."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations import tasks
from integrations.connection.services import keys, lifecycle
from integrations.features import INVITE_FROM_LEVER_URL
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, AuditEntry, KeyCheck, RegionSource
from integrations.status import services as status
from karatlever.accounts.models import Group, User
from tests.integrations.conftest import API_KEY

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus


def _new_integration(group: Group, admin_user: User, *, key: str, region: str) -> AtsIntegration:
    """Create the integration and save its key and region as the settings page does, then
    run the worker's key check."""
    integration = lifecycle.integration_create(group=group, ats="lever", actor=admin_user)
    assert integration.region_source == RegionSource.DETECT
    lifecycle.integration_settings_update(
        integration=integration, actor=admin_user, api_key=key, ats_user_id="", region=region
    )
    return _checked(integration)


def _checked(integration: AtsIntegration) -> AtsIntegration:
    tasks.api_key_validate(integration.pk)  # what the worker runs
    integration.refresh_from_db()
    return integration


def _lines(integration: AtsIntegration) -> dict[str, dict[str, Any]]:
    row = KeyCheck.objects.filter(integration=integration).order_by("-id").first()
    assert row is not None
    return {line["code"]: line for line in row.checks}


def _invite_feature(integration: AtsIntegration) -> dict[str, Any]:
    snapshot = status.integration_status_compute(integration_id=integration.pk)
    assert snapshot is not None
    return next(f for f in snapshot.features if f["key"] == INVITE_FROM_LEVER_URL)


def _invite_checks(feature: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in feature["checks"]}


# --- detected from the key --------------------------------------------------------------------


def test_a_new_integration_with_a_sandbox_key_gets_the_sandbox_region_detected(
    regional_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    # The form's default region is "Detect from the key".
    integration = _new_integration(
        group, admin_user, key=DEMO_API_KEY, region=lifecycle.REGION_DETECT
    )

    assert integration.key_status == KeyStatus.VALID
    assert (integration.region, integration.region_source) == ("sandbox", RegionSource.DETECTED)
    region = _lines(integration)["region"]
    assert region["ok"] is True
    assert region["message"].startswith("Detected from the key")
    assert "your Lever account is in the sandbox region" in region["message"]
    entry = AuditEntry.objects.get(summary__startswith="Region detected")
    assert entry.summary == "Region detected from the API key: Sandbox"
    assert entry.actor is None
    assert entry.detail["changes"]["region"] == ["us", "sandbox"]
    # Every later call goes to the sandbox region's API, which opens the account's links.
    feature = _invite_feature(integration)
    assert _invite_checks(feature)["links_region"]["level"] == "ok"
    assert (feature["level"], feature["label"]) == ("ok", "Working")


def test_a_key_no_region_accepts_is_rejected_and_says_so(
    regional_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    integration = _new_integration(group, admin_user, key=API_KEY, region=lifecycle.REGION_DETECT)

    assert integration.key_status == KeyStatus.INVALID
    assert integration.region_source == RegionSource.DETECT  # nothing detected
    region = _lines(integration)["region"]
    assert region["ok"] is False
    assert region["message"].startswith("No Lever region accepts this key")
    assert region["message"].count("refused") == 1
    assert all(name in region["message"] for name in ("(US)", "(EU)", "(SANDBOX)"))
    assert region["suggested_region"] == ""


def test_an_admin_s_explicit_region_is_kept_and_the_detected_one_only_suggested(
    regional_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    integration = _new_integration(group, admin_user, key=DEMO_API_KEY, region="us")

    assert (integration.region, integration.region_source) == ("us", RegionSource.CHOSEN)
    assert integration.key_status == KeyStatus.INVALID  # US does not know a sandbox key
    assert _lines(integration)["region"]["suggested_region"] == "sandbox"

    keys.api_key_check_request(integration=integration, actor=admin_user)  # "Check again"
    integration = _checked(integration)

    assert (integration.region, integration.region_source) == ("us", RegionSource.CHOSEN)
    assert not AuditEntry.objects.filter(summary__startswith="Region detected").exists()


def test_going_back_to_detect_from_the_key_detects_the_region_again(
    regional_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    integration = _new_integration(group, admin_user, key=DEMO_API_KEY, region="eu")

    lifecycle.integration_settings_update(
        integration=integration,
        actor=admin_user,
        api_key=None,
        ats_user_id="",
        region=lifecycle.REGION_DETECT,
    )
    integration = _checked(integration)

    assert integration.key_status == KeyStatus.VALID
    assert (integration.region, integration.region_source) == ("sandbox", RegionSource.DETECTED)


def test_the_settings_page_detects_by_default_and_the_pages_say_how_the_region_was_set(
    regional_sandbox: SandboxServer, group: Group, admin_user: User, admin_client: Client
) -> None:
    integration = lifecycle.integration_create(group=group, ats="lever", actor=admin_user)
    settings_url = reverse("integrations:settings", args=[integration.public_id])
    form = admin_client.get(settings_url).content.decode()
    assert re.search(r'<option value="" selected>Detect from the key \(recommended\)', form)

    admin_client.post(settings_url, {"api_key": DEMO_API_KEY, "ats_user_id": "", "region": ""})
    integration = _checked(integration)

    assert (integration.region, integration.region_source) == ("sandbox", RegionSource.DETECTED)
    for page in ("integrations:detail", "integrations:settings", "integrations:status"):
        body = admin_client.get(reverse(page, args=[integration.public_id])).content.decode()
        assert "Sandbox (api.sandbox.lever.co)" in body, page
        assert "(detected from the API key)" in body, page
    # Choosing a region explicitly is an override the pages name as such.
    admin_client.post(settings_url, {"api_key": "", "ats_user_id": "", "region": "sandbox"})
    integration.refresh_from_db()
    assert integration.region_source == RegionSource.CHOSEN
    detail = admin_client.get(reverse("integrations:detail", args=[integration.public_id]))
    assert "(chosen by an admin)" in detail.content.decode()
    form = admin_client.get(settings_url).content.decode()
    assert re.search(r'<option value="sandbox" selected>', form)


# --- the status: a region that refuses the account's own links --------------------------------


@pytest.fixture
def one_root_sandbox(settings: Any) -> Any:
    """The sandbox account in the sandbox region behind one API root for every region (as
    `make run` had it): every region "accepts" the key, so only the links tell."""
    with SandboxServer(port=0, rate_per_second=None, region="sandbox") as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


def test_a_region_that_refuses_the_integration_s_own_links_fails_the_status(
    one_root_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    # Issue 20: a sandbox key, the US region; the key check passes, every link is refused.
    integration = _new_integration(group, admin_user, key=DEMO_API_KEY, region="us")
    assert integration.key_status == KeyStatus.VALID

    feature = _invite_feature(integration)

    assert (feature["level"], feature["label"]) == ("bad", "Not working")
    assert "region" in feature["summary"]
    check = _invite_checks(feature)["links_region"]
    assert check["name"] == "Candidate links of this region"
    assert check["level"] == "bad"
    assert "hire.sandbox.lever.co (Sandbox)" in check["message"]
    assert "the integration's region is US" in check["message"]
    assert check["fix_url"] == reverse("integrations:settings", args=[integration.public_id])


def test_the_links_check_passes_once_the_region_is_the_account_s(
    one_root_sandbox: SandboxServer, group: Group, admin_user: User
) -> None:
    integration = _new_integration(group, admin_user, key=DEMO_API_KEY, region="sandbox")

    feature = _invite_feature(integration)

    assert _invite_checks(feature)["links_region"]["level"] == "ok"
    assert (feature["level"], feature["label"]) == ("ok", "Working")
