"""The API's contract: its OpenAPI schema is valid, every operation answers as the schema says
(schemathesis, in-process over the WSGI app, reads and writes, a bounded number of examples),
and a client generated from the schema makes a real call."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from pytest_django.live_server_helper import LiveServer
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from integrations.models import AtsIntegration, AtsPosting, OpportunityLink
from karatlever.accounts.models import Group, User
from karatlever.accounts.tokens import api_token_create
from karatlever.hiring import services
from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db

# The checks that make the schema true: no 5xx, every status, content type and body as
# declared, and input the schema calls invalid refused.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Examples per operation: enough to reach every branch of the inputs, and the whole run stays
# well under a minute on two cores.
EXAMPLES = 25


def _schema() -> dict[str, Any]:
    """The schema /api/schema/ serves, as JSON."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    rendered: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    return rendered


SCHEMA = schemathesis.openapi.from_dict(_schema())
SCHEMA.app = get_wsgi_application()


def test_the_schema_is_valid_openapi(client: Any) -> None:
    served = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    validate(served)  # raises with the first error


def test_every_error_answer_has_the_one_error_shape() -> None:
    schema = _schema()
    error = schema["components"]["schemas"]["ErrorResponse"]

    assert error["required"] == ["error"]
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            for code in {"400", "401", "403", "404", "409"} & set(responses):
                content = responses[code]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)


@pytest.fixture
def _same_connection() -> Iterator[None]:
    """Requests through the WSGI app use the test's database connection (in its transaction),
    as Django's test client does: the handler would close it after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(
    _same_connection: None,
    settings: Any,
    group: Group,
    second_group: Group,
    admin_user: User,
    integration: AtsIntegration,
) -> dict[str, Any]:
    """One of each record the API names, so generated requests find real ones too; the
    integration has no API key and Lever is a closed port, so nothing leaves the machine."""
    settings.LEVER_API_BASE_URL = "http://127.0.0.1:9/v1"
    role = RoleFactory(group=group, title="Backend Engineer")
    candidacy = services.candidacy_create(
        role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
    )
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id="0a1b2c3d-0000-4000-8000-00000000abcd",
    )
    AtsPosting.objects.create(
        integration=integration, posting_id="p-1", title="Backend Engineer", state="published"
    )
    return {
        "token": api_token_create(user=admin_user)[1],
        "other_token": api_token_create(user=admin_user, name="other")[0],
        "second_group": str(second_group.code),
        "candidacy": candidacy,
        "integration": integration,
        "role": role,
    }


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is never by chance
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_the_schema_says(case: Any, world: dict[str, Any]) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {world['token']}"}, checks=CHECKS)


def _real_path_parameters(world: dict[str, Any]) -> dict[str, str]:
    return {
        "code": str(world["candidacy"].code),
        "public_id": str(world["integration"].public_id),
        "posting_id": "p-1",
        "ats": "lever",
    }


def test_every_operation_on_real_records_answers_as_the_schema_says(
    world: dict[str, Any],
) -> None:
    """The generated ids above are mostly unknown (404): here each operation reads or changes
    the real records once, so their 2xx answers are checked against the schema too."""
    known = _real_path_parameters(world)
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/candidacies/{code}/events/"): {"type": "cancelled", "event_id": "e1"},
        ("POST", "/api/v1/integrations/"): {"group": world["second_group"], "ats": "lever"},
        ("PATCH", "/api/v1/integrations/{public_id}/"): {"enabled": False},
        ("PUT", "/api/v1/integrations/{public_id}/role-mappings/{posting_id}/"): {
            "role": str(world["role"].code)
        },
        ("POST", "/api/v1/invitations/"): {
            "group": str(world["role"].group.code),
            "lever_urls": ["", "https://hire.lever.co/candidates/x", "Jane Doe"],
        },
        ("POST", "/api/v1/tokens/"): {"name": "x"},
        ("POST", "/webhooks/{ats}/{public_id}/"): {"event": "candidateStageChange"},
    }
    # Deletes after the rest (they remove what the others read), revoking every token last.
    operations = sorted(
        (result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)),
        key=lambda op: (
            op.path == "/api/v1/tokens/revoke-all/",
            op.method.upper() == "DELETE",
            op.path,
            op.method,
        ),
    )

    for operation in operations:
        parameters = {p.name: known[p.name] for p in operation.path_parameters}
        if operation.path == "/api/v1/tokens/{code}/":
            parameters["code"] = str(world["other_token"].code)
        kwargs: dict[str, Any] = {"path_parameters": parameters}
        body = bodies.get((operation.method.upper(), operation.path))
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)

        response = case.call_and_validate(
            headers={"Authorization": f"Token {world['token']}"}, checks=CHECKS[:-1]
        )

        assert response.status_code < 500, (operation.method, operation.path)


# --- a client generated from the schema -------------------------------------------------------


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``openapi-python-client generate`` over the schema, importable as ``karatlever_client``."""
    tool = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert tool, "openapi-python-client is missing: it is a dev dependency (pyproject.toml)"
    folder = tmp_path_factory.mktemp("client")
    schema_file = folder / "schema.json"
    schema_file.write_text(json.dumps(_schema()))
    config = folder / "config.json"
    config.write_text(json.dumps({"project_name_override": "karatlever_client", "post_hooks": []}))
    subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [
            tool,
            "generate",
            "--path",
            str(schema_file),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(folder / "karatlever_client"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("karatlever_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "karatlever_client"]:
            del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_lists_candidacies_and_role_mappings(
    generated_client: Any, live_server: LiveServer, world: dict[str, Any]
) -> None:
    client = generated_client.AuthenticatedClient(
        base_url=live_server.url, token=world["token"], prefix="Token"
    )
    candidacies = importlib.import_module("karatlever_client.api.candidacies.candidacies_list")
    mappings = importlib.import_module("karatlever_client.api.role_matching.role_mappings_list")

    page = candidacies.sync(client=client)
    postings = mappings.sync(client=client, public_id=world["integration"].public_id)

    assert [c.id for c in page.results] == [world["candidacy"].code]
    row = page.results[0]
    assert row.recommendation is None
    assert row.report_url is None
    assert row.ats_link.opportunity_id == "0a1b2c3d-0000-4000-8000-00000000abcd"
    assert [p.posting_id for p in postings.results] == ["p-1"]
