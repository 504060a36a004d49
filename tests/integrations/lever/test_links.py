"""Parsing the Lever candidate links recruiters paste: every valid form, every error, and fuzzing."""

from __future__ import annotations

import pickle
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.lever.links import (
    MAX_URL_LENGTH,
    LeverUrlError,
    ParsedCandidateUrl,
    Region,
    UrlErrorCode,
    candidate_url,
    parse_candidate_url,
)

OPP = "8f2c6a1e-4b7d-4c0e-9a35-2d1e7f6b9c40"
OTHER = "c41d7e92-1a3b-4f5c-8e6d-7b2a9f0e3d15"


VALID = [
    # (pasted text, region)
    (f"https://hire.lever.co/candidates/{OPP}", Region.US),
    (f"https://hire.eu.lever.co/candidates/{OPP}", Region.EU),
    (f"https://hire.sandbox.lever.co/candidates/{OPP}", Region.SANDBOX),
    (f"http://hire.lever.co/candidates/{OPP}", Region.US),
    (f"hire.lever.co/candidates/{OPP}", Region.US),
    (f"hire.eu.lever.co/candidates/{OPP}", Region.EU),
    (f"hire.sandbox.lever.co/candidates/{OPP}/", Region.SANDBOX),
    (f"//hire.lever.co/candidates/{OPP}", Region.US),
    (f"HTTPS://HIRE.LEVER.CO/candidates/{OPP}", Region.US),
    (f"https://Hire.EU.Lever.Co/candidates/{OPP}", Region.EU),
    (f"https://hire.lever.co./candidates/{OPP}", Region.US),
    (f"https://hire.lever.co:443/candidates/{OPP}", Region.US),
    (f"hire.lever.co:443/candidates/{OPP}", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}/", Region.US),
    (f"https://hire.lever.co//candidates//{OPP}", Region.US),
    (f"https://hire.lever.co/Candidates/{OPP}", Region.US),
    (f"https://hire.lever.co/candidates/{OPP.upper()}", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}/files/{OTHER}/download", Region.US),
    (f"https://hire.eu.lever.co/candidates/{OPP}/resumes/{OTHER}/download", Region.EU),
    (f"https://hire.lever.co/candidates/{OPP}?lever-source=LinkedIn&tab=feedback", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}#notes", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}/?x=1#y", Region.US),
    (f"   https://hire.lever.co/candidates/{OPP}\n", Region.US),
    (f"\thire.sandbox.lever.co/candidates/{OPP}\r\n", Region.SANDBOX),
    (f"<https://hire.lever.co/candidates/{OPP}>", Region.US),
    (f'"https://hire.lever.co/candidates/{OPP}"', Region.US),
    (f"(https://hire.eu.lever.co/candidates/{OPP})", Region.EU),
    (f"\u200bhttps://hire.lever.co/candidates/{OPP}\ufeff", Region.US),
    # Pasted from chat, email or a document: markup around the link, punctuation after it.
    (f"https://hire.lever.co/candidates/{OPP}.", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}/,", Region.US),
    (f'"https://hire.lever.co/candidates/{OPP}".', Region.US),
    (f"(https://hire.lever.co/candidates/{OPP}).", Region.US),
    (f"<https://hire.lever.co/candidates/{OPP}>;", Region.US),
    (f"https://hire.lever.co/candidates/{OPP}?!", Region.US),
    (
        f"[https://hire.lever.co/candidates/{OPP}](https://hire.lever.co/candidates/{OPP})",
        Region.US,
    ),
    (f"[Jane Doe](https://hire.eu.lever.co/candidates/{OPP})", Region.EU),
    (f"<https://hire.lever.co/candidates/{OPP}|Jane Doe>", Region.US),
    (f'<a href="https://hire.lever.co/candidates/{OPP}">Jane Doe</a>', Region.US),
    (f"**https://hire.lever.co/candidates/{OPP}**", Region.US),
    (f"Jane Doe: https://hire.lever.co/candidates/{OPP}, thanks!", Region.US),
    (f"- hire.lever.co/candidates/{OPP}", Region.US),
    (f"1. https://hire.lever.co/candidates/{OPP} (backend)", Region.US),
]


@pytest.mark.parametrize(("raw", "region"), VALID)
def test_valid_candidate_links_give_region_and_lowercase_id(raw: str, region: Region) -> None:
    parsed = parse_candidate_url(raw)

    assert parsed == ParsedCandidateUrl(region=region, opportunity_id=OPP)


def test_path_id_wins_over_a_uuid_in_the_query_string() -> None:
    parsed = parse_candidate_url(f"https://hire.lever.co/candidates/{OPP}?id={OTHER}")

    assert parsed.opportunity_id == OPP


def test_expected_region_accepts_the_enum_and_its_string_value() -> None:
    url = f"https://hire.eu.lever.co/candidates/{OPP}"

    assert parse_candidate_url(url, expected_region=Region.EU).region is Region.EU
    assert parse_candidate_url(url, expected_region="eu").region is Region.EU


def test_an_unknown_expected_region_is_a_programming_error_not_a_url_error() -> None:
    with pytest.raises(ValueError, match="mars") as excinfo:
        parse_candidate_url(f"https://hire.lever.co/candidates/{OPP}", expected_region="mars")

    assert not isinstance(excinfo.value, LeverUrlError)


ERRORS = [
    # (pasted text, code)
    ("", UrlErrorCode.EMPTY),
    ("   \n\t ", UrlErrorCode.EMPTY),
    ("<>", UrlErrorCode.EMPTY),
    (None, UrlErrorCode.EMPTY),
    (f"https://hire.lever.co/candidates/{OPP}?q=" + "a" * MAX_URL_LENGTH, UrlErrorCode.TOO_LONG),
    ("x" * (MAX_URL_LENGTH * 10), UrlErrorCode.TOO_LONG),
    (f"https://hire.lever.co/candidates/{OPP}\x00", UrlErrorCode.CONTROL_CHARACTERS),
    (f"https://hire.lever.co/candi\x07dates/{OPP}", UrlErrorCode.CONTROL_CHARACTERS),
    (
        f"hire.lever.co/candidates/{OPP} hire.lever.co/candidates/{OTHER}",
        UrlErrorCode.SEVERAL_LINKS,
    ),
    (
        f"[{OTHER}](https://hire.lever.co/candidates/{OPP}) hire.lever.co/candidates/{OTHER}",
        UrlErrorCode.SEVERAL_LINKS,
    ),
    (f"https://hire.lever.co/candidates/ {OPP}", UrlErrorCode.HAS_SPACES),
    (f"https://hire.lever.co/cand idates/{OPP}", UrlErrorCode.HAS_SPACES),
    ("https://example.com/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://api.lever.co/v1/opportunities/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.green.lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.lever.co.evil.example/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.lever.co@evil.example/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://user:pw@hire.lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://evilhire.lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.lever.co:8443/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.lever.co:99999/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("https://hire.lever.co:abc/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("ftp://hire.lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("javascript:alert(document.cookie)", UrlErrorCode.NOT_LEVER),
    ("JavaScript://hire.lever.co/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("data:text/html,<script>alert(1)</script>", UrlErrorCode.NOT_LEVER),
    ("mailto:recruiter@acme.test", UrlErrorCode.NOT_LEVER),
    ("http://[::1/candidates/" + OPP, UrlErrorCode.NOT_LEVER),
    ("Jane Doe", UrlErrorCode.NOT_LEVER),
    ("Candidate: Jane Doe (see Lever).", UrlErrorCode.NOT_LEVER),
    ("Candidate: https://jobs.lever.co/acme/" + OPP + ".", UrlErrorCode.JOB_POSTING),
    ("[Jane](https://example.com/candidates/" + OPP + ")", UrlErrorCode.NOT_LEVER),
    ("jane@acme.test", UrlErrorCode.NOT_LEVER),
    (OPP, UrlErrorCode.NOT_LEVER),
    ("👍", UrlErrorCode.NOT_LEVER),
    (12345, UrlErrorCode.NOT_LEVER),
    ("https://jobs.lever.co/acme/" + OPP, UrlErrorCode.JOB_POSTING),
    ("https://jobs.lever.co/acme/" + OPP + "/apply", UrlErrorCode.JOB_POSTING),
    ("jobs.eu.lever.co/acme/" + OPP, UrlErrorCode.JOB_POSTING),
    ("https://JOBS.lever.co/acme", UrlErrorCode.JOB_POSTING),
    ("https://hire.lever.co/search/application/" + OPP, UrlErrorCode.APPLICATION_SEARCH),
    ("hire.eu.lever.co/search/application/" + OPP + "?x=1", UrlErrorCode.APPLICATION_SEARCH),
    ("https://hire.lever.co", UrlErrorCode.NO_ID),
    ("https://hire.lever.co/", UrlErrorCode.NO_ID),
    ("https://hire.lever.co/candidates", UrlErrorCode.NO_ID),
    ("https://hire.lever.co/candidates/", UrlErrorCode.NO_ID),
    (f"https://hire.lever.co/candidates?id={OPP}", UrlErrorCode.NO_ID),
    (f"https://hire.lever.co/#/candidates/{OPP}", UrlErrorCode.NO_ID),
    ("https://hire.lever.co/search", UrlErrorCode.NO_ID),
    (f"https://hire.lever.co/opportunities/{OPP}", UrlErrorCode.NO_ID),
    ("https://hire.lever.co/candidates/12345", UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/" + OPP[:-1], UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/" + OPP + "0", UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/" + OPP.replace("-", ""), UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/" + OPP.replace("8", "g", 1), UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/{" + OPP + "}", UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/" + "\u0661" * 8 + OPP[8:], UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/%38" + OPP[1:], UrlErrorCode.MALFORMED_ID),
    ("https://hire.lever.co/candidates/<script>", UrlErrorCode.MALFORMED_ID),
]


@pytest.mark.parametrize(("raw", "code"), ERRORS)
def test_each_bad_link_gets_its_own_error_code(raw: object, code: UrlErrorCode) -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        parse_candidate_url(raw)  # type: ignore[arg-type]  # some inputs deliberately not str

    assert excinfo.value.code == code
    assert str(excinfo.value)


def test_every_error_code_is_covered_by_the_table() -> None:
    covered = {code for _, code in ERRORS} | {UrlErrorCode.REGION_MISMATCH}

    assert covered == set(UrlErrorCode)


def test_messages_are_distinct_and_never_echo_the_pasted_text() -> None:
    messages = {}
    for raw, code in ERRORS:
        with pytest.raises(LeverUrlError) as excinfo:
            parse_candidate_url(raw)  # type: ignore[arg-type]  # some inputs deliberately not str
        messages[code] = str(excinfo.value)
        for pasted_part in (OPP, OTHER, OPP[:8], "evil", "script", "acme", "example"):
            assert pasted_part not in str(excinfo.value)

    assert len(set(messages.values())) == len(messages)


def test_job_posting_message_tells_the_recruiter_what_to_paste_instead() -> None:
    with pytest.raises(LeverUrlError, match="job posting") as excinfo:
        parse_candidate_url("https://jobs.lever.co/acme/" + OPP)

    assert "candidate's profile link" in str(excinfo.value)


@pytest.mark.parametrize(
    ("url", "expected", "actual_host", "expected_host"),
    [
        (
            f"https://hire.eu.lever.co/candidates/{OPP}",
            Region.US,
            "hire.eu.lever.co",
            "hire.lever.co",
        ),
        (f"https://hire.lever.co/candidates/{OPP}", "eu", "hire.lever.co", "hire.eu.lever.co"),
        (
            f"https://hire.lever.co/candidates/{OPP}",
            Region.SANDBOX,
            "hire.lever.co",
            "hire.sandbox.lever.co",
        ),
        (f"hire.sandbox.lever.co/candidates/{OPP}", "us", "hire.sandbox.lever.co", "hire.lever.co"),
    ],
)
def test_region_mismatch_names_both_regions(
    url: str, expected: Region | str, actual_host: str, expected_host: str
) -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        parse_candidate_url(url, expected_region=expected)

    assert excinfo.value.code == UrlErrorCode.REGION_MISMATCH
    assert f"({actual_host})" in str(excinfo.value)
    assert f"({expected_host})" in str(excinfo.value)


def test_region_is_checked_only_after_the_link_itself_is_valid() -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        parse_candidate_url("https://hire.eu.lever.co/candidates/nope", expected_region=Region.US)

    assert excinfo.value.code == UrlErrorCode.MALFORMED_ID


SITE = "http://127.0.0.1:8001"


@pytest.mark.parametrize(
    "raw",
    [
        f"http://127.0.0.1:8001/candidates/{OPP}",
        f"127.0.0.1:8001/candidates/{OPP.upper()}/",
        f"<http://127.0.0.1:8001/candidates/{OPP}>.",
        f"see http://127.0.0.1:8001/candidates/{OPP} please",
    ],
)
def test_a_local_sandbox_s_own_page_is_a_sandbox_link(raw: str) -> None:
    # make run: a person copies the link from the local sandbox's page, not from Lever.
    parsed = parse_candidate_url(raw, expected_region="sandbox", sandbox_site=SITE)

    assert parsed == ParsedCandidateUrl(region=Region.SANDBOX, opportunity_id=OPP)


@pytest.mark.parametrize(
    ("raw", "site", "code"),
    [
        # Without a local sandbox, an address with a port is no Lever link, as always.
        (f"http://127.0.0.1:8001/candidates/{OPP}", "", UrlErrorCode.NOT_LEVER),
        (f"http://127.0.0.1:8002/candidates/{OPP}", SITE, UrlErrorCode.NOT_LEVER),
        (f"http://127.0.0.2:8001/candidates/{OPP}", SITE, UrlErrorCode.NOT_LEVER),
        (f"http://u:p@127.0.0.1:8001/candidates/{OPP}", SITE, UrlErrorCode.NOT_LEVER),
        ("http://127.0.0.1:8001/candidates/nope", SITE, UrlErrorCode.MALFORMED_ID),
        ("http://127.0.0.1:8001/", SITE, UrlErrorCode.NO_ID),
    ],
)
def test_only_the_local_sandbox_s_own_candidate_pages_are_read(
    raw: str, site: str, code: UrlErrorCode
) -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        parse_candidate_url(raw, expected_region="sandbox", sandbox_site=site)

    assert excinfo.value.code == code


def test_a_local_sandbox_page_is_refused_for_a_production_region() -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        parse_candidate_url(
            f"{SITE}/candidates/{OPP}", expected_region=Region.US, sandbox_site=SITE
        )

    assert excinfo.value.code == UrlErrorCode.REGION_MISMATCH


def test_url_error_is_a_value_error_and_survives_pickling() -> None:
    with pytest.raises(ValueError, match="Lever") as excinfo:
        parse_candidate_url("https://example.com/")

    clone = pickle.loads(pickle.dumps(excinfo.value))  # noqa: S301 - our own object

    assert isinstance(clone, LeverUrlError)
    assert clone.code == UrlErrorCode.NOT_LEVER
    assert str(clone) == str(excinfo.value)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (Region.US, f"https://hire.lever.co/candidates/{OPP}"),
        (Region.EU, f"https://hire.eu.lever.co/candidates/{OPP}"),
        ("sandbox", f"https://hire.sandbox.lever.co/candidates/{OPP}"),
    ],
)
def test_candidate_url_builds_the_lever_profile_link(region: Region | str, expected: str) -> None:
    assert candidate_url(region, OPP.upper()) == expected


@pytest.mark.parametrize("bad_id", ["", "12345", OPP + "/../x", f"{OPP}?x=1", None])
def test_candidate_url_refuses_ids_that_are_not_uuids(bad_id: object) -> None:
    with pytest.raises(LeverUrlError) as excinfo:
        candidate_url(Region.US, bad_id)  # type: ignore[arg-type]  # None deliberately

    assert excinfo.value.code == UrlErrorCode.MALFORMED_ID


def test_candidate_url_refuses_an_unknown_region() -> None:
    with pytest.raises(ValueError, match="mars"):
        candidate_url("mars", OPP)


# --- property tests ---------------------------------------------------------------------------

_HOSTS = st.sampled_from(
    [
        "hire.lever.co",
        "hire.eu.lever.co",
        "hire.sandbox.lever.co",
        "HIRE.LEVER.CO",
        "jobs.lever.co",
        "jobs.eu.lever.co",
        "lever.co",
        "api.lever.co",
        "hire.green.lever.co",
        "example.com",
        "hire.lever.co.",
        "hire.lever.co:443",
        "hire.lever.co:0",
        "[::1]",
        "[",
        "user@hire.lever.co",
        "",
        "hire.lever.co:99999999999999999999",
    ]
)
_SCHEMES = st.sampled_from(["https://", "http://", "//", "", "HTTPS://", "ftp://", "javascript:"])
_SEGMENTS = st.one_of(
    st.sampled_from(["candidates", "search", "application", "files", "download", "..", "%2F"]),
    st.uuids().map(str),
    st.text(max_size=40),
)
_CANDIDATE_PATHS = st.tuples(
    st.sampled_from(["/candidates/", "/Candidates/", "//candidates//", "/candidate/", "/search/"]),
    st.one_of(st.uuids().map(str), st.uuids().map(lambda value: str(value).upper())),
    st.lists(_SEGMENTS, max_size=3).map(lambda segments: "/".join(["", *segments])),
).map("".join)
_PATHS = st.one_of(
    _CANDIDATE_PATHS,
    st.lists(_SEGMENTS, max_size=6).map(lambda segments: "/" + "/".join(segments)),
)
_QUERIES = st.one_of(
    st.just(""),
    st.uuids().map(lambda value: f"?id={value}"),
    st.text(max_size=40).map(lambda text: "?" + text),
    st.text(max_size=40).map(lambda text: "#" + text),
)
_URLISH = st.tuples(
    st.sampled_from(["", " ", "\n", "<", '"']),
    _SCHEMES,
    _HOSTS,
    _PATHS,
    _QUERIES,
    st.sampled_from(["", " ", "\n", ">", '"']),
).map("".join)


def _parse_or_code(raw: str, expected: Region | None = None) -> ParsedCandidateUrl | str:
    """The parsed link, or the error code; any other exception escapes and fails the test."""
    try:
        return parse_candidate_url(raw, expected_region=expected)
    except LeverUrlError as exc:
        error = exc
    assert error.code in set(UrlErrorCode)
    assert str(error)
    return error.code


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=3000))
def test_arbitrary_text_never_raises_anything_but_a_url_error(raw: str) -> None:
    result = _parse_or_code(raw)

    if isinstance(result, ParsedCandidateUrl):
        assert uuid.UUID(result.opportunity_id)
        assert result.opportunity_id == result.opportunity_id.lower()


@settings(max_examples=1000, deadline=None)
@given(_URLISH, st.sampled_from([None, *Region]))
def test_arbitrary_urlish_strings_never_raise_anything_but_a_url_error(
    raw: str, expected: Region | None
) -> None:
    result = _parse_or_code(raw, expected)

    if isinstance(result, ParsedCandidateUrl):
        assert "lever.co" in raw.lower()
        assert result.opportunity_id in raw.lower()
        assert expected in (None, result.region)


@given(st.sampled_from(Region), st.uuids(), st.booleans())
def test_candidate_url_round_trips_through_the_parser(
    region: Region, value: uuid.UUID, upper: bool
) -> None:
    opportunity_id = str(value).upper() if upper else str(value)

    parsed = parse_candidate_url(candidate_url(region, opportunity_id), expected_region=region)

    assert parsed == ParsedCandidateUrl(region=region, opportunity_id=str(value))
