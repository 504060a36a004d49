"""The client's query parameters and the schemas' fields exist in the community Lever OpenAPI.

The spec (tonyxiao/openSDKs, MIT, copied into fixtures) is partial and hand-written; the few
places where it is known to be wrong or incomplete are listed below with the reason, so any
new mismatch fails with a clear list.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from pydantic import AliasChoices, AliasPath

from integrations.lever.client import OPPORTUNITY_FILTERS, LeverClient
from integrations.lever.schemas import (
    ArchiveReason,
    LeverModel,
    Opportunity,
    Posting,
    Stage,
)

SPEC_FILE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "lever" / "openapi-community-partial.json"
)
BASE = "https://api.lever.co/v1"

# The spec spells the `commitment` filter "committment" (integrations/lever/README.md §14).
SPEC_SPELLINGS = {"committment": "commitment"}

# (spec path, query parameter) pairs the client sends that the partial spec leaves out.
KNOWN_PARAM_GAPS = {
    # integrations/lever/README.md §7.1, §5.3: GET /opportunities/:id takes expand
    # (applications, stage, ...).
    ("/opportunities/{id}", "expand"): "documented by Lever; spec lists only the path id",
    # integrations/lever/README.md §7.4: GET /archive_reasons?type=hired|non-hired.
    ("/archive_reasons", "type"): "documented by Lever; spec lists no parameters",
}

# Model.field keys the schemas read that the spec's response schema does not have.
KNOWN_FIELD_GAPS = {
    # integrations/lever/README.md §8.1: current responses carry
    # `archived: {reason, archivedAt} | null`; the spec still has the old top-level
    # archivedAt/archiveReason (which we also read).
    "Opportunity.archived": "spec uses legacy archivedAt/archiveReason",
    "Opportunity.archived.reason": "inside the `archived` object above",
    "Opportunity.archived.archivedAt": "inside the `archived` object above",
    # expand=applications turns ids into objects with `posting`
    # (integrations/lever/README.md §8.1, §5.3); the spec does not model expand at all.
    "Opportunity.applications.posting": "expanded application object",
    "Opportunity.applications.type": "expanded application object",
    "Opportunity.applications.id": "expanded application object",
    # integrations/lever/README.md §19.2: only on deleted opportunities.
    "Opportunity.deletedAt": "deleted opportunities only",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text())


def spec_params(spec: dict[str, Any], path: str) -> set[str]:
    params = spec["paths"][path]["get"].get("parameters", [])
    names = {p["name"] for p in params if p.get("in") == "query"}
    names = {SPEC_SPELLINGS.get(n, n) for n in names}
    response = response_schema(spec, path)
    if "next" in response.get("properties", {}):
        names.add("offset")  # a reply that hands out `next` takes it back as `offset`
    return names


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return resolve(spec, node)
    return schema


def response_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    content = spec["paths"][path]["get"]["responses"]["200"]["content"]
    return resolve(spec, content["application/json"]["schema"])


def item_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    data = resolve(spec, response_schema(spec, path)["properties"]["data"])
    return resolve(spec, data["items"]) if data.get("type") == "array" else data


def nested_model(annotation: Any) -> type[LeverModel] | None:
    """The LeverModel inside Optional[...] / list[...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, LeverModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = nested_model(arg)
            if found:
                return found
    return None


def lever_keys(model: type[LeverModel]) -> set[str]:
    """Top-level Lever keys ``model`` reads: its fields' aliases (each choice of an
    ``AliasChoices``, the first step of an ``AliasPath``) and its ``extra_lever_keys``."""
    keys = set(model.extra_lever_keys)
    for name, field in model.model_fields.items():
        alias = field.validation_alias or field.alias or name
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            keys.add(str(choice.path[0]) if isinstance(choice, AliasPath) else choice)
    return keys


def missing_fields(
    spec: dict[str, Any], model: type[LeverModel], schema: dict[str, Any], prefix: str
) -> list[str]:
    """Every `prefix.key` the model reads that `schema` does not declare (recursing)."""
    props = resolve(spec, schema).get("properties", {})
    missing = [f"{prefix}.{key}" for key in sorted(lever_keys(model)) if key not in props]
    for field in model.model_fields.values():
        child = nested_model(field.annotation)
        key = field.alias
        if child is None or key is None:
            continue
        sub = resolve(spec, props.get(key, {}))
        sub = resolve(spec, sub["items"]) if sub.get("type") == "array" else sub
        missing += missing_fields(spec, child, sub, f"{prefix}.{key}")
    return missing


def test_the_checker_reports_a_field_the_spec_does_not_have(spec: dict[str, Any]) -> None:
    class Invented(LeverModel):
        id: str
        favourite_colour: str | None = None

    assert missing_fields(spec, Invented, item_schema(spec, "/stages"), "Invented") == [
        "Invented.favouriteColour"
    ]


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (Opportunity, "/opportunities/{id}"),
        (Opportunity, "/opportunities"),
        (Posting, "/postings/{id}"),
        (Posting, "/postings"),
        (Stage, "/stages"),
        (ArchiveReason, "/archive_reasons"),
    ],
)
def test_every_field_the_schemas_read_is_in_the_spec(
    spec: dict[str, Any], model: type[LeverModel], path: str
) -> None:
    missing = missing_fields(spec, model, item_schema(spec, path), model.__name__)

    unexplained = sorted(set(missing) - set(KNOWN_FIELD_GAPS))
    assert not unexplained, f"{path}: fields read but not in the spec: {unexplained}"


def test_the_legacy_archive_fields_we_fall_back_to_are_in_the_spec(spec: dict[str, Any]) -> None:
    props = item_schema(spec, "/opportunities/{id}")["properties"]

    assert set(Opportunity.extra_lever_keys) <= set(props)


def test_known_gaps_are_still_gaps(spec: dict[str, Any]) -> None:
    # If the spec is updated and fills a gap, the allowance must go too.
    for path, param in KNOWN_PARAM_GAPS:
        assert param not in spec_params(spec, path), (path, param)
    props = item_schema(spec, "/opportunities/{id}")["properties"]
    assert "archived" not in props


# --- query parameters: drive the client for real and read what went over the wire ----------


def spec_path_for(url: str) -> str:
    path = urlsplit(url).path.removeprefix("/v1")
    parts = path.split("/")
    if len(parts) == 3 and parts[1] in ("opportunities", "postings"):
        return f"/{parts[1]}/{{id}}"
    return path


@pytest.fixture
def sent_params() -> Iterator[dict[str, set[str]]]:
    """Every (spec path → query parameter names) the client sends in the calls below."""
    page = {"hasNext": True, "next": "%5B1%2C2%5D"}
    last = {"hasNext": False}
    opportunity = {"id": "o1"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/opportunities/o1", json={"data": opportunity})
        for path, item in [
            ("opportunities", opportunity),
            ("postings", {"id": "p1"}),
            ("stages", {"id": "s1"}),
            ("archive_reasons", {"id": "r1"}),
        ]:
            mock.get(f"{BASE}/{path}", json={"data": [item], **page})
            mock.get(f"{BASE}/{path}", json={"data": [item], **last})
        mock.get(f"{BASE}/postings/p1", json={"data": {"id": "p1"}})
        client = LeverClient(api_key="k" * 20, base_url=BASE)

        client.get_opportunity("o1", expand=["applications", "stage"])
        all_filters = dict.fromkeys(OPPORTUNITY_FILTERS, "x")
        list(
            client.iter_opportunities(
                updated_at_start=1, contact_id=["c"], expand=["applications"], **all_filters
            )
        )
        list(client.iter_postings(states=["published"], confidentiality="all"))
        list(client.iter_postings(updated_at_start=1, confidentiality="all"))
        client.get_posting("p1")
        client.list_stages()
        client.list_archive_reasons(type="hired")

        sent: dict[str, set[str]] = {}
        for call in mock.calls:
            url = call.request.url
            assert url is not None
            names = set(parse_qs(urlsplit(url).query))
            sent.setdefault(spec_path_for(url), set()).update(names)
        yield sent


def test_the_client_covers_every_path_checked_here(sent_params: dict[str, set[str]]) -> None:
    assert set(sent_params) == {
        "/opportunities/{id}",
        "/opportunities",
        "/postings",
        "/postings/{id}",
        "/stages",
        "/archive_reasons",
    }
    assert "offset" in sent_params["/postings"]  # pagination really happened


def test_every_query_parameter_the_client_sends_is_in_the_spec(
    spec: dict[str, Any], sent_params: dict[str, set[str]]
) -> None:
    unexplained = sorted(
        (path, name)
        for path, names in sent_params.items()
        for name in names - spec_params(spec, path)
        if (path, name) not in KNOWN_PARAM_GAPS
    )

    assert not unexplained, f"query parameters not in the spec: {unexplained}"
