"""The Lever adapter's feedback calls against documented payloads (``responses``): request
shapes, and the defensive readings where Lever's answers are UNCONFIRMED."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from integrations import ats
from integrations.feedback.services import FIELDS, template_spec

BASE = "https://api.lever.co/v1"
OPP = "0f3c7a36-8b1c-4c3a-9d2e-1a2b3c4d5e6f"
USER = "8d49b010-cc6a-4f40-ace5-e86061c677ed"
SPEC = template_spec(marker="karat-template-abc")
adapter = ats.adapter_for("lever", ats.FeedbackForms)


@pytest.fixture
def account(settings: Any) -> ats.AtsAccount:
    settings.LEVER_API_BASE_URL = ""
    settings.REDIS_URL = ""
    return ats.AtsAccount(
        integration_id=1,
        public_id="p",
        api_key="key-not-a-secret-1234",
        region="us",
        acting_user_id="",
        rate_per_second=100.0,
        burst=100,
    )


def _template_json(options: Any) -> dict[str, Any]:
    return {
        "id": "tpl-1",
        "text": "Karat technical interview",
        "instructions": "… (karat-template-abc)",
        "fields": [
            {
                "id": "f-score",
                "type": "score-system",
                "text": "Karat recommendation",
                "options": options,
            },
            {"id": "f-sum", "type": "textarea", "text": "Summary"},
            {"id": "f-rep", "type": "text", "text": "Karat report"},
        ],
    }


@responses.activate
def test_the_template_is_created_with_lever_field_types_and_its_options_are_read_either_way(
    account: ats.AtsAccount,
) -> None:
    responses.post(
        f"{BASE}/feedback_templates",
        json={
            "data": _template_json(
                ["4 - Strong Hire", "3 - Hire", "2 - No Hire", "1 - Strong No Hire"]
            )
        },
        status=201,
    )
    responses.get(
        f"{BASE}/feedback_templates",
        json={"data": [_template_json([{"text": "4 - Strong Hire"}])], "hasNext": False},
    )

    created = adapter.feedback_template_create(account, spec=SPEC, profile=ats.WORKER)
    found = adapter.feedback_template_find(account, spec=SPEC, profile=ats.WORKER)

    body = json.loads(responses.calls[0].request.body or b"{}")
    assert [f["type"] for f in body["fields"]] == ["score-system", "textarea", "text"]
    assert body["instructions"].endswith("(karat-template-abc)")
    assert created.field_ids == {
        "recommendation": "f-score",
        "summary": "f-sum",
        "report_url": "f-rep",
    }
    assert created.score_options[1] == "3 - Hire"
    assert found is not None
    assert found.score_options == ("4 - Strong Hire",)
    assert len(FIELDS) == 3


@responses.activate
def test_a_form_is_posted_as_the_user_and_a_404_on_a_readable_opportunity_means_the_template_is_gone(
    account: ats.AtsAccount,
) -> None:
    template = ats.FeedbackTemplate("tpl-1", {"recommendation": "f-score", "summary": "f-sum"})
    responses.post(
        f"{BASE}/opportunities/{OPP}/feedback", json={"data": {"id": "fb-1"}}, status=201
    )
    responses.post(
        f"{BASE}/opportunities/{OPP}/feedback",
        json={"code": "ResourceNotFound", "message": "not found"},
        status=404,
    )
    responses.get(f"{BASE}/opportunities/{OPP}", json={"data": {"id": OPP}})

    form_id = adapter.feedback_add(
        account,
        OPP,
        template=template,
        values={"recommendation": "3 - Hire", "summary": "x"},
        acting_user_id=USER,
        profile=ats.WORKER,
    )
    with pytest.raises(ats.AtsFeedbackTemplateMissing):
        adapter.feedback_add(
            account,
            OPP,
            template=template,
            values={"recommendation": "3 - Hire"},
            acting_user_id=USER,
            profile=ats.WORKER,
        )

    first = responses.calls[0].request
    assert form_id == "fb-1"
    assert f"perform_as={USER}" in (first.url or "")
    assert json.loads(first.body or b"{}") == {
        "baseTemplateId": "tpl-1",
        "fieldValues": [{"id": "f-score", "value": "3 - Hire"}, {"id": "f-sum", "value": "x"}],
    }


@responses.activate
def test_a_404_on_a_deleted_opportunity_is_the_record_and_deleting_a_gone_form_is_done(
    account: ats.AtsAccount,
) -> None:
    template = ats.FeedbackTemplate("tpl-1", {"recommendation": "f-score"})
    gone = {"code": "ResourceNotFound", "message": "opportunities was not found"}
    responses.put(f"{BASE}/opportunities/{OPP}/feedback/fb-1", json=gone, status=404)
    responses.delete(f"{BASE}/opportunities/{OPP}/feedback/fb-2", json=gone, status=404)
    responses.get(f"{BASE}/opportunities/{OPP}", json=gone, status=404)

    with pytest.raises(ats.AtsRecordNotFound):
        adapter.feedback_update(
            account,
            OPP,
            "fb-1",
            template=template,
            values={"recommendation": "3 - Hire"},
            acting_user_id=USER,
            profile=ats.INTERACTIVE,
        )
    responses.replace(responses.GET, f"{BASE}/opportunities/{OPP}", json={"data": {"id": OPP}})
    adapter.feedback_delete(account, OPP, "fb-2", acting_user_id=USER, profile=ats.INTERACTIVE)


@responses.activate
def test_the_key_check_probes_the_template_read_and_reports_the_writes_as_not_checked(
    account: ats.AtsAccount,
) -> None:
    responses.get(
        f"{BASE}/feedback_templates",
        json={"code": "ForbiddenError", "message": "no permission"},
        status=403,
    )

    lines = {line.code: line for line in adapter.feedback_key_check(account, profile=ats.KEY_CHECK)}

    assert lines["read_feedback_templates"].ok is False
    assert lines["write_feedback"].ok is None
    assert lines["write_feedback_templates"].ok is None
