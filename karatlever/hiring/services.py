"""Writes for the hiring domain. Every state change validates its transition and is timelined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from karatlever.accounts.models import Group, User
from karatlever.email_headers import header_text
from karatlever.errors import ApplicationError
from karatlever.hiring.models import (
    Candidacy,
    CandidacyEvent,
    KaratStatus,
    Milestone,
    Recommendation,
    Role,
    RoleFollower,
)
from karatlever.hiring.signals import candidacy_changed


class HiringError(ApplicationError):
    """A hiring rule was broken; the message is safe to show to the user.

    An ``ApplicationError``: the API answers with ``status_code`` and the error's ``field``
    (``karatlever/api.py``), a console form puts it on that field (``form_errors_from``).
    """

    default_code = "hiring_rule"


class InvalidTransition(HiringError):
    """The milestone cannot follow the candidacy's Karat status (an API answers 409)."""

    status_code = 409
    default_code = "invalid_transition"


class MilestoneInvalid(HiringError):
    """A milestone's fields are wrong or missing (an API answers 400)."""

    default_code = "invalid"


class TimeConflict(InvalidTransition):
    """The milestone's times contradict the candidacy's: completing an interview that has not
    started, an interview before the invitation (409)."""

    default_code = "time_conflict"


class EventIdReused(HiringError):
    """The interview platform's event id was already used for a different milestone (409)."""

    status_code = 409
    default_code = "event_id_reused"


# Which Karat statuses each milestone may follow, and the status it leads to. "invited" is the
# candidacy's creation (candidacy_create); "redo" sends a finished or stopped interview back to
# invited so the candidate can take it again; "scheduled" again is a reschedule.
MILESTONE_RULES: dict[str, tuple[frozenset[str], str]] = {
    Milestone.SCHEDULED: (
        frozenset({KaratStatus.INVITED, KaratStatus.SCHEDULED}),
        KaratStatus.SCHEDULED,
    ),
    Milestone.COMPLETED: (frozenset({KaratStatus.SCHEDULED}), KaratStatus.COMPLETED),
    Milestone.RESULTS_READY: (frozenset({KaratStatus.COMPLETED}), KaratStatus.RESULTS_READY),
    Milestone.CANCELLED: (
        frozenset({KaratStatus.INVITED, KaratStatus.SCHEDULED}),
        KaratStatus.CANCELLED,
    ),
    Milestone.EXPIRED: (
        frozenset({KaratStatus.INVITED, KaratStatus.SCHEDULED}),
        KaratStatus.EXPIRED,
    ),
    Milestone.REDO: (
        frozenset(
            {
                KaratStatus.COMPLETED,
                KaratStatus.RESULTS_READY,
                KaratStatus.CANCELLED,
                KaratStatus.EXPIRED,
            }
        ),
        KaratStatus.INVITED,
    ),
}

SUMMARY_MAX_LENGTH = 5000
# A scheduled interview's length: at least a minute, at most a working day (minutes).
INTERVIEW_DURATION_MAX_MINUTES = 480
INTERVIEW_URL_MAX_LENGTH = 500

# How far apart two clocks (the interview platform's, ours) may be before their times are
# taken to contradict each other.
CLOCK_SKEW = timedelta(minutes=5)


def milestones_allowed(status: str) -> list[str]:
    """The milestones that may follow a Karat status, in Milestone order."""
    return [m for m, (after, _) in MILESTONE_RULES.items() if status in after]


def _event_record(
    *,
    candidacy: Candidacy,
    kind: str,
    source: str,
    summary: str,
    detail: dict[str, object] | None = None,
    actor: User | None = None,
    occurred_at: datetime | None = None,
    milestone: str = "",
    external_id: str = "",
) -> CandidacyEvent:
    event = CandidacyEvent.objects.create(
        candidacy=candidacy,
        kind=kind,
        source=source,
        summary=summary[:300],
        detail=detail or {},
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
        milestone=milestone,
        external_id=external_id,
    )
    candidacy_changed.send(sender=Candidacy, candidacy=candidacy, event=event)
    return event


def candidacy_event_add(
    *,
    candidacy: Candidacy,
    kind: str,
    source: str,
    summary: str,
    detail: dict[str, object] | None = None,
    actor: User | None = None,
) -> CandidacyEvent:
    """Add a timeline entry written by an app above hiring (an invitation email sent, an
    update posted to the ATS). It records no milestone, so outbound receivers skip it;
    ``candidacy_changed`` still fires. ``summary`` is cut to 300 characters; ``detail`` becomes
    the event's JSON detail (``{"via": "console", "url": "https://…", ...}``)."""
    return _event_record(
        candidacy=candidacy,
        kind=kind,
        source=source,
        summary=summary,
        detail=detail,
        actor=actor,
    )


def role_create(
    *, group: Group, title: str, requisition_code: str = "", active: bool = True
) -> Role:
    """A role; its title is made one line (``header_text``): it goes into the subject of
    invitation emails, and may come from an ATS posting title."""
    return Role.objects.create(
        group=group,
        title=header_text(title),
        requisition_code=requisition_code.strip(),
        active=active,
    )


def role_update(*, role: Role, title: str, requisition_code: str, active: bool) -> Role:
    role.title = header_text(title)
    role.requisition_code = requisition_code.strip()
    role.active = active
    role.save(update_fields=["title", "requisition_code", "active", "updated_at"])
    return role


@transaction.atomic
def candidacy_create(
    *,
    role: Role,
    candidate_name: str,
    candidate_email: str,
    actor: User | None = None,
    source: str = CandidacyEvent.Source.PERSON,
) -> Candidacy:
    """Create an invited candidacy for an active role and timeline it."""
    if not role.active:
        raise HiringError(f"The role “{role.title}” is not active.")
    candidacy = Candidacy.objects.create(
        group=role.group,
        role=role,
        candidate_name=candidate_name.strip(),
        candidate_email=candidate_email.strip().lower(),
        karat_status=KaratStatus.INVITED,
    )
    _event_record(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.CREATED,
        source=source,
        summary=f"Invited to interview for {role.title}",
        detail={"to": KaratStatus.INVITED},
        actor=actor,
        milestone=Milestone.INVITED,
    )
    return candidacy


@dataclass(frozen=True)
class MilestoneResult:
    """What ``candidacy_milestone_record`` did: ``created`` is False for a replayed event id."""

    candidacy: Candidacy
    event: CandidacyEvent
    created: bool


def _milestone_fields_check(
    milestone: str,
    *,
    scheduled_at: datetime | None,
    recommendation: str,
    summary: str,
    report_url: str,
) -> None:
    if milestone not in MILESTONE_RULES:
        raise MilestoneInvalid(
            f"Unknown milestone “{milestone}”; use one of {', '.join(MILESTONE_RULES)}.",
            field="milestone",
        )
    if milestone == Milestone.SCHEDULED and scheduled_at is None:
        raise MilestoneInvalid(
            "A scheduled interview needs its time (scheduled_at).", field="scheduled_at"
        )
    if scheduled_at is not None and timezone.is_naive(scheduled_at):
        raise MilestoneInvalid(
            "The interview time needs a time zone (for example …Z).", field="scheduled_at"
        )
    if milestone == Milestone.RESULTS_READY and recommendation not in Recommendation.values:
        raise MilestoneInvalid(
            "Results need a recommendation: " + ", ".join(Recommendation.values) + ".",
            field="recommendation",
        )
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise MilestoneInvalid(
            f"The summary is longer than {SUMMARY_MAX_LENGTH} characters.", field="summary"
        )
    if report_url:
        try:
            URLValidator(schemes=["https", "http"])(report_url)
        except ValidationError:
            raise MilestoneInvalid(
                "The report link is not a valid http(s) URL.", field="report_url"
            ) from None
        if len(report_url) > 500:
            raise MilestoneInvalid(
                "The report link is longer than 500 characters.", field="report_url"
            )


@cache
def _timezones() -> frozenset[str]:
    # Read from the system's tz database once per process (it lists files on every call).
    return frozenset(available_timezones())


def _interview_fields_check(
    milestone: str, *, duration_minutes: int | None, timezone_name: str, interview_url: str
) -> None:
    """The optional details of a ``scheduled`` milestone: a length of 1 to
    INTERVIEW_DURATION_MAX_MINUTES minutes, an IANA time zone name, an http(s) join link.
    Other milestones take none of them."""
    given = duration_minutes is not None or timezone_name or interview_url
    if given and milestone != Milestone.SCHEDULED:
        raise MilestoneInvalid(
            "The interview's length, time zone and link go with “scheduled” only.",
            field="duration_minutes"
            if duration_minutes is not None
            else "timezone"
            if timezone_name
            else "interview_url",
        )
    if duration_minutes is not None and (
        isinstance(duration_minutes, bool)
        or not 1 <= duration_minutes <= INTERVIEW_DURATION_MAX_MINUTES
    ):
        raise MilestoneInvalid(
            f"The interview's length is 1 to {INTERVIEW_DURATION_MAX_MINUTES} minutes.",
            field="duration_minutes",
        )
    if timezone_name and timezone_name not in _timezones():
        raise MilestoneInvalid(
            "The time zone is not an IANA time zone name (for example Europe/Berlin).",
            field="timezone",
        )
    if interview_url:
        if len(interview_url) > INTERVIEW_URL_MAX_LENGTH:
            raise MilestoneInvalid(
                f"The interview link is longer than {INTERVIEW_URL_MAX_LENGTH} characters.",
                field="interview_url",
            )
        try:
            URLValidator(schemes=["https", "http"])(interview_url)
        except ValidationError:
            raise MilestoneInvalid(
                "The interview link is not a valid http(s) URL.", field="interview_url"
            ) from None


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _milestone_times_check(
    candidacy: Candidacy, milestone: str, *, scheduled_at: datetime | None
) -> None:
    """Refuse (TimeConflict) a milestone whose times contradict the candidacy's, within
    CLOCK_SKEW: ``completed`` and ``results_ready`` for an interview that has not started;
    ``expired`` while the booked interview is still ahead (cancel it instead); ``scheduled`` for
    a time before the candidate was invited (or before the last redo). A past time after that
    is accepted: the platform may report a booking late. ``cancelled`` and ``redo`` take none."""
    now = timezone.now()
    ahead = candidacy.interview_scheduled_at
    if ahead is not None and ahead > now + CLOCK_SKEW:
        if milestone in (Milestone.COMPLETED, Milestone.RESULTS_READY):
            raise TimeConflict(
                f"The interview is scheduled for {_when(ahead)} and has not started yet, so it "
                f"can't be marked “{Milestone(milestone).label.lower()}”. If it was moved "
                "earlier, send “scheduled” with the new time first."
            )
        if milestone == Milestone.EXPIRED:
            raise TimeConflict(
                f"The interview is booked for {_when(ahead)}, still ahead, so the invitation "
                "has not expired. If the interview won't happen, it is cancelled."
            )
    if milestone == Milestone.SCHEDULED and scheduled_at is not None:
        start = (
            CandidacyEvent.objects.filter(
                candidacy=candidacy, milestone__in=[Milestone.INVITED, Milestone.REDO]
            )
            .order_by("-occurred_at", "-pk")
            .values_list("occurred_at", "milestone")
            .first()
        )
        since, why = start if start is not None else (candidacy.created_at, Milestone.INVITED)
        if scheduled_at < since - CLOCK_SKEW:
            event = "was invited" if why == Milestone.INVITED else "was sent for a redo"
            raise TimeConflict(
                f"The interview time {_when(scheduled_at)} is before the candidate {event} "
                f"({_when(since)}): an interview can't come before it. Check the time and its "
                "offset.",
                field="scheduled_at",
            )


@transaction.atomic
def candidacy_milestone_record(
    *,
    candidacy: Candidacy,
    milestone: str,
    event_id: str = "",
    scheduled_at: datetime | None = None,
    recommendation: str = "",
    summary: str = "",
    report_url: str = "",
    actor: User | None = None,
    source: str = CandidacyEvent.Source.KARAT,
    duration_minutes: int | None = None,
    timezone_name: str = "",
    interview_url: str = "",
) -> MilestoneResult:
    """Record a Karat milestone: move the Karat status and timeline it, in one transaction.

    ``event_id`` is the interview platform's id for this event (≤ 100 characters): the same
    id again returns the first event with ``created=False`` and changes nothing.
    ``scheduled_at`` is an aware datetime (required for ``scheduled``); ``recommendation``
    one of Recommendation (required for ``results_ready``); ``summary`` ≤ 5,000 characters;
    ``report_url`` an http(s) URL ≤ 500 characters. ``scheduled`` may also carry the
    interview's ``duration_minutes`` (1 to 480), ``timezone_name`` (IANA, e.g.
    "Europe/Berlin") and ``interview_url`` (http(s), ≤ 500 characters), kept on the candidacy
    and in the event's detail (``duration_minutes`` None, ``timezone``, ``interview_url`` ""
    when not given).

    The timeline event has ``kind=status_changed``, ``milestone`` set, and ``detail`` =
    ``{"from", "to", "milestone", "recommendation", "scheduled_at" (ISO 8601 or ""),
    "summary", "report_url"}``; ``candidacy_changed`` fires inside this transaction.

    Raises MilestoneInvalid (bad or missing fields), InvalidTransition (the milestone cannot
    follow the current status), TimeConflict (an InvalidTransition: its times contradict the
    candidacy's, see ``_milestone_times_check``) or EventIdReused (the id was used for another
    milestone).
    Concurrent calls with one new event id are serialised by the candidacy's row lock; where
    the database has no row locks the unique constraint on (candidacy, external_id) raises
    IntegrityError for the loser, which callers answer by calling again (a replay).
    """
    summary, report_url, event_id = summary.strip(), report_url.strip(), event_id.strip()
    timezone_name, interview_url = timezone_name.strip(), interview_url.strip()
    _interview_fields_check(
        milestone,
        duration_minutes=duration_minutes,
        timezone_name=timezone_name,
        interview_url=interview_url,
    )
    if len(event_id) > 100:
        raise MilestoneInvalid("The event id is longer than 100 characters.", field="event_id")
    _milestone_fields_check(
        milestone,
        scheduled_at=scheduled_at,
        recommendation=recommendation,
        summary=summary,
        report_url=report_url,
    )
    candidacy = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    if event_id:
        earlier = CandidacyEvent.objects.filter(candidacy=candidacy, external_id=event_id).first()
        if earlier is not None:
            if earlier.milestone != milestone:
                raise EventIdReused(
                    f"The event id “{event_id}” was already used for "
                    f"“{earlier.get_milestone_display()}”.",
                    field="event_id",
                )
            return MilestoneResult(candidacy=candidacy, event=earlier, created=False)
    after, status = MILESTONE_RULES[milestone]
    if candidacy.karat_status not in after:
        raise InvalidTransition(
            f"A candidacy that is {candidacy.get_karat_status_display().lower()} cannot be "
            f"marked “{Milestone(milestone).label.lower()}”."
        )
    _milestone_times_check(candidacy, milestone, scheduled_at=scheduled_at)
    previous = candidacy.karat_status
    candidacy.karat_status = status
    if milestone == Milestone.SCHEDULED:
        candidacy.interview_scheduled_at = scheduled_at
        candidacy.interview_duration_minutes = duration_minutes
        candidacy.interview_timezone = timezone_name
        candidacy.interview_url = interview_url
    if milestone == Milestone.RESULTS_READY:
        candidacy.recommendation = recommendation
        candidacy.results_summary = summary
        candidacy.report_url = report_url
    if milestone == Milestone.REDO:
        # A new attempt: the previous interview's time and results no longer describe it.
        candidacy.interview_scheduled_at = None
        candidacy.recommendation = candidacy.results_summary = candidacy.report_url = ""
        candidacy.interview_duration_minutes = None
        candidacy.interview_timezone = candidacy.interview_url = ""
    candidacy.save(
        update_fields=[
            "karat_status",
            "interview_scheduled_at",
            "interview_duration_minutes",
            "interview_timezone",
            "interview_url",
            "recommendation",
            "results_summary",
            "report_url",
            "updated_at",
        ]
    )
    if previous == status:  # e.g. a reschedule: "Scheduled → Scheduled" says nothing
        text = f"{Milestone(milestone).label} (Karat status stays {KaratStatus(status).label})"
    else:
        text = f"{Milestone(milestone).label} (Karat status: {KaratStatus(previous).label} → "
        text += f"{KaratStatus(status).label})"
    if milestone == Milestone.RESULTS_READY:
        text = f"Results ready: {Recommendation(recommendation).label}"
    event = _event_record(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.STATUS_CHANGED,
        source=source,
        summary=text,
        detail={
            "from": previous,
            "to": status,
            "milestone": milestone,
            "recommendation": recommendation if milestone == Milestone.RESULTS_READY else "",
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else "",
            "summary": summary,
            "report_url": report_url,
            "duration_minutes": duration_minutes,
            "timezone": timezone_name,
            "interview_url": interview_url,
        },
        actor=actor,
        milestone=milestone,
        external_id=event_id,
    )
    return MilestoneResult(candidacy=candidacy, event=event, created=True)


@dataclass(frozen=True)
class AtsState:
    """The ATS's current view of a candidacy, as read from Lever."""

    stage_id: str
    stage_name: str
    archived: bool
    archive_reason_id: str = ""
    archive_reason_name: str = ""
    archive_reason_hired: bool = False
    hired: bool = False
    # Lever's opportunity `updatedAt` in ms: orders states so an older one never wins.
    version: int | None = None


@dataclass(frozen=True)
class AtsStateResult:
    candidacy: Candidacy
    events: list[CandidacyEvent]
    stale: bool


@transaction.atomic
def candidacy_ats_state_apply(
    *, candidacy: Candidacy, state: AtsState, origin: dict[str, object] | None = None
) -> AtsStateResult:
    """Apply the ATS's state to a candidacy; one timeline event per change; stale state is ignored.

    Idempotent: applying the same state twice records nothing the second time. ``origin`` is
    where the state came from, a JSON object kept in each event's detail (``{"via": "webhook",
    "event": "candidateStageChange", "delivery_id": 7}``, ``{"via": "reconcile"}``).
    """
    candidacy = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    current = candidacy.ats_state_version
    if state.version is not None and current is not None and state.version < current:
        return AtsStateResult(candidacy=candidacy, events=[], stale=True)

    detail = {"origin": origin or {}, "version": state.version}
    events: list[CandidacyEvent] = []
    changed: list[str] = []

    def record(kind: str, summary: str, extra: dict[str, object]) -> None:
        events.append(
            _event_record(
                candidacy=candidacy,
                kind=kind,
                source=CandidacyEvent.Source.ATS,
                summary=summary,
                detail={**detail, **extra},
            )
        )

    if state.stage_id and state.stage_id != candidacy.ats_stage_id:
        previous = candidacy.ats_stage_name or candidacy.ats_stage_id or "none"
        candidacy.ats_stage_id, candidacy.ats_stage_name = state.stage_id, state.stage_name
        changed += ["ats_stage_id", "ats_stage_name"]
        record(
            CandidacyEvent.Kind.ATS_STAGE_CHANGED,
            f"Stage: {previous} → {state.stage_name or state.stage_id}",
            {"from": previous, "to": state.stage_id},
        )
    if state.archived != candidacy.ats_archived or (
        state.archived and state.archive_reason_id != candidacy.ats_archive_reason_id
    ):
        candidacy.ats_archived = state.archived
        candidacy.ats_archive_reason_id = state.archive_reason_id if state.archived else ""
        candidacy.ats_archive_reason_name = state.archive_reason_name if state.archived else ""
        candidacy.ats_archive_reason_hired = state.archive_reason_hired if state.archived else False
        changed += [
            "ats_archived",
            "ats_archive_reason_id",
            "ats_archive_reason_name",
            "ats_archive_reason_hired",
        ]
        if state.archived:
            record(
                CandidacyEvent.Kind.ATS_ARCHIVED,
                f"Archived: {state.archive_reason_name or state.archive_reason_id}",
                {"reason": state.archive_reason_id, "hired_reason": state.archive_reason_hired},
            )
        else:
            record(CandidacyEvent.Kind.ATS_UNARCHIVED, "Unarchived", {})
    hired = state.hired or (state.archived and state.archive_reason_hired)
    if hired != candidacy.ats_hired:
        candidacy.ats_hired = hired
        changed.append("ats_hired")
        if hired:
            record(CandidacyEvent.Kind.ATS_HIRED, "Hired", {})

    if state.version is not None and state.version != current:
        candidacy.ats_state_version = state.version
        changed.append("ats_state_version")
    if changed:
        candidacy.ats_state_updated_at = timezone.now()
        candidacy.save(update_fields=[*changed, "ats_state_updated_at", "updated_at"])
    return AtsStateResult(candidacy=candidacy, events=events, stale=False)


# --- followers and recruiters from the ATS hiring team (integrations/hiring_team) ------------


@dataclass(frozen=True)
class TeamPerson:
    """One person of an ATS hiring team, as hiring needs them: a lower-case, already validated
    ``email`` ("" when the ATS gave no usable one), a display ``name`` and their
    ``RoleFollower.TeamRole`` values."""

    email: str
    name: str
    team_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleFollowersResult:
    """What ``role_followers_from_ats_set`` changed: Karat users added and removed, and how
    many people are listed as not in Karat now."""

    added: int
    removed: int
    not_in_karat: int


def organization_users_by_email(*, group: Group, emails: set[str]) -> dict[str, User]:
    """Active Karat users of the group's organization whose email (case-insensitive) is among
    ``emails`` (lower-case), keyed by lower-case email. One query."""
    if not emails:
        return {}
    users = User.objects.filter(
        is_active=True, membership__organization_id=group.organization_id
    ).only("id", "email", "full_name")
    # An exact match on the lower-cased column: emails are stored as typed.
    found = users.annotate(email_lower=Lower("email")).filter(email_lower__in=emails)
    return {user.email.lower(): user for user in found}


@transaction.atomic
def role_followers_from_ats_set(*, role: Role, people: list[TeamPerson]) -> RoleFollowersResult:
    """Make the role's ATS-derived followers exactly ``people`` (the hiring teams of the
    postings mapped to it); manual followers stay whatever happens.

    Each person with a Karat account in the role's organization (matched by email) follows
    the role; the others are kept as "not in Karat" rows (``user`` null) and no account is
    ever created. People without a usable email are left out (nothing to match or show).
    Idempotent: the same ``people`` twice changes nothing the second time.
    """
    wanted: dict[str, TeamPerson] = {}
    for person in people:
        if not person.email:
            continue
        known = wanted.get(person.email)
        roles = tuple(dict.fromkeys([*(known.team_roles if known else ()), *person.team_roles]))
        wanted[person.email] = TeamPerson(person.email, known.name if known else person.name, roles)
    users = organization_users_by_email(group=role.group, emails=set(wanted))
    rows = {row.email: row for row in RoleFollower.objects.select_for_update().filter(role=role)}
    added = removed = 0
    for email, row in rows.items():
        if email in wanted or not row.from_ats:
            continue
        if row.manual:
            RoleFollower.objects.filter(pk=row.pk).update(from_ats=False, team_roles=[])
        else:
            row.delete()
            removed += 1 if row.user_id else 0
    for email, person in wanted.items():
        user = users.get(email)
        name = (user.display_name if user else person.name)[:200]
        existing = rows.get(email)
        if existing is None:
            RoleFollower.objects.create(
                role=role,
                user=user,
                email=email,
                name=name,
                from_ats=True,
                team_roles=list(person.team_roles),
            )
            added += 1 if user else 0
            continue
        changes: dict[str, object] = {}
        if not existing.from_ats:
            changes["from_ats"] = True
        if existing.team_roles != list(person.team_roles):
            changes["team_roles"] = list(person.team_roles)
        if existing.user_id != (user.pk if user else None) and not existing.manual:
            # Someone got (or lost) a Karat account since: the row follows.
            changes["user"] = user
            added += 1 if user else 0
        if existing.name != name:
            changes["name"] = name
        if changes:
            for field, value in changes.items():
                setattr(existing, field, value)
            existing.save(update_fields=[*changes, "updated_at"])
    not_in_karat = sum(1 for email in wanted if email not in users)
    return RoleFollowersResult(added=added, removed=removed, not_in_karat=not_in_karat)


@transaction.atomic
def role_followers_from_ats_clear(*, group: Group) -> int:
    """Drop every ATS-derived follower of the group's roles (the feature was turned off);
    manual followers stay. Returns how many rows were deleted."""
    RoleFollower.objects.filter(role__group=group, from_ats=True, manual=True).update(
        from_ats=False, team_roles=[]
    )
    deleted, _ = RoleFollower.objects.filter(role__group=group, from_ats=True).delete()
    return deleted


class FollowerError(HiringError):
    """A manual follower can't be added: not a Karat user of this organization."""

    default_code = "follower_invalid"


@transaction.atomic
def role_follower_add(*, role: Role, user: User, actor: User | None) -> RoleFollower:
    """An admin makes ``user`` (a member of the role's organization) follow the role. Kept by
    every sync. Idempotent. Raises FollowerError for a user of another organization."""
    membership = getattr(user, "membership", None)
    if membership is None or membership.organization_id != role.group.organization_id:
        raise FollowerError("Choose a Karat user of your organization.", field="user")
    email = user.email.lower()
    row = RoleFollower.objects.select_for_update().filter(role=role, email=email).first()
    if row is None:
        return RoleFollower.objects.create(
            role=role,
            user=user,
            email=email,
            name=user.display_name[:200],
            manual=True,
            added_by=actor,
        )
    row.manual, row.user, row.added_by = True, user, row.added_by or actor
    row.save(update_fields=["manual", "user", "added_by", "updated_at"])
    return row


@transaction.atomic
def role_follower_remove(*, follower: RoleFollower) -> bool:
    """An admin removes a manual follower. One who is also on the ATS hiring team stays (as
    ATS-derived: change it in the ATS). True when the row is gone."""
    if follower.from_ats:
        RoleFollower.objects.filter(pk=follower.pk).update(manual=False)
        return False
    follower.delete()
    return True


@dataclass(frozen=True)
class RecruiterResult:
    """What ``candidacy_recruiter_from_ats_owner`` did: the timeline event when the recruiter
    changed, and whether the owner has no Karat account."""

    event: CandidacyEvent | None
    not_in_karat: bool


@transaction.atomic
def candidacy_recruiter_from_ats_owner(
    *,
    candidacy: Candidacy,
    owner: TeamPerson | None,
    origin: dict[str, object] | None = None,
) -> RecruiterResult:
    """Make the candidacy's recruiter the Karat user whose email is the ATS opportunity
    owner's (``owner`` None: the opportunity has no owner; nothing changes but the stored
    owner). An owner with no Karat account in the organization, or no usable email, leaves
    the recruiter as it was and marks the candidacy (``ats_owner_not_in_karat``). A change is
    one timeline entry (``recruiter_changed``, source ATS, ``origin`` in its detail).
    Idempotent."""
    # Only the candidacy's row is locked (PostgreSQL can't lock the nullable side of a join).
    candidacy = (
        Candidacy.objects.select_for_update(of=("self",))
        .select_related("group", "recruiter")
        .get(pk=candidacy.pk)
    )
    name = (owner.name if owner else "")[:200]
    email = owner.email if owner else ""
    user = (
        organization_users_by_email(group=candidacy.group, emails={email}).get(email)
        if email
        else None
    )
    not_in_karat = owner is not None and user is None
    changed: list[str] = []
    for field, value in (
        ("ats_owner_name", name),
        ("ats_owner_email", email),
        ("ats_owner_not_in_karat", not_in_karat),
    ):
        if getattr(candidacy, field) != value:
            setattr(candidacy, field, value)
            changed.append(field)
    event = None
    if user is not None and candidacy.recruiter_id != user.pk:
        previous = candidacy.recruiter.display_name if candidacy.recruiter else "nobody"
        candidacy.recruiter = user
        changed.append("recruiter")
        event = _event_record(
            candidacy=candidacy,
            kind=CandidacyEvent.Kind.RECRUITER_CHANGED,
            source=CandidacyEvent.Source.ATS,
            summary=f"Recruiter: {previous} → {user.display_name} (the opportunity's owner)",
            detail={"origin": origin or {}, "to_user_id": user.pk},
        )
    if changed:
        candidacy.save(update_fields=[*changed, "updated_at"])
    return RecruiterResult(event=event, not_in_karat=not_in_karat)


# --- erasing a candidate's personal data (an ATS deletion under the "anonymise" policy) -------

ERASED_NAME = "Anonymised candidate"
# Timeline detail keys that never hold personal data: what Karat's calibration keeps (the
# milestone, the recommendation, the interview time, outcomes and where a change came from).
_DETAIL_KEPT = frozenset(
    {
        "milestone",
        "recommendation",
        "scheduled_at",
        "status",
        "origin",
        "via",
        "event",
        "delivery_id",
        "kind",
        "updates",
        "error",
        "stage_id",
        "stage_name",
        "archived",
        "archive_reason_id",
        "archive_reason_name",
        "hired",
        "version",
        "cause",
        "policy",
    }
)


def text_erase(value: str, personal: tuple[str, ...]) -> str:
    """``value`` with every occurrence of each of ``personal`` (case-insensitive) replaced by
    "[erased]"; blanks in ``personal`` are skipped."""
    for item in sorted((p for p in personal if p and p.strip()), key=len, reverse=True):
        lowered = value.lower()
        needle = item.lower()
        start = lowered.find(needle)
        while start != -1:
            value = value[:start] + "[erased]" + value[start + len(item) :]
            lowered = value.lower()
            start = lowered.find(needle, start + len("[erased]"))
    return value


def _detail_erase(value: object, personal: tuple[str, ...]) -> object:
    if isinstance(value, dict):
        return {k: _detail_erase(v, personal) for k, v in value.items() if str(k) in _DETAIL_KEPT}
    if isinstance(value, list):
        return [_detail_erase(v, personal) for v in value]
    if isinstance(value, str):
        return text_erase(value, personal)
    return value


@transaction.atomic
def candidacy_anonymise(*, candidacy: Candidacy) -> tuple[str, ...]:
    """Erase the candidate's personal data from the candidacy and its timeline: name and email
    become ``ERASED_NAME`` and "", the results summary (free text) goes, every timeline
    summary loses the name and email and every detail keeps only ``_DETAIL_KEPT`` keys. The
    interview record stays: status, role, interview time, recommendation and report link.
    Returns the personal values that were erased (for the caller's other tables), () when
    already anonymised. Idempotent; fires no signal (nothing is sent anywhere)."""
    locked = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    personal = tuple(
        p for p in (locked.candidate_name, locked.candidate_email) if p and p != ERASED_NAME
    )
    Candidacy.objects.filter(pk=locked.pk).update(
        candidate_name=ERASED_NAME,
        candidate_email="",
        results_summary="",
        updated_at=timezone.now(),
    )
    for event in CandidacyEvent.objects.filter(candidacy=locked).only("pk", "summary", "detail"):
        CandidacyEvent.objects.filter(pk=event.pk).update(
            summary=text_erase(event.summary, personal)[:300],
            detail=_detail_erase(event.detail if isinstance(event.detail, dict) else {}, personal),
        )
    candidacy.candidate_name, candidacy.candidate_email = ERASED_NAME, ""
    candidacy.results_summary = ""
    return personal
