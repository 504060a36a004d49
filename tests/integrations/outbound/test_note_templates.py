"""Admin-written note templates: only the offered variables and an allow-list of tags and
filters, checked against sample data on Save (any error is a form error), refused in the
preview, and never able to fail the milestone or the invite whose note they write."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import InviteCode, invite_preview
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.services import notes
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Milestone, Role
from tests.brokers import broker
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db

Kind = OutboundUpdate.Kind

# Issue 19 item 6: three nested loops over a 150-character string (3.4 million iterations).
NESTED_LOOPS = (
    "{% for a in summary %}{% for b in summary %}{% for c in summary %}.{% endfor %}"
    "{% endfor %}{% endfor %}"
)
# Accepted on Save before, then every milestone and invite of the integration answered 500.
FAIL_AT_SEND = ["{% include 'x' %}", "{% url 'nope' %}", "{{ candidate_name|wordwrap:0 }}"]

REFUSED = [
    (NESTED_LOOPS, "{% for %} is not allowed"),
    ("{% include 'x' %}", "{% include %} is not allowed"),
    ("{% url 'nope' %}", "{% url %} is not allowed"),
    ("{{ candidate_name|wordwrap:0 }}", "wordwrap"),
    ("{% load static %}", "load"),
    ("{% extends 'base.html' %}", "extends"),
    ("{% now 'Y' %}", "now"),
    ("{% debug %}", "debug"),
    ("{% csrf_token %}", "csrf_token"),
    ("{% widthratio 1 2 3 %}", "widthratio"),
    ("{% templatetag openblock %}", "templatetag"),
    ("{% with x=role %}{{ x }}{% endwith %}", "with"),
    ("{{ role|ljust:'100000' }}", "ljust"),
    ("Hi {{ candidate_nmae }}", "unknown variable candidate_nmae"),
    ("{% if secret %}x{% endif %}", "unknown variable secret"),
    ("{{ role|default:nope }}", "unknown variable nope"),
    ("{{ role.upper }}", "role.upper"),
    ("{{ candidate_name.__class__ }}", "candidate_name.__class__"),
    ("{% if %}", "Template error"),
    ("{% if role %}" * 11 + "x" + "{% endif %}" * 11, "blocks nest at most 10 deep"),
]


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    with broker("memory://"):
        yield


def _save(client: Client, integration: AtsIntegration, **templates: str) -> Any:
    data = {
        "enabled": "on",
        "notes_enabled": "on",
        "tags_enabled": "on",
        "tag_prefix": "Karat",
        "perform_as": "integration_user",
        "perform_as_email": "",
    } | {f"template_{m}": t for m, t in templates.items()}
    return client.post(
        reverse("outbound:settings-save", kwargs={"public_id": integration.public_id}),
        {f"outbound-{k}": v for k, v in data.items()},
    )


def _bad_template_stored(integration: AtsIntegration, milestone: str, template: str) -> None:
    """As if saved before templates were checked: straight into the row."""
    OutboundSettings.objects.update_or_create(
        integration=integration, defaults={"note_templates": {milestone: template}}
    )


# --- Save ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "message"), REFUSED, ids=[r[1] for r in REFUSED])
def test_save_refuses_a_template_outside_the_language_with_a_form_error(
    admin_client: Client, integration: AtsIntegration, template: str, message: str
) -> None:
    response = _save(admin_client, integration, cancelled=template)

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_outbound-template_cancelled_error"' in body
    assert message in body
    assert not OutboundSettings.objects.filter(note_templates__has_key="cancelled").exists()
    assert not AuditEntry.objects.exists()


def test_save_names_the_variables_that_are_offered(
    admin_client: Client, integration: AtsIntegration
) -> None:
    body = _save(admin_client, integration, invited="{{ name }}").content.decode()

    assert "unknown variable name; available: candidate_name, candidate_email, role" in body


def test_save_accepts_the_language_it_documents(
    admin_client: Client, integration: AtsIntegration
) -> None:
    template = (
        "{# a comment #}{% comment %}also{% endcomment %}"
        "{{ candidate_name|upper }} / {{ role|lower|title|capfirst }}"
        "{% if recommendation == 'Strong yes' %} ++{% elif summary %} {{ summary|truncatechars:40 }}"
        "{% else %} {{ report_url|default:'no report' }}{% endif %}"
        " {{ summary|truncatewords:'x' }} {{ summary|truncatechars:-3 }}"
        " {{ role|truncatechars:None }}" + "{% if role %}" * 10 + "{% endif %}" * 10
    )

    response = _save(admin_client, integration, results_ready=template)

    assert response.status_code == 302
    saved = OutboundSettings.objects.get(integration=integration)
    assert saved.note_templates == {"results_ready": template}


# --- Preview ------------------------------------------------------------------------------------


def test_the_preview_refuses_the_nested_loops_template(
    admin_client: Client, integration: AtsIntegration
) -> None:
    candidacy = CandidacyFactory(
        role=RoleFactory(group=integration.group), results_summary="y" * 150
    )

    response = admin_client.post(
        reverse("outbound:preview", kwargs={"public_id": integration.public_id}),
        {
            "candidacy": str(candidacy.code),
            "milestone": "results_ready",
            "outbound-template_results_ready": NESTED_LOOPS,
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "{% for %} is not allowed" in body
    assert "." * 100 not in body


# --- send time: a bad template stored earlier ---------------------------------------------------


@pytest.mark.parametrize("template", FAIL_AT_SEND)
def test_a_milestone_api_call_succeeds_with_a_bad_stored_template(
    admin_user: User,
    admin_client: Client,
    token_client: Callable[[User], Client],
    integration: AtsIntegration,
    template: str,
) -> None:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group, title="Backend"))
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id="opp-1"
    )
    _bad_template_stored(integration, Milestone.CANCELLED, template)

    response = token_client(admin_user).post(
        f"/api/v1/candidacies/{candidacy.code}/events/",
        data=json.dumps({"type": "cancelled", "event_id": "evt-1"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    candidacy.refresh_from_db()
    assert candidacy.karat_status == "cancelled"
    note = OutboundUpdate.objects.get(candidacy=candidacy, kind=Kind.NOTE)
    assert note.payload["text"].startswith(
        f"The Karat interview of {candidacy.candidate_name} for Backend was cancelled."
    )
    assert "default note was used" in note.payload["template_error"]
    assert OutboundUpdate.objects.filter(candidacy=candidacy, kind=Kind.TAG).exists()
    activity = admin_client.get(
        reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    )
    assert "The note template failed" in activity.content.decode()


@pytest.mark.parametrize("template", FAIL_AT_SEND)
def test_an_invite_succeeds_with_a_bad_stored_template(
    own_cache_and_broker: None,
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    admin_user: User,
    template: str,
) -> None:
    _bad_template_stored(lever_integration, Milestone.INVITED, template)
    preview = invite_preview(
        group=lever_integration.group, integration=lever_integration, url=url_of(invitable[0])
    )
    assert preview.role_id is not None
    role = Role.objects.get(pk=preview.role_id)

    outcome = invite_create(
        integration=lever_integration, preview=preview, role=role, actor=admin_user
    )

    assert outcome.code == InviteCode.INVITED
    candidacy = outcome.candidacy
    assert isinstance(candidacy, Candidacy)
    note = OutboundUpdate.objects.get(candidacy=candidacy, kind=Kind.NOTE)
    assert note.payload["text"].startswith(f"Karat invited {candidacy.candidate_name}")
    assert "default note was used" in note.payload["template_error"]


# --- the language -------------------------------------------------------------------------------


def test_every_default_template_passes_the_check() -> None:
    for milestone in Milestone.values:
        notes.template_check(notes.DEFAULT_TEMPLATES[milestone], milestone=milestone)


def test_a_note_longer_than_the_limit_is_cut_with_a_marker() -> None:
    context = dict.fromkeys(notes.NOTE_CONTEXT, "") | {"summary": "s" * 3000}
    template = "{{ summary }}" * 300  # 3,900 characters of template, 900,000 of output

    text = notes.note_render(template=template, context=context)

    assert len(text) == notes.NOTE_MAX_LENGTH
    assert text.endswith(notes.NOTE_CUT_MARKER)


def test_a_template_over_the_length_limit_is_refused() -> None:
    with pytest.raises(notes.OutboundError, match="at most 5000"):
        notes.template_check("x" * (notes.TEMPLATE_MAX_LENGTH + 1))
