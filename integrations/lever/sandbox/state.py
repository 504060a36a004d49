"""The sandbox's Lever account: reads, the writes Lever allows, and the webhook events they fire."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from integrations.lever.sandbox.demo import CANDIDATE_HOSTS, DEMO_SEED, candidate_url, demo_data
from integrations.lever.sandbox.permissions import ALL_PERMISSIONS
from integrations.lever.sandbox.store import Store, dumps, now_ms

# Lever sends a test delivery when a webhook is saved; the sandbox sends it this much later.
TEST_DELIVERY_DELAY_SECONDS = 1.0

# Events the sandbox delivers, in the order Lever's webhook page lists them.
DELIVERED_EVENTS = (
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateHired",
    "candidateDeleted",
)
EVENT_LABELS = {
    "candidateStageChange": "Candidate Stage Change",
    "candidateArchiveChange": "Candidate Archive State Change",
    "candidateHired": "Candidate Hired",
    "candidateDeleted": "Candidate Deleted",
}
# Lever accepts webhooks for these too (integrations/lever/README.md §9.1); the sandbox stores
# but never fires them.
KNOWN_EVENTS = (
    *DELIVERED_EVENTS,
    "applicationCreated",
    "interviewCreated",
    "interviewUpdated",
    "interviewDeleted",
    "contactCreated",
    "contactUpdated",
)
ORIGINS = ("applied", "sourced", "referred", "university", "agency", "internal")
COUNTER_KINDS = (
    "notes",
    "tags_added",
    "tags_removed",
    "links_added",
    "links_removed",
    "stage_moves",
    "archives",
    "unarchives",
    "hires",
)


class SandboxError(Exception):
    """A request the sandbox refuses; ``status`` and ``code`` become the Lever error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> SandboxError:
    return SandboxError(400, "BadRequestError", message)


def not_found(message: str) -> SandboxError:
    return SandboxError(404, "ResourceNotFound", message)


@dataclass(frozen=True)
class Event:
    name: str
    opportunity_id: str
    origin: str | None
    data: dict[str, Any]
    triggered_at: int


def sign(signature_token: str, token: str, triggered_at: int) -> str:
    """Lever's webhook signature: hex HMAC-SHA256 of token + str(triggeredAt)
    (integrations/lever/README.md §9.4)."""
    message = f"{token}{triggered_at}".encode()
    return hmac.new(signature_token.encode(), message, hashlib.sha256).hexdigest()


def _new_token() -> str:
    return secrets.token_hex(24)  # 48 characters, like Lever's


class Sandbox:
    """State plus rules. Both the API and the control pages write through these methods.

    Writes run in one SQLite transaction that also queues the webhook deliveries they cause,
    so a delivery exists exactly when its change does. ``on_delivery`` is called after commit
    to wake the delivery threads.
    """

    def __init__(
        self,
        store: Store,
        *,
        region: str = "us",
        seed: bool = True,
        seed_value: int = DEMO_SEED,
    ) -> None:
        region = "us" if region == "global" else region
        if region not in CANDIDATE_HOSTS:
            raise ValueError(f"region must be one of {sorted(CANDIDATE_HOSTS)}")
        self.store = store
        self.region = region
        self.seed_value = seed_value
        self.on_delivery: Callable[[], None] = lambda: None
        self._clock_lock = threading.Lock()
        self._last_ms = 0
        self._postings_cache: list[dict[str, Any]] | None = None
        if seed and not store.is_seeded():
            store.seed(demo_data(seed_value), seed_value=seed_value)

    def reset(self) -> None:
        """Wipe everything (keys, webhooks, deliveries, counters too) and reseed."""
        self.store.wipe()
        self.store.seed(demo_data(self.seed_value), seed_value=self.seed_value)
        self._postings_cache = None

    def now(self) -> int:
        # Strictly increasing milliseconds, so two quick writes never share an updatedAt.
        with self._clock_lock:
            self._last_ms = max(now_ms(), self._last_ms + 1)
            return self._last_ms

    # --- reads ----------------------------------------------------------------------------

    def stages(self) -> list[dict[str, Any]]:
        return self.store.docs("stages", order="position")

    def archive_reasons(self) -> list[dict[str, Any]]:
        return self.store.docs("archive_reasons", order="position")

    def users(self) -> list[dict[str, Any]]:
        return self.store.docs("users")

    def postings(self) -> list[dict[str, Any]]:
        """Every posting, in list order. Read-only: the parsed list is kept until a posting
        changes (a page of a 10,000-posting list would otherwise parse all 10,000)."""
        cached = self._postings_cache
        if cached is None:
            cached = self._postings_cache = self.store.docs("postings")
        return cached

    def opportunities(self) -> list[dict[str, Any]]:
        return self.store.docs("opportunities")

    def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        doc = self.store.doc("opportunities", opportunity_id)
        if doc is None:
            raise not_found(f"opportunities {opportunity_id} was not found")
        return doc

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self.store.doc("users", user_id)

    def is_hired(self, doc: dict[str, Any]) -> bool:
        archived = doc.get("archived")
        if not archived:
            return False
        reason = self.store.doc("archive_reasons", archived["reason"])
        return bool(reason and reason["type"] == "hired")

    def public(self, doc: dict[str, Any], expand: Iterable[str] = ()) -> dict[str, Any]:
        """The opportunity as the API returns it (private keys removed, ``expand`` applied)."""
        out = {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}
        out["urls"] = {
            "list": f"{CANDIDATE_HOSTS[self.region]}/candidates",
            "show": candidate_url(doc["id"], self.region),
        }
        for name in set(expand):
            if name == "applications":
                out["applications"] = (
                    [copy.deepcopy(doc["_application"])] if doc["_application"] else []
                )
            elif name == "stage":
                stage = self.store.doc("stages", doc["stage"])
                out["stage"] = stage or {"id": doc["stage"], "text": None}
            elif name in ("owner", "sourcedBy"):
                out[name] = self.user(doc[name]) if doc.get(name) else None
            elif name == "followers":
                out["followers"] = [u for u in (self.user(f) for f in doc["followers"]) if u]
            elif name == "contact":
                out["contact"] = {
                    "id": doc["contact"],
                    "name": doc["name"],
                    "headline": doc["headline"],
                    "isAnonymized": bool(doc.get("isAnonymized", False)),
                    "location": {"name": doc["location"]},
                    "emails": doc["emails"],
                    "phones": doc["phones"],
                }
        return out

    def notes(self, opportunity_id: str) -> list[dict[str, Any]]:
        rows = self.store.query(
            "SELECT doc FROM notes WHERE opportunity_id = ? ORDER BY created_at, rowid",
            (opportunity_id,),
        )
        return [json.loads(r["doc"]) for r in rows]

    def tags(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for doc in self.opportunities():
            for tag in doc["tags"]:
                counts[tag] = counts.get(tag, 0) + 1
        return [{"text": t, "count": counts[t]} for t in sorted(counts)]

    def counters(self, opportunity_id: str | None = None) -> dict[str, Any]:
        rows = self.store.query("SELECT opportunity_id, kind, count FROM counters ORDER BY 1, 2")
        total = dict.fromkeys(COUNTER_KINDS, 0)
        per: dict[str, dict[str, int]] = {}
        for r in rows:
            total[r["kind"]] = total.get(r["kind"], 0) + r["count"]
            per.setdefault(r["opportunity_id"], dict.fromkeys(COUNTER_KINDS, 0))[r["kind"]] = r[
                "count"
            ]
        if opportunity_id is not None:
            return per.get(opportunity_id, dict.fromkeys(COUNTER_KINDS, 0))
        return {"total": total, "opportunities": per}

    def reset_counters(self) -> None:
        with self.store.tx() as c:
            c.execute("DELETE FROM counters")

    # --- writes ---------------------------------------------------------------------------

    def check_perform_as(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        user = self.user(user_id) if user_id else None
        if user is None:
            raise bad_request(f"perform_as user {user_id!r} was not found")
        if user["deactivatedAt"] is not None:
            raise bad_request(
                f"perform_as user {user_id} is deactivated and cannot perform actions"
            )
        return user_id

    def _write(
        self,
        opportunity_id: str,
        change: Callable[[dict[str, Any], int], list[Event]],
        *,
        counter: str | Callable[[dict[str, Any]], list[str]] | None,
    ) -> dict[str, Any]:
        with self.store.tx():
            doc = self.opportunity(opportunity_id)
            at = self.now()
            events = change(doc, at)
            doc["updatedAt"] = at
            doc["lastInteractionAt"] = at
            self.store.put_opportunity(doc)
            kinds = counter(doc) if callable(counter) else [counter] if counter else []
            for kind in kinds:
                self.store.bump_counter(opportunity_id, kind)
            queued = self._queue_events(events)
        if queued:
            self.on_delivery()
        return doc

    def move_stage(
        self, opportunity_id: str, stage_id: Any, *, user_id: str | None = None, count: bool = True
    ) -> dict[str, Any]:
        if not isinstance(stage_id, str) or not stage_id:
            raise bad_request("stage is required and must be a stage id")
        stage_ids = [s["id"] for s in self.stages()]
        if stage_id not in stage_ids:
            raise bad_request(f"stages {stage_id} was not found")

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            previous = doc["stage"]
            if previous == stage_id:
                return []  # same stage: nothing moves, nothing fires
            doc["stage"] = stage_id
            doc["lastAdvancedAt"] = at
            doc["stageChanges"].append(
                {
                    "toStageId": stage_id,
                    "toStageIndex": stage_ids.index(stage_id),
                    "userId": user_id,
                    "updatedAt": at,
                }
            )
            data = {**self._ids(doc), "fromStageId": previous, "toStageId": stage_id}
            return [Event("candidateStageChange", doc["id"], doc.get("origin"), data, at)]

        return self._write(opportunity_id, change, counter="stage_moves" if count else None)

    def set_archived(
        self, opportunity_id: str, reason_id: Any, *, user_id: str | None = None, count: bool = True
    ) -> dict[str, Any]:
        """Archive with a reason, change the reason, or unarchive with ``None`` (Lever's rules)."""
        reason = None
        if reason_id is not None:
            if not isinstance(reason_id, str) or not reason_id:
                raise bad_request("reason must be an archive reason id or null")
            reason = self.store.doc("archive_reasons", reason_id)
            if reason is None:
                raise bad_request(f"archive_reasons {reason_id} was not found")
            if reason["status"] != "active":
                raise bad_request(f"archive reason {reason_id} is inactive")
        kinds: list[str] = []

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            before = doc["archived"]
            # Counted even when nothing changes, so "sent exactly once" tests see repeats.
            kinds.append("archives" if reason_id else "unarchives")
            if (before or {}).get("reason") == reason_id:
                return []  # already in that state: idempotent, fires nothing
            was_hired = self.is_hired(doc)
            after = {"reason": reason_id, "archivedAt": at} if reason_id else None
            doc["archived"] = after
            if doc["_application"]:
                doc["_application"]["archived"] = after
            ids = self._ids(doc)
            events = [
                Event(
                    "candidateArchiveChange",
                    doc["id"],
                    doc.get("origin"),
                    {**ids, "fromArchived": before, "toArchived": after},
                    at,
                )
            ]
            if reason and reason["type"] == "hired" and not was_hired:
                kinds.append("hires")
                events.append(Event("candidateHired", doc["id"], doc.get("origin"), ids, at))
            return events

        return self._write(opportunity_id, change, counter=(lambda _doc: kinds) if count else None)

    def hire(
        self, opportunity_id: str, reason_id: str | None = None, *, user_id: str | None = None
    ) -> dict[str, Any]:
        """Mark hired from the control page: archive with a hired-type reason."""
        if reason_id is None:
            reason_id = next(r["id"] for r in self.archive_reasons() if r["type"] == "hired")
        return self.set_archived(opportunity_id, reason_id, user_id=user_id, count=False)

    def change_tags(
        self, opportunity_id: str, tags: Any, *, add: bool, count: bool = True
    ) -> dict[str, Any]:
        tags = _string_list(tags, "tags")

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            if add:
                doc["tags"] += [t for t in dict.fromkeys(tags) if t not in doc["tags"]]
            else:
                doc["tags"] = [t for t in doc["tags"] if t not in tags]
            return []

        kind = "tags_added" if add else "tags_removed"
        return self._write(opportunity_id, change, counter=kind if count else None)

    def change_links(
        self, opportunity_id: str, links: Any, *, add: bool, count: bool = True
    ) -> dict[str, Any]:
        links = _string_list(links, "links")
        target = self.opportunity(opportunity_id)

        def apply(doc: dict[str, Any]) -> None:
            if add:
                doc["links"] += [x for x in dict.fromkeys(links) if x not in doc["links"]]
            else:
                doc["links"] = [x for x in doc["links"] if x not in links]

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            apply(doc)
            # Links live on the contact: every opportunity of this person shows them.
            for other in self.store.opportunities_of_contact(target["contact"]):
                if other["id"] != doc["id"]:
                    apply(other)
                    other["updatedAt"] = at
                    self.store.put_opportunity(other)
            return []

        kind = "links_added" if add else "links_removed"
        return self._write(opportunity_id, change, counter=kind if count else None)

    def set_confidentiality(self, opportunity_id: str, confidential: bool) -> dict[str, Any]:
        """Make an opportunity confidential or not (in Lever: moved onto a confidential
        posting). Its updatedAt moves; no webhook fires. Keys without confidential access
        then get a 403 reading it, and lists leave it out."""
        value = "confidential" if confidential else "non-confidential"

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            doc["confidentiality"] = value
            return []

        return self._write(opportunity_id, change, counter=None)

    def set_snoozed(self, opportunity_id: str, until: int | None) -> dict[str, Any]:
        """Snooze an opportunity until ``until`` (ms since the epoch, UTC), or wake it (None).
        Its updatedAt moves; no webhook fires. ``GET /opportunities?snoozed=true`` lists it
        while ``until`` is in the future."""
        if until is not None and (isinstance(until, bool) or not isinstance(until, int)):
            raise bad_request("until must be a timestamp in milliseconds or null")

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            doc["snoozedUntil"] = until
            return []

        return self._write(opportunity_id, change, counter=None)

    # --- postings (for role-matching tests, the demo and the posting-sync bench) -----------

    def add_postings(
        self, count: int, *, confidential_every: int = 0, title: str = "Generated Engineer"
    ) -> list[str]:
        """Create ``count`` postings at once (one transaction), cycling through all six
        states; every ``confidential_every``-th is confidential (0: none). Titles are
        ``"<title> <n>"`` and requisition codes ``GEN-<n>``, n counting every posting added
        this way so far. Returns the new ids in creation (= list) order."""
        if not 1 <= count <= 100_000:
            raise bad_request("count must be from 1 to 100000")
        if confidential_every < 0:
            raise bad_request("confidential_every must be 0 or more")
        states = ("published", "internal", "closed", "draft", "pending", "rejected")
        with self.store.tx() as c:
            start = self.store.one("SELECT COUNT(*) AS n FROM postings WHERE id LIKE 'gen-%'")
            first = int(start["n"]) if start else 0
            at = self.now()
            rows = []
            ids = []
            for i in range(first, first + count):
                state = states[i % len(states)]
                pid = f"gen-{i:08d}-{uuid.uuid4().hex[:12]}"
                confidential = bool(confidential_every) and (i + 1) % confidential_every == 0
                doc = {
                    "id": pid,
                    "text": f"{title} {i + 1}",
                    "createdAt": at + i,
                    "updatedAt": at + i,
                    "user": None,
                    "owner": None,
                    "hiringManager": None,
                    "confidentiality": "confidential" if confidential else "non-confidential",
                    "categories": {
                        "team": f"Team {i % 12}",
                        "department": "Engineering",
                        "location": ("Remote - US", "New York, NY", "London, UK")[i % 3],
                        "allLocations": [],
                        "commitment": "Full-time",
                        "level": None,
                    },
                    "content": {"description": "", "descriptionHtml": "", "lists": []},
                    "country": "US",
                    "followers": [],
                    "tags": [],
                    "state": state,
                    "distributionChannels": ["public", "internal"]
                    if state == "published"
                    else None,
                    "reqCode": f"GEN-{i + 1}",
                    "requisitionCodes": [f"GEN-{i + 1}"],
                    "urls": None,
                    "workplaceType": "remote",
                }
                rows.append((pid, doc["createdAt"], dumps(doc)))
                ids.append(pid)
            c.executemany("INSERT INTO postings VALUES (?, ?, ?)", rows)
            self._postings_cache = None
        return ids

    def update_posting(self, posting_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a posting's ``text``, ``state``, ``requisitionCodes`` or
        ``confidentiality`` as a Lever user would; its ``updatedAt`` moves (no webhook)."""
        allowed = {"text", "state", "requisitionCodes", "confidentiality"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise bad_request(f"cannot change {', '.join(unknown)}; allowed: {sorted(allowed)}")
        with self.store.tx() as c:
            doc = self.store.doc("postings", posting_id)
            if doc is None:
                raise not_found(f"postings {posting_id} was not found")
            doc.update(changes)
            if "requisitionCodes" in changes:
                codes = changes["requisitionCodes"] or []
                doc["reqCode"] = codes[0] if codes else None
            doc["updatedAt"] = self.now()
            c.execute("UPDATE postings SET doc = ? WHERE id = ?", (dumps(doc), posting_id))
            self._postings_cache = None
        return doc

    def delete_posting(self, posting_id: str) -> None:
        """Delete a posting, as deleting it in Lever does: lists no longer return it."""
        with self.store.tx() as c:
            if c.execute("DELETE FROM postings WHERE id = ?", (posting_id,)).rowcount == 0:
                raise not_found(f"postings {posting_id} was not found")
            self._postings_cache = None

    def set_emails(self, opportunity_id: str, emails: list[str]) -> dict[str, Any]:
        """Replace an opportunity's email addresses as a Lever user editing the profile would.
        Lever stores any text there (no address check), so tests can give Karat malformed,
        listed or header-breaking values. Its updatedAt moves; no webhook fires."""
        values = _string_list(emails, "emails")

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            doc["emails"] = values
            return []

        return self._write(opportunity_id, change, counter=None)

    def merge_contact(self, opportunity_id: str, into_contact: str | None = None) -> str:
        """Lever's profile merge: the opportunity's contact, with every opportunity it has, is
        merged into ``into_contact`` (a new contact when None). Each moved opportunity gets
        the surviving contact id (and that person's emails, phones and links added) and a new
        updatedAt; no webhook fires. Returns the surviving contact id."""
        source = self.opportunity(opportunity_id)["contact"]
        target = into_contact or str(uuid.uuid4())
        if not isinstance(target, str) or target == source:
            raise bad_request("merge into another contact id")
        with self.store.tx():
            survivors = self.store.opportunities_of_contact(target)
            at = self.now()
            for doc in self.store.opportunities_of_contact(source):
                doc["contact"] = target
                for name in ("emails", "links"):
                    doc[name] = list(
                        dict.fromkeys([*doc[name], *(v for o in survivors for v in o[name])])
                    )
                doc["updatedAt"] = at
                self.store.put_opportunity(doc)
        return target

    def add_note(
        self,
        opportunity_id: str,
        body: Any,
        *,
        user_id: str | None = None,
        parent_note_id: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object")
        value = body.get("value")
        if not isinstance(value, str) or not value.strip():
            raise bad_request("value is required and must be a non-empty string")
        if len(value) > 100_000:
            raise bad_request("value is too long")
        score = body.get("score")
        if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4)):
            raise bad_request("score must be an integer from 1 to 4")
        for flag in ("secret", "notifyFollowers"):
            if flag in body and not isinstance(body[flag], bool):
                raise bad_request(f"{flag} must be a boolean")
        created = body.get("createdAt")
        if created is not None:
            if isinstance(created, bool) or not isinstance(created, int) or created < 0:
                raise bad_request("createdAt must be a timestamp in milliseconds")
            if created > now_ms() + 60_000:
                raise bad_request("createdAt cannot be in the future")
        note: dict[str, Any] = {}

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            when = created if created is not None else at
            field = {
                "type": "note",
                "text": "Comment",
                "value": value,
                "user": user_id,
                "stage": doc["stage"],
                "score": score,
                "createdAt": when,
            }
            if parent_note_id is not None:
                parent = self.store.doc("notes", parent_note_id)
                if parent is None or parent["_opportunityId"] != doc["id"]:
                    raise not_found(f"notes {parent_note_id} was not found")
                parent["fields"].append(field)
                note.update(parent)
            else:
                note.update(
                    {
                        "id": str(uuid.uuid4()),
                        "text": "Note",
                        "fields": [field],
                        "user": user_id,
                        "secret": bool(body.get("secret", False)),
                        "completedAt": when,
                        "createdAt": when,
                        "deletedAt": None,
                        "_opportunityId": doc["id"],
                    }
                )
            with self.store.tx() as c:
                c.execute(
                    "INSERT INTO notes VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    (note["id"], doc["id"], note["createdAt"], dumps(note)),
                )
            return []

        self._write(opportunity_id, change, counter="notes")
        return note

    # --- deletions and anonymisation (integrations/lever/README.md §19) ----------------------

    def delete_opportunity(self, opportunity_id: str, *, user_id: str | None = None) -> int:
        """Delete an opportunity as deleting a candidate in Lever does: reads answer 404, it
        leaves every list, ``GET /opportunities/deleted`` lists it (with ``deletedAt`` and
        ``deletedBy``) and ``candidateDeleted`` fires (its data: the ids, as the other
        events'; the real shape is UNCONFIRMED). Its notes, panels and feedback forms go too. The
        one way the sandbox deletes a candidate: its pages and control endpoints all call it.
        Returns deletedAt (ms)."""
        with self.store.tx() as c:
            doc = self.opportunity(opportunity_id)
            at = self.now()
            c.execute("DELETE FROM opportunities WHERE id = ?", (opportunity_id,))
            c.execute("DELETE FROM notes WHERE opportunity_id = ?", (opportunity_id,))
            c.execute("DELETE FROM panels WHERE opportunity_id = ?", (opportunity_id,))
            c.execute("DELETE FROM feedback WHERE opportunity_id = ?", (opportunity_id,))
            tomb = {"id": doc["id"], "deletedAt": at, "deletedBy": user_id}
            c.execute(
                "INSERT INTO deleted_opportunities VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at, doc = excluded.doc",
                (doc["id"], at, dumps(tomb)),
            )
            event = Event(
                "candidateDeleted",
                doc["id"],
                doc.get("origin"),
                {**self._ids(doc), "deletedBy": user_id},
                at,
            )
            queued = self._queue_events([event])
        if queued:
            self.on_delivery()
        return at

    def deleted_opportunities(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT doc FROM deleted_opportunities ORDER BY deleted_at, id")
        return [json.loads(r["doc"]) for r in rows]

    def anonymize_opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """Lever's anonymisation (a data-protection request): name, emails, phones, links,
        headline and location erased, ``isAnonymized`` true, updatedAt moves; no webhook fires
        (which event, if any, Lever sends is UNCONFIRMED: Karat's reconciliation finds it)."""

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            doc.update(
                {
                    "name": "",
                    "headline": "",
                    "location": "",
                    "emails": [],
                    "phones": [],
                    "links": [],
                    "isAnonymized": True,
                }
            )
            return []

        return self._write(opportunity_id, change, counter=None)

    # --- webhooks -------------------------------------------------------------------------

    def _ids(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "opportunityId": doc["id"],
            "candidateId": doc["_candidateId"],
            "contactId": doc["contact"],
        }

    def _queue_events(self, events: list[Event]) -> int:
        queued = 0
        # An event with no stored toggle is ON, as on Lever's page by default.
        enabled = {event for event, on in self.event_toggles().items() if on}
        for event in events:
            if event.name not in enabled:
                continue
            for hook in self.store.query("SELECT * FROM webhooks WHERE event = ?", (event.name,)):
                origins = json.loads(hook["origins"]) if hook["origins"] else None
                if origins is not None and event.origin not in origins:
                    continue
                self._queue(hook, event.name, event.data, event.triggered_at, event.opportunity_id)
                queued += 1
        return queued

    def _queue(
        self,
        hook: Any,
        event: str,
        data: dict[str, Any],
        triggered_at: int,
        opportunity_id: str | None,
        *,
        delay: float = 0.0,
    ) -> int:
        token = _new_token()
        body = {
            "triggeredAt": triggered_at,
            "event": event,
            "data": data,
            "token": token,
            "signature": sign(hook["signature_token"], token, triggered_at),
        }
        with self.store.tx() as c:
            cur = c.execute(
                "INSERT INTO deliveries (webhook_id, event, url, opportunity_id, body, status, "
                "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                (
                    hook["id"],
                    event,
                    hook["url"],
                    opportunity_id,
                    dumps(body),
                    time.time() + delay,
                    now_ms(),
                ),
            )
            return int(cur.lastrowid or 0)

    def send_test(self, webhook_id: str) -> int:
        """Queue a test delivery (``data: {}``), whatever the event toggle says."""
        hook = self.store.one("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
        if hook is None:
            raise not_found(f"webhooks {webhook_id} was not found")
        delivery_id = self._queue(hook, hook["event"], {}, self.now(), None)
        self.on_delivery()
        return delivery_id

    def webhook_json(self, row: Any, *, with_token: bool = False) -> dict[str, Any]:
        configuration: dict[str, Any] = {}
        if row["origins"] is not None:
            configuration["conditions"] = {"origins": json.loads(row["origins"])}
        if with_token:
            configuration["signatureToken"] = row["signature_token"]
        return {
            "id": row["id"],
            "event": row["event"],
            "url": row["url"],
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
            "configuration": configuration,
        }

    def webhooks(self) -> list[Any]:
        return self.store.query("SELECT * FROM webhooks ORDER BY created_at, id")

    def create_webhook(
        self, *, url: Any, event: Any, origins: list[str] | None, source: str
    ) -> Any:
        """Save a webhook and, as Lever does when a webhook is saved, send it a signed test
        delivery (``data: {}``), whatever the event toggle says. The test goes out
        TEST_DELIVERY_DELAY_SECONDS later, so the caller can store the signature token that
        only this answer carries before the delivery that needs it arrives."""
        url = _webhook_url(url)
        if event not in KNOWN_EVENTS:
            raise bad_request(f"event must be one of {', '.join(KNOWN_EVENTS)}")
        hook_id, at = str(uuid.uuid4()), self.now()
        with self.store.tx() as c:
            c.execute(
                "INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hook_id,
                    event,
                    url,
                    _new_token(),
                    dumps(origins) if origins is not None else None,
                    source,
                    at,
                    at,
                ),
            )
            hook = c.execute("SELECT * FROM webhooks WHERE id = ?", (hook_id,)).fetchone()
            self._queue(hook, event, {}, at, None, delay=TEST_DELIVERY_DELAY_SECONDS)
        self.on_delivery()
        return hook

    def update_webhook(
        self, hook_id: str, *, url: Any = None, origins: list[str] | None = None, source: str
    ) -> Any:
        with self.store.tx() as c:
            row = _webhook_for_change(c, hook_id, source=source, verb="changed")
            new_url = _webhook_url(url) if url is not None else row["url"]
            new_origins = dumps(origins) if origins is not None else row["origins"]
            c.execute(
                "UPDATE webhooks SET url = ?, origins = ?, updated_at = ? WHERE id = ?",
                (new_url, new_origins, self.now(), hook_id),
            )
            return c.execute("SELECT * FROM webhooks WHERE id = ?", (hook_id,)).fetchone()

    def delete_webhook(self, hook_id: str, *, source: str) -> None:
        with self.store.tx() as c:
            _webhook_for_change(c, hook_id, source=source, verb="deleted")
            c.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))

    def regenerate_token(self, hook_id: str) -> str:
        token = _new_token()
        with self.store.tx() as c:
            if (
                c.execute(
                    "UPDATE webhooks SET signature_token = ? WHERE id = ?", (token, hook_id)
                ).rowcount
                == 0
            ):
                raise not_found(f"webhooks {hook_id} was not found")
        return token

    def event_toggles(self) -> dict[str, bool]:
        rows = self.store.query("SELECT event, enabled FROM webhook_events")
        found = {r["event"]: bool(r["enabled"]) for r in rows}
        return {e: found.get(e, True) for e in DELIVERED_EVENTS}

    def set_event_enabled(self, event: str, enabled: bool) -> None:
        if event not in DELIVERED_EVENTS:
            raise bad_request(f"event must be one of {', '.join(DELIVERED_EVENTS)}")
        with self.store.tx() as c:
            c.execute(
                "INSERT INTO webhook_events VALUES (?, ?) ON CONFLICT (event) DO UPDATE SET enabled = excluded.enabled",
                (event, int(enabled)),
            )

    def deliveries(self, *, event: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM deliveries", []
        if event:
            sql += " WHERE event = ?"
            params.append(event)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        attempts: dict[int, list[dict[str, Any]]] = {}
        if rows:
            marks = ",".join("?" * len(rows))
            for a in self.store.query(
                f"SELECT * FROM delivery_attempts WHERE delivery_id IN ({marks}) ORDER BY id",  # noqa: S608
                [r["id"] for r in rows],
            ):
                attempts.setdefault(a["delivery_id"], []).append(
                    {
                        "attempt": a["attempt"],
                        "at": a["at"],
                        "statusCode": a["status_code"],
                        "error": a["error"],
                        "durationMs": a["duration_ms"],
                    }
                )
        return [
            {
                "id": r["id"],
                "webhookId": r["webhook_id"],
                "event": r["event"],
                "url": r["url"],
                "opportunityId": r["opportunity_id"],
                "status": r["status"],
                "attempts": attempts.get(r["id"], []),
                "createdAt": r["created_at"],
                "lastStatus": r["last_status"],
                "lastError": r["last_error"],
                "body": json.loads(r["body"]),
            }
            for r in rows
        ]

    # --- api keys -------------------------------------------------------------------------

    def create_key(self, *, label: str, permissions: Iterable[str]) -> tuple[str, str]:
        """A new API key; returns (key id, key). The key itself is never shown again."""
        perms = sorted(set(permissions))
        unknown = [p for p in perms if p not in ALL_PERMISSIONS]
        if unknown:
            raise bad_request(f"unknown permissions: {', '.join(unknown)}")
        label = (label or "").strip()[:100] or "API key"
        key_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(36)
        self.store.insert_key(key_id=key_id, label=label, api_key=secret, permissions=perms)
        return key_id, secret

    def revoke_key(self, key_id: str) -> None:
        with self.store.tx() as c:
            c.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now_ms(), key_id),
            )

    def api_keys(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT * FROM api_keys ORDER BY created_at, id")
        return [
            {
                "id": r["id"],
                "label": r["label"],
                "last4": r["last4"],
                "permissions": json.loads(r["permissions"]),
                "createdAt": r["created_at"],
                "revokedAt": r["revoked_at"],
            }
            for r in rows
        ]

    # --- users and hiring teams (the hiring team feature; README §17) ------------------------

    def add_user(
        self, *, name: Any, email: Any, access_role: str = "interviewer"
    ) -> dict[str, Any]:
        """Add a Lever user, as a Super Admin inviting someone would. Lever checks the address
        loosely; the sandbox stores the text as given (tests give Karat odd or hostile ones)."""
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name must be a non-empty string")
        if not isinstance(email, str) or not email.strip():
            raise bad_request("email must be a non-empty string")
        at = self.now()
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name.strip()[:200],
            "username": name.strip().split()[0].lower(),
            "email": email,
            "accessRole": access_role,
            "photo": None,
            "createdAt": at,
            "deactivatedAt": None,
            "externalDirectoryId": None,
            "linkedContactIds": None,
            "jobTitle": None,
            "managerId": None,
        }
        with self.store.tx() as c:
            c.execute("INSERT INTO users VALUES (?, ?, ?)", (doc["id"], at, dumps(doc)))
        return doc

    def _user_id(self, value: Any, name: str) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or self.user(value) is None:
            raise bad_request(f"{name} must be the id of a user of this account")
        return value

    def set_posting_team(self, posting_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a posting's ``owner``, ``hiringManager`` (a user id or null) or ``followers``
        (user ids), as a Lever user editing the posting would; its ``updatedAt`` moves, so the
        next changes-only posting sync reads it (no webhook fires)."""
        allowed = {"owner", "hiringManager", "followers"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise bad_request(f"cannot change {', '.join(unknown)}; allowed: {sorted(allowed)}")
        values: dict[str, Any] = {}
        for name in ("owner", "hiringManager"):
            if name in changes:
                values[name] = self._user_id(changes[name], name)
        if "followers" in changes:
            followers = changes["followers"]
            if not isinstance(followers, list):
                raise bad_request("followers must be a list of user ids")
            values["followers"] = [self._user_id(f, "followers") for f in followers if f]
        with self.store.tx() as c:
            doc = self.store.doc("postings", posting_id)
            if doc is None:
                raise not_found(f"postings {posting_id} was not found")
            doc.update(values)
            doc["updatedAt"] = self.now()
            c.execute("UPDATE postings SET doc = ? WHERE id = ?", (dumps(doc), posting_id))
            self._postings_cache = None
        return doc

    def set_owner(self, opportunity_id: str, user_id: Any) -> dict[str, Any]:
        """Give an opportunity another owner (a user id, or null for none), as reassigning it in
        Lever does. Its updatedAt moves, so the reconciliation reads it; no webhook fires."""
        owner = self._user_id(user_id, "owner")

        def change(doc: dict[str, Any], at: int) -> list[Event]:
            doc["owner"] = owner
            return []

        return self._write(opportunity_id, change, counter=None)


def _string_list(values: Any, name: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise bad_request(f"{name} must be a non-empty list of strings")
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise bad_request(f"{name} must contain only non-empty strings")
    if len(values) > 100:
        raise bad_request(f"at most 100 {name} per request")
    return list(values)


def _webhook_for_change(c: Any, hook_id: str, *, source: str, verb: str) -> Any:
    """The webhook row, if ``source`` may change it: the API may touch only what it created."""
    row = c.execute("SELECT * FROM webhooks WHERE id = ?", (hook_id,)).fetchone()
    if row is None:
        raise not_found(f"webhooks {hook_id} was not found")
    if source == "api" and row["source"] != "api":
        raise SandboxError(
            403,
            "ForbiddenError",
            f"only webhooks created through the API can be {verb} through the API",
        )
    return row


def _webhook_url(url: Any) -> str:
    # Lever insists on HTTPS with a real certificate; local receivers are plain http, so allow both.
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise bad_request("url must be an http(s) URL")
    return url
