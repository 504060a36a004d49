"""Parse the Lever candidate links recruiters paste, and build them back
(integrations/lever/README.md §11)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from unicodedata import category
from urllib.parse import SplitResult, urlsplit

# Long enough for any real Lever link with tracking parameters; anything longer is a paste accident.
MAX_URL_LENGTH = 2048


class Region(StrEnum):
    """Which Lever data centre an account lives in. Values match ``integrations.models.Region``."""

    US = "us"
    EU = "eu"
    SANDBOX = "sandbox"


REGION_LABELS: dict[Region, str] = {Region.US: "US", Region.EU: "EU", Region.SANDBOX: "sandbox"}

_HIRE_HOSTS: dict[str, Region] = {
    "hire.lever.co": Region.US,
    "hire.eu.lever.co": Region.EU,
    "hire.sandbox.lever.co": Region.SANDBOX,
}
_HOST_FOR_REGION: dict[Region, str] = {region: host for host, region in _HIRE_HOSTS.items()}
# Public job sites. The sandbox one is UNCONFIRMED, but it is a posting link if it exists.
_JOBS_HOSTS = frozenset({"jobs.lever.co", "jobs.eu.lever.co", "jobs.sandbox.lever.co"})

# Lever ids are canonical 8-4-4-4-12 UUIDs; ASCII classes so no other digits sneak in.
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# "javascript:", "mailto:", "data:" … A dotted "scheme" is really a host with a port
# ("hire.lever.co:443/…"), so dots are excluded here on purpose.
_OTHER_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+-]*:(?!//)")
# Recruiters copy links out of emails and chat, which wrap them in these (and in invisible
# zero-width spaces or a byte-order mark that str.strip() keeps) …
_WRAPPERS = "<>\"'`()[]{}*_~\u200b\ufeff"
# … and end sentences after them: "see https://hire.lever.co/candidates/….".
_TRAILING = _WRAPPERS + ".,;:!?"
# Where a link stops inside surrounding text or markup: Markdown's [text](link), Slack's
# <link|text>, HTML's href="link", quotes, and spaces. No Lever link contains one of these.
_LINK_STOPS_RE = re.compile(r"[\s<>\"'`\[\](){}|\\^]+")


class UrlErrorCode(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL_CHARACTERS = "control_characters"
    HAS_SPACES = "has_spaces"
    SEVERAL_LINKS = "several_links"
    NOT_LEVER = "not_lever"
    JOB_POSTING = "job_posting"
    APPLICATION_SEARCH = "application_search"
    NO_ID = "no_id"
    MALFORMED_ID = "malformed_id"
    REGION_MISMATCH = "region_mismatch"


_MESSAGES: dict[UrlErrorCode, str] = {
    UrlErrorCode.EMPTY: "Paste a Lever candidate link.",
    UrlErrorCode.TOO_LONG: (
        f"That is longer than any Lever link (over {MAX_URL_LENGTH} characters). "
        "Copy the link from the candidate's profile in Lever and paste it again."
    ),
    UrlErrorCode.CONTROL_CHARACTERS: (
        "This holds control characters (such as NUL) that no link has. Copy the link from "
        "the candidate's profile in Lever again."
    ),
    UrlErrorCode.HAS_SPACES: (
        "A link can't contain spaces: this one was split apart. Copy the link from the "
        "candidate's profile in Lever again."
    ),
    UrlErrorCode.SEVERAL_LINKS: (
        "This holds more than one Lever link. Paste one candidate link at a time (one per line)."
    ),
    UrlErrorCode.NOT_LEVER: (
        "This isn't a Lever candidate link. Open the candidate's profile in Lever and copy "
        "the link from the address bar; it starts with https://hire.lever.co/candidates/ "
        "(EU accounts: hire.eu.lever.co; the sandbox: hire.sandbox.lever.co)."
    ),
    UrlErrorCode.JOB_POSTING: (
        "This is a job posting link. Paste the candidate's profile link from Lever instead "
        "(https://hire.lever.co/candidates/…; EU accounts: hire.eu.lever.co; the sandbox: "
        "hire.sandbox.lever.co)."
    ),
    UrlErrorCode.APPLICATION_SEARCH: (
        "This link points to an application search, not to a candidate. Open the candidate's "
        "profile in Lever and copy that link (https://hire.lever.co/candidates/…; EU accounts: "
        "hire.eu.lever.co; the sandbox: hire.sandbox.lever.co)."
    ),
    UrlErrorCode.NO_ID: (
        "This Lever link doesn't point to one candidate. Open the candidate's profile in Lever "
        "and copy the link from the address bar (https://hire.lever.co/candidates/…; EU "
        "accounts: hire.eu.lever.co; the sandbox: hire.sandbox.lever.co)."
    ),
    UrlErrorCode.MALFORMED_ID: (
        "The candidate id in this Lever link is incomplete or damaged. Copy the link from the "
        "candidate's profile in Lever again."
    ),
}


class LeverUrlError(ValueError):
    """A pasted link that can't be used. ``code`` is for machines, ``str(exc)`` for recruiters.

    The message never repeats the pasted text, so it is safe to show and to log as is.
    """

    def __init__(self, code: UrlErrorCode | str, message: str | None = None) -> None:
        self.code: str = UrlErrorCode(code)
        self.message = message if message is not None else _MESSAGES[self.code]
        super().__init__(self.message)

    def __reduce__(self) -> tuple[type[LeverUrlError], tuple[str, str]]:
        # Keeps the code when pickled (Celery results, multiprocessing); the default drops it.
        return (type(self), (self.code, self.message))


@dataclass(frozen=True)
class ParsedCandidateUrl:
    region: Region
    opportunity_id: str  # lower-case UUID; also accepted by Lever for a legacy candidate id


def parse_candidate_url(
    raw: str, *, expected_region: Region | str | None = None, sandbox_site: str = ""
) -> ParsedCandidateUrl:
    """Return the region and opportunity id of a pasted Lever candidate link.

    The link may come wrapped as chat and email write it (``<…>``, ``[text](…)``, ``"…".``,
    ``<…|text>``, ``href="…"``) or inside a sentence: the one Lever link the text holds is read.
    Raises only ``LeverUrlError`` for bad input, each kind with its own ``code``. With
    ``expected_region`` (the integration's region), a link from another region is an error too.
    A wrong ``expected_region`` value is a programming error and raises a plain ``ValueError``.
    ``sandbox_site`` (a local sandbox's address, ``http://127.0.0.1:8001``): its own
    ``/candidates/<id>`` pages are sandbox-region links too, as a person copies them there.
    """
    expected = Region(expected_region) if expected_region is not None else None
    parsed = _link_in(_text(raw), _site(sandbox_site))
    if expected is not None and parsed.region != expected:
        region = parsed.region
        raise LeverUrlError(
            UrlErrorCode.REGION_MISMATCH,
            # Read by recruiters, who can't change the region: only an admin can.
            f"This link is from Lever's {REGION_LABELS[region]} site ({_HOST_FOR_REGION[region]}), "
            f"but this group's Lever integration is set to the {REGION_LABELS[expected]} site "
            f"({_HOST_FOR_REGION[expected]}), so Karat can't read it. If your Lever is at "
            f"{_HOST_FOR_REGION[region]}, ask an admin to set the integration's region in its "
            "Settings (Detect from the key).",
        )
    return parsed


def candidate_url(region: Region | str, opportunity_id: str) -> str:
    """The recruiter-facing link to an opportunity, the same as Lever's ``urls.show``."""
    if not isinstance(opportunity_id, str) or not _UUID_RE.fullmatch(opportunity_id):
        raise LeverUrlError(UrlErrorCode.MALFORMED_ID)
    return f"https://{_HOST_FOR_REGION[Region(region)]}/candidates/{opportunity_id.lower()}"


def _text(raw: object) -> str:
    """The pasted text, checked as text: not empty, not megabytes, no control characters."""
    if not isinstance(raw, str):  # form fields can hand over None
        raise LeverUrlError(UrlErrorCode.EMPTY if raw is None else UrlErrorCode.NOT_LEVER)
    if len(raw) > MAX_URL_LENGTH * 4:  # don't even strip megabytes of paste
        raise LeverUrlError(UrlErrorCode.TOO_LONG)
    # NUL and the like (U+FFFD: one replaced where it could not be stored) are never typed.
    if any((category(char) == "Cc" and not char.isspace()) or char == "\ufffd" for char in raw):
        raise LeverUrlError(UrlErrorCode.CONTROL_CHARACTERS)
    text = _trim(raw)
    if not text:
        raise LeverUrlError(UrlErrorCode.EMPTY)
    if len(text) > MAX_URL_LENGTH:
        raise LeverUrlError(UrlErrorCode.TOO_LONG)
    return text


def _trim(text: str) -> str:
    """Without the wrappers around it and the sentence punctuation after it."""
    return text.strip().lstrip(_WRAPPERS).rstrip(_TRAILING).strip()


# A local sandbox's (host, port), or None: see parse_candidate_url's sandbox_site.
_Site = tuple[str, int | None] | None


def _site(url: str) -> _Site:
    if not url:
        return None
    parts = urlsplit(url)
    return ((parts.hostname or "").lower(), parts.port)


def _link_in(text: str, site: _Site = None) -> ParsedCandidateUrl:
    """The one Lever candidate link in ``text`` (already trimmed).

    Text without spaces that is a link is the answer. Else the link-like words in it decide:
    one Lever candidate among them (however often it is repeated, as Markdown's
    ``[link](link)`` does) is the answer; two are an error. With none, text without spaces
    was meant as one link and keeps its own error; text with spaces gives its first
    link-like word's error, "a link can't contain spaces" for a link broken apart, or "not a
    Lever link" for text with no link at all ("Jane Doe").
    """
    plain_error: LeverUrlError | None = None
    if not any(char.isspace() for char in text):
        try:
            return _parse_link(text, site)
        except LeverUrlError as exc:
            plain_error = exc
    found: dict[str, ParsedCandidateUrl] = {}
    errors: list[LeverUrlError] = []
    for word in _LINK_STOPS_RE.split(text):
        word = _trim(word)
        if "//" not in word and "lever.co" not in word.lower():
            continue
        try:
            parsed = _parse_link(word, site)
        except LeverUrlError as exc:
            errors.append(exc)
            continue
        found.setdefault(parsed.opportunity_id, parsed)
    if len(found) == 1:
        return next(iter(found.values()))
    if found:
        raise LeverUrlError(UrlErrorCode.SEVERAL_LINKS)
    if plain_error is not None:
        raise plain_error
    if any(char.isspace() for char in text):
        try:
            _parse_link("".join(text.split()), site)
        except LeverUrlError:
            pass  # not a link split by spaces either
        else:
            raise LeverUrlError(UrlErrorCode.HAS_SPACES)
    raise errors[0] if errors else LeverUrlError(UrlErrorCode.NOT_LEVER)


def _parse_link(text: str, site: _Site = None) -> ParsedCandidateUrl:
    """Region and opportunity id of ``text``, a link alone (no spaces, no markup)."""
    parts = _split(text, site)
    host = (parts.hostname or "").rstrip(".")

    if host in _JOBS_HOSTS:
        raise LeverUrlError(UrlErrorCode.JOB_POSTING)
    region = _HIRE_HOSTS.get(host)
    if region is None and site is not None and (host, parts.port) == site:
        region = Region.SANDBOX
    if region is None or parts.username is not None or parts.password is not None:
        raise LeverUrlError(UrlErrorCode.NOT_LEVER)

    # Only the path is read. Lever's query strings (e.g. "?id=…") are UNCONFIRMED, so a UUID
    # there is ignored even when it differs: the documented /candidates/<id> always wins.
    segments = [segment for segment in parts.path.split("/") if segment]
    first = segments[0].lower() if segments else ""
    if first == "search" and len(segments) > 1 and segments[1].lower() == "application":
        raise LeverUrlError(UrlErrorCode.APPLICATION_SEARCH)
    if first != "candidates" or len(segments) < 2:
        raise LeverUrlError(UrlErrorCode.NO_ID)
    opportunity_id = segments[1]
    if not _UUID_RE.fullmatch(opportunity_id):
        raise LeverUrlError(UrlErrorCode.MALFORMED_ID)
    return ParsedCandidateUrl(region=region, opportunity_id=opportunity_id.lower())


def _split(text: str, site: _Site = None) -> SplitResult:
    if any(char.isspace() for char in text):
        raise LeverUrlError(UrlErrorCode.HAS_SPACES)
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        if _OTHER_SCHEME_RE.match(text):
            raise LeverUrlError(UrlErrorCode.NOT_LEVER)
        text = "https://" + text  # "hire.lever.co/candidates/…" copied without the scheme
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:  # bad IPv6 brackets, NFKC tricks in the host, bad port …
        raise LeverUrlError(UrlErrorCode.NOT_LEVER) from exc
    own_port = site is not None and ((parts.hostname or "").rstrip("."), port) == site
    if parts.scheme.lower() not in ("http", "https") or (
        port not in (None, 80, 443) and not own_port
    ):
        raise LeverUrlError(UrlErrorCode.NOT_LEVER)
    return parts
