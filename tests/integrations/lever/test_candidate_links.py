"""Lever's candidate links as the adapter gives them: the link a person opens moves to a local
sandbox's page for the sandbox region only; the candidate's link and pasted links never do."""

from __future__ import annotations

from typing import Any

import pytest

from integrations import ats

OPP = "8f2c6a1e-4b7d-4c0e-9a35-2d1e7f6b9c40"
SITE = "http://127.0.0.1:8001"


@pytest.fixture
def adapter(settings: Any) -> ats.AtsAdapter:
    settings.LEVER_SANDBOX_SITE_URL = SITE
    return ats.adapter_for("lever")


@pytest.mark.parametrize(
    ("region", "opened"),
    [
        ("sandbox", f"{SITE}/candidates/{OPP}"),
        ("us", f"https://hire.lever.co/candidates/{OPP}"),
        ("eu", f"https://hire.eu.lever.co/candidates/{OPP}"),
    ],
)
def test_only_the_sandbox_region_opens_on_the_local_sandbox(
    adapter: ats.AtsAdapter, region: str, opened: str
) -> None:
    assert adapter.candidate_profile_url(region, OPP.upper()) == opened
    assert adapter.candidate_url(region, OPP).startswith("https://hire.")


def test_without_a_local_sandbox_the_sandbox_region_opens_on_lever(settings: Any) -> None:
    settings.LEVER_SANDBOX_SITE_URL = ""

    opened = ats.adapter_for("lever").candidate_profile_url("sandbox", OPP)

    assert opened == f"https://hire.sandbox.lever.co/candidates/{OPP}"


@pytest.mark.parametrize(
    "pasted",
    [f"{SITE}/candidates/{OPP}", f"https://hire.sandbox.lever.co/candidates/{OPP}"],
)
def test_a_pasted_sandbox_link_names_the_candidate_by_lever_s_link(
    adapter: ats.AtsAdapter, pasted: str
) -> None:
    ref = adapter.candidate_url_parse(pasted, region="sandbox")

    assert (ref.opportunity_id, ref.region) == (OPP, "sandbox")
    assert ref.url == f"https://hire.sandbox.lever.co/candidates/{OPP}"
