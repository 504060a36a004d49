"""Deterministic demo data for the Lever sandbox (same seed → same ids, names and timestamps)."""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Demo-only key with every permission. It is public on purpose (it is in the source), works
# only against the local sandbox and must never be used as a real Lever key.
DEMO_API_KEY = "sandbox-demo-key-all-permissions-not-a-secret-0001"
DEMO_API_KEY_LABEL = "Demo key (all permissions)"
DEMO_SEED = 20260101

# Seeded timestamps are fixed (not "now") so every run produces the same data.
BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000

# Region names match integrations.models.Region ("global" is accepted as an alias of "us").
CANDIDATE_HOSTS = {
    "us": "https://hire.lever.co",
    "eu": "https://hire.eu.lever.co",
    "sandbox": "https://hire.sandbox.lever.co",
}
JOBS_SITE = "https://jobs.lever.co/sandboxcorp"

BUILTIN_STAGES = (
    ("lead-new", "New lead"),
    ("lead-reached-out", "Reached out"),
    ("lead-responded", "Responded"),
    ("applicant-new", "New applicant"),
)
CUSTOM_STAGES = (
    "Recruiter screen",
    "Phone screen",
    "Technical interview",
    "Onsite interview",
    "Reference check",
)

_USERS = (
    ("Avery Chen", "super admin", None),
    ("Jordan Patel", "admin", None),
    ("Rae Recruiter", "team member", None),
    ("Riley Gomez", "interviewer", None),
    ("Sam Okafor", "limited team member", BASE_MS - 30 * DAY_MS),  # deactivated
)
# Emails other than <first>.<last>@sandboxcorp.example.com. Rae is also the Karat demo's
# recruiter (karatlever/demo seed_demo, RECRUITER_EMAIL): with "Hiring team from Lever" on,
# `make run` matches her by email to the postings and opportunities she owns. Same place in the
# list as the user she replaced, so the seeded ids and owners stay as they were.
_USER_EMAILS = {"Rae Recruiter": "recruiter@acme.test"}

_NON_HIRED_REASONS = (
    "Underqualified",
    "Unresponsive",
    "Timing",
    "Withdrew",
    "Offer declined",
    "Position closed",
    "Location",
    "Duplicate",
)

# (title, team, department, location, commitment, state, workplaceType)
_POSTINGS = (
    (
        "Senior Backend Engineer",
        "Platform",
        "Engineering",
        "San Francisco, CA",
        "Full-time",
        "published",
        "hybrid",
    ),
    (
        "Site Reliability Engineer",
        "Infrastructure",
        "Engineering",
        "Remote - US",
        "Full-time",
        "published",
        "remote",
    ),
    (
        "Staff Frontend Engineer",
        "Web",
        "Engineering",
        "San Francisco, CA",
        "Full-time",
        "published",
        "hybrid",
    ),
    ("Data Engineer", "Data", "Engineering", "New York, NY", "Full-time", "published", "onsite"),
    (
        "Machine Learning Engineer",
        "ML",
        "Engineering",
        "Remote - US",
        "Full-time",
        "published",
        "remote",
    ),
    ("iOS Engineer", "Mobile", "Engineering", "Austin, TX", "Full-time", "published", "hybrid"),
    ("Android Engineer", "Mobile", "Engineering", "Austin, TX", "Full-time", "published", "hybrid"),
    (
        "Backend Engineer",
        "Payments",
        "Engineering",
        "New York, NY",
        "Full-time",
        "published",
        "onsite",
    ),
    (
        "Backend Engineer",
        "Payments",
        "Engineering",
        "London, UK",
        "Full-time",
        "published",
        "hybrid",
    ),
    (
        "Security Engineer",
        "Security",
        "Engineering",
        "Remote - US",
        "Full-time",
        "published",
        "remote",
    ),
    (
        "Full Stack Engineer",
        "Growth",
        "Engineering",
        "Toronto, ON",
        "Full-time",
        "published",
        "hybrid",
    ),
    (
        "Software Engineer in Test",
        "Quality",
        "Engineering",
        "Remote - US",
        "Contract",
        "published",
        "remote",
    ),
    (
        "Engineering Manager, Platform",
        "Platform",
        "Engineering",
        "San Francisco, CA",
        "Full-time",
        "internal",
        "hybrid",
    ),
    (
        "Platform Engineer",
        "Platform",
        "Engineering",
        "Berlin, DE",
        "Full-time",
        "internal",
        "hybrid",
    ),
    (
        "DevOps Engineer",
        "Infrastructure",
        "Engineering",
        "Remote - EU",
        "Full-time",
        "internal",
        "remote",
    ),
    (
        "Embedded Software Engineer",
        "Devices",
        "Engineering",
        "Seattle, WA",
        "Full-time",
        "internal",
        "onsite",
    ),
    (
        "Principal Engineer",
        "Architecture",
        "Engineering",
        "San Francisco, CA",
        "Full-time",
        "internal",
        "hybrid",
    ),
    (
        "Data Engineer (2025 backfill)",
        "Data",
        "Engineering",
        "New York, NY",
        "Full-time",
        "closed",
        "onsite",
    ),
    (
        "Junior Software Engineer",
        "Growth",
        "Engineering",
        "Toronto, ON",
        "Full-time",
        "closed",
        "onsite",
    ),
    (
        "Database Reliability Engineer",
        "Infrastructure",
        "Engineering",
        "Remote - US",
        "Full-time",
        "closed",
        "remote",
    ),
    (
        "QA Automation Engineer",
        "Quality",
        "Engineering",
        "Austin, TX",
        "Part-time",
        "closed",
        "onsite",
    ),
    (
        "Analytics Engineer",
        "Data",
        "Engineering",
        "Remote - US",
        "Full-time",
        "draft",
        "unspecified",
    ),
    (
        "Cloud Infrastructure Engineer",
        "Infrastructure",
        "Engineering",
        "Dublin, IE",
        "Full-time",
        "draft",
        "unspecified",
    ),
    (
        "Frontend Engineer, Design Systems",
        "Web",
        "Engineering",
        "Remote - US",
        "Full-time",
        "draft",
        "unspecified",
    ),
    (
        "Solutions Engineer",
        "Sales Engineering",
        "Sales",
        "Chicago, IL",
        "Full-time",
        "pending",
        "hybrid",
    ),
    (
        "Support Engineer",
        "Support",
        "Customer Success",
        "Remote - US",
        "Full-time",
        "pending",
        "remote",
    ),
    (
        "Technical Program Manager",
        "Programs",
        "Engineering",
        "Seattle, WA",
        "Full-time",
        "rejected",
        "onsite",
    ),
    (
        "Game Engine Programmer",
        "Devices",
        "Engineering",
        "Montreal, QC",
        "Intern",
        "rejected",
        "onsite",
    ),
    (
        "Compiler Engineer (confidential search)",
        "Architecture",
        "Engineering",
        "Remote - US",
        "Full-time",
        "published",
        "remote",
    ),
    ("Data Scientist", "Data", "Engineering", "Remote - US", "Full-time", "published", "remote"),
)
# Posting indexes whose requisition code is missing (None) or empty ("") — both occur in Lever.
_REQ_NONE = {17, 21, 22, 23}
_REQ_EMPTY = {11, 26}
_CONFIDENTIAL = {28}
# Published postings that are on the internal job site only (the state=published quirk).
_INTERNAL_CHANNEL_ONLY = {11}

_FIRST = (
    "Priya",
    "Liam",
    "Sofia",
    "Noah",
    "Mei",
    "Mateo",
    "Aisha",
    "Lucas",
    "Zoë",
    "Ethan",
    "Hana",
    "Oliver",
    "Fatima",
    "Diego",
    "Chloe",
    "Kenji",
    "Amara",
    "Jonas",
    "Leila",
    "Marcus",
    "Ingrid",
    "Tomás",
    "Yara",
    "Arjun",
    "Nadia",
    "Felix",
    "Ana",
    "Omar",
    "Sana",
    "Björn",
)
_LAST = (
    "Raman",
    "Nguyen",
    "García",
    "Smith",
    "Kowalski",
    "Okonkwo",
    "Müller",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Johansson",
    "Silva",
    "Ivanova",
    "O'Brien",
    "Kim",
    "Dubois",
    "Mensah",
    "Park",
    "Novak",
    "Hernández",
    "Cohen",
    "Abiodun",
    "Schmidt",
    "Larsen",
    "Patel",
    "Moreau",
)
_SCHOOLS = (
    "Contoso Ltd",
    "Northwind Traders",
    "Fabrikam",
    "Tailspin Toys",
    "Woodgrove Bank",
    "State University",
    "Litware",
    "Adventure Works",
    "Wide World Importers",
)
_SOURCES = ("Job site", "LinkedIn", "Referral", "Agency", "Career fair", "GitHub")
_ORIGINS = (
    "applied",
    "applied",
    "applied",
    "sourced",
    "referred",
    "university",
    "agency",
    "internal",
)

OPPORTUNITY_COUNT = 240

# The demo's candidates are a real company's: every one can be invited, except ONE deliberate
# example (by opportunity index) of each thing the invite preview refuses or warns about, so
# each message can be seen on purpose (docs/development.md). Everything else is forced to be
# invitable: an email with an ASCII local part (accented names keep their accents; the address
# is written without them, as mail systems do), active, non-confidential.
DEMO_EXAMPLES: dict[str, int] = {
    "email_unsupported": 1,  # an accent before the @ (ethan.müller1@…): Karat's mail can't carry it
    "archived": 9,  # archived, not hired: the preview warns "Archived in Lever"
    "hired": 15,  # archived as hired: the preview warns "Hired in Lever"; an invite records the hire
    "confidential": 16,  # refused (``confidential``) with a key without confidential access
    "no_email": 0,  # no email on file: warned, and an invite is refused (``no_email``)
}
# Deliberate oddities that are still invitable: index 7's name is an HTML-escaping canary and
# index 13 has an empty name (Lever allows it); every 12th opportunity is a second candidacy of
# someone already in the list, and every 20th is a lead without a posting (a role is picked).


@dataclass(frozen=True)
class DemoData:
    """Everything the sandbox seeds, as Lever-shaped dicts (private keys start with ``_``)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    archive_reasons: list[dict[str, Any]] = field(default_factory=list)
    postings: list[dict[str, Any]] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def candidate_url(opportunity_id: str, region: str = "us") -> str:
    """The recruiter-facing URL Lever shows for an opportunity (``urls.show``)."""
    return f"{CANDIDATE_HOSTS[_region(region)]}/candidates/{opportunity_id}"


def _region(region: str) -> str:
    return "us" if region == "global" else region


@lru_cache(maxsize=4)
def demo_data(seed: int = DEMO_SEED) -> DemoData:
    """Build the demo data set. Pure and deterministic; callers must not mutate the result."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    users = [
        {
            "id": _uuid(rng),
            "name": name,
            "username": name.split()[0].lower(),
            "email": _USER_EMAILS.get(
                name, f"{name.lower().replace(' ', '.')}@sandboxcorp.example.com"
            ),
            "accessRole": role,
            "photo": None,
            "createdAt": BASE_MS - 400 * DAY_MS + i * DAY_MS,
            "deactivatedAt": deactivated,
            "externalDirectoryId": None,
            "linkedContactIds": None,
            "jobTitle": (
                "Head of Talent",
                "Recruiting Lead",
                "Recruiter",
                "Engineer",
                "Coordinator",
            )[i],
            "managerId": None,
        }
        for i, (name, role, deactivated) in enumerate(_USERS)
    ]
    active_users = [str(u["id"]) for u in users if u["deactivatedAt"] is None]

    stages = [{"id": slug, "text": text} for slug, text in BUILTIN_STAGES]
    stages += [{"id": _uuid(rng), "text": text} for text in CUSTOM_STAGES]
    stages.append({"id": "offer", "text": "Offer"})

    reasons = [
        {"id": _uuid(rng), "text": "Hired", "status": "active", "type": "hired"},
        {
            "id": _uuid(rng),
            "text": "Hired - internal transfer",
            "status": "active",
            "type": "hired",
        },
    ]
    reasons += [
        {"id": _uuid(rng), "text": text, "status": "active", "type": "non-hired"}
        for text in _NON_HIRED_REASONS
    ]
    reasons.append(
        {"id": _uuid(rng), "text": "Not a fit (retired)", "status": "inactive", "type": "non-hired"}
    )

    postings = [_posting(rng, i, spec, active_users) for i, spec in enumerate(_POSTINGS)]
    opportunities = _opportunities(rng, users, active_users, stages, reasons, postings)
    return DemoData(users, stages, reasons, postings, opportunities)


def _posting(
    rng: random.Random, i: int, spec: tuple[str, ...], owners: list[str]
) -> dict[str, Any]:
    title, team, department, location, commitment, state, workplace = spec
    pid = _uuid(rng)
    created = BASE_MS - (200 - i * 5) * DAY_MS
    if i in _REQ_NONE:
        req_code, req_codes = None, []
    elif i in _REQ_EMPTY:
        req_code, req_codes = "", [""]
    else:
        req_code = f"{department[:3].upper()}-{101 + i * 3}"
        req_codes = [req_code]
    channels = None
    if state == "published":
        channels = ["internal"] if i in _INTERNAL_CHANNEL_ONLY else ["public", "internal"]
    urls = None
    if state != "draft":
        urls = {
            "list": JOBS_SITE,
            "show": f"{JOBS_SITE}/{pid}",
            "apply": f"{JOBS_SITE}/{pid}/apply",
        }
    owner = owners[i % len(owners)]
    return {
        "id": pid,
        "text": title,
        "createdAt": created,
        "updatedAt": created + rng.randint(0, 40) * DAY_MS,
        "user": owners[0],
        "owner": owner,
        "hiringManager": owners[(i + 1) % len(owners)] if i % 3 else None,
        "confidentiality": "confidential" if i in _CONFIDENTIAL else "non-confidential",
        "categories": {
            "team": team,
            "department": department,
            "location": location,
            "allLocations": [location],
            "commitment": commitment,
            "level": "Senior" if title.startswith(("Senior", "Staff", "Principal")) else None,
        },
        "content": {
            "description": f"We are hiring a {title}.",
            "descriptionHtml": f"<div>We are hiring a {title}.</div>",
            "lists": [
                {
                    "text": "Requirements",
                    "content": "<li>Production experience</li><li>Clear written communication</li>",
                }
            ],
            "closing": "",
            "closingHtml": "",
        },
        "country": {"UK": "GB", "DE": "DE", "IE": "IE", "ON": "CA", "QC": "CA"}.get(
            location.rsplit(", ", 1)[-1], "US"
        ),
        "followers": [owner],
        "tags": ["karat"] if i % 4 == 0 else [],
        "state": state,
        "distributionChannels": channels,
        "reqCode": req_code,
        "requisitionCodes": req_codes,
        "urls": urls,
        "workplaceType": workplace,
    }


def _opportunities(
    rng: random.Random,
    users: list[dict[str, Any]],
    active_users: list[str],
    stages: list[dict[str, Any]],
    reasons: list[dict[str, Any]],
    postings: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    # Candidates apply to postings that are or were open; drafts/pending/rejected get none.
    open_postings = [
        p
        for p in postings
        if p["state"] in ("published", "internal", "closed")
        and p["confidentiality"] == "non-confidential"
    ]
    hired = [r["id"] for r in reasons if r["type"] == "hired"]
    non_hired = [r["id"] for r in reasons if r["type"] == "non-hired" and r["status"] == "active"]
    stage_ids = [s["id"] for s in stages]
    confidential_posting = next(p for p in postings if p["confidentiality"] == "confidential")
    examples = {index: name for name, index in DEMO_EXAMPLES.items()}
    contacts: list[tuple[str, str, list[str]]] = []
    example_contacts: set[str] = set()  # without email or unmailable: never a second candidacy
    result: list[dict[str, Any]] = []
    for i in range(OPPORTUNITY_COUNT):
        example = examples.get(i, "")
        # Every 12th opportunity belongs to a person who already has one (several candidacies).
        if i % 12 == 11 and contacts:
            pick = rng.randrange(len(contacts))
            while contacts[pick][0] in example_contacts:
                pick -= 1  # the person just before: deterministic, and draws nothing more
            contact, name, emails = contacts[pick]
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            if example == "email_unsupported" and f"{first}{last}".isascii():
                first = "Zoë"  # another seed drew an ASCII name: the example needs an accent
            name = f"{first} {last}"
            local = f"{first}.{last}".lower().replace("'", "")
            if example != "email_unsupported":
                local = _ascii(local)
            emails = [f"{local}{i}@example.org"]
            if i % 17 == 0:
                emails.append(f"{_ascii(first.lower())}{i}@mail.example.net")
            if example == "no_email":
                emails = []
            if i == 7:
                name = 'Alex "AJ" O\'Neil <b>&amp;</b>'  # escaping canary for every UI
            if i == 13:
                name = ""  # Lever allows an empty name
            contact = _uuid(rng)
            contacts.append((contact, name, emails))
            if example in ("no_email", "email_unsupported"):
                example_contacts.add(contact)
        oid = _uuid(rng)
        candidate_id = _uuid(rng)  # legacy candidateId, sent in webhooks only
        posting = open_postings[rng.randrange(len(open_postings))] if i % 20 != 19 else None
        if example == "confidential":
            posting = confidential_posting  # Lever: a confidential posting's candidates are too
        created = BASE_MS - rng.randint(2, 150) * DAY_MS - rng.randint(0, DAY_MS)
        owner = rng.choice(active_users)
        stage_index = _pick_stage(rng, i, len(stage_ids))
        changes = []
        at = created
        start = 3 if posting else 0  # applicants start at applicant-new, leads at lead-new
        path = (
            list(range(start, max(stage_index, start) + 1))
            if stage_index >= start
            else [stage_index]
        )
        for idx in path:
            changes.append(
                {"toStageId": stage_ids[idx], "toStageIndex": idx, "updatedAt": at, "userId": owner}
            )
            at += rng.randint(1, 6) * DAY_MS
        last_advanced = changes[-1]["updatedAt"]
        archived = None
        # Drawn for every opportunity so the ids stay what they were, and used only for the
        # two archived examples (everyone else is active, hence invitable).
        roll = rng.random()
        drawn = ""
        if roll < 0.05:
            drawn = rng.choice(hired)
        elif roll < 0.25:
            drawn = rng.choice(non_hired)
        if example in ("archived", "hired"):
            reasons_of_kind = hired if example == "hired" else non_hired
            reason = drawn if drawn in reasons_of_kind else reasons_of_kind[0]
            archived = {"reason": reason, "archivedAt": last_advanced + DAY_MS}
        updated = archived["archivedAt"] if archived else last_advanced
        application = None
        tags: list[str] = []
        if posting:
            cats = posting["categories"]
            tags = [
                cats["department"],
                cats["team"],
                cats["location"],
                cats["commitment"],
                posting["text"],
            ]
            application = {
                "id": _uuid(rng),
                "type": "posting",
                "candidateId": candidate_id,
                "opportunityId": oid,
                "posting": posting["id"],
                "postingHiringManager": posting["hiringManager"],
                "postingOwner": posting["owner"],
                "name": name,
                "company": None,
                "phone": None,
                "email": emails[0] if emails else None,
                "links": [],
                "comments": None,
                "user": None,
                "customQuestions": [],
                "createdAt": created,
                "archived": archived,
                "requisitionForHire": None,
            }
        result.append(
            {
                "id": oid,
                "name": name,
                "headline": ", ".join(rng.sample(_SCHOOLS, 2)),
                "contact": contact,
                "emails": emails,
                "phones": [{"type": "mobile", "value": f"+1 415 555 {1000 + i:04d}"}]
                if i % 5
                else [],
                "confidentiality": "confidential"
                if example == "confidential"
                else "non-confidential",
                "location": posting["categories"]["location"] if posting else "Remote",
                "links": [f"https://www.linkedin.com/in/demo-{i}"] if i % 3 == 0 else [],
                "archived": archived,
                "createdAt": created,
                "updatedAt": updated,
                "lastInteractionAt": updated,
                "lastAdvancedAt": last_advanced,
                "snoozedUntil": None,
                "stage": stage_ids[stage_index],
                "stageChanges": changes,
                "owner": owner,
                "tags": tags,
                "sources": [rng.choice(_SOURCES)],
                "origin": rng.choice(_ORIGINS),
                "sourcedBy": None,
                "applications": [application["id"]] if application else [],
                "resume": None,
                "followers": [owner],
                "urls": {
                    "list": f"{CANDIDATE_HOSTS['us']}/candidates",
                    "show": candidate_url(oid),
                },
                "dataProtection": None,
                "isAnonymized": False,
                "opportunityLocation": posting["categories"]["location"]
                if posting
                else "unspecified",
                "_candidateId": candidate_id,
                "_application": application,
            }
        )
    return result


def _ascii(text: str) -> str:
    """``text`` without its accents (``zoë.müller`` → ``zoe.muller``), as mail addresses are."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _pick_stage(rng: random.Random, i: int, count: int) -> int:
    # Most candidacies sit early in the pipeline, as in a real account.
    weights = [2, 1, 1, 10, 6, 5, 4, 3, 2, 2][:count] + [1] * max(0, count - 10)
    return rng.choices(range(count), weights=weights)[0]


def demo_opportunity_ids(n: int, *, seed: int = DEMO_SEED) -> list[str]:
    """The first ``n`` seeded opportunities a Karat demo can invite.

    Each is active, applied to a published posting, has a name and an email, and is none of
    the deliberate examples of what the invite preview refuses (``DEMO_EXAMPLES``).

    Stable for a given seed, so the Karat demo seed can link candidacies to sandbox
    opportunities without talking to the sandbox.
    """
    data = demo_data(seed)
    published = {p["id"] for p in data.postings if p["state"] == "published"}
    examples = set(demo_examples(seed).values())
    ids = [
        o["id"]
        for o in data.opportunities
        if o["id"] not in examples
        and o["archived"] is None
        and o["_application"]
        and o["_application"]["posting"] in published
        and o["emails"]
        and o["name"]
    ]
    if n > len(ids):
        raise ValueError(f"only {len(ids)} demo opportunities are invitable, {n} requested")
    return ids[:n]


def demo_opportunity(opportunity_id: str, *, seed: int = DEMO_SEED) -> dict[str, Any]:
    """One seeded opportunity (as seeded, before any sandbox writes), with its posting id."""
    for o in demo_data(seed).opportunities:
        if o["id"] == opportunity_id:
            return o
    raise KeyError(opportunity_id)


def demo_examples(seed: int = DEMO_SEED) -> dict[str, str]:
    """The opportunity id of each deliberate example in ``DEMO_EXAMPLES``, by its name."""
    opportunities = demo_data(seed).opportunities
    return {name: opportunities[index]["id"] for name, index in DEMO_EXAMPLES.items()}
