"""Roles, candidacies (Karat status + ATS side) and the candidacy timeline."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.dateparse import parse_datetime


class Role(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey("accounts.Group", on_delete=models.CASCADE, related_name="roles")
    title = models.CharField(max_length=200)
    requisition_code = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "requisition_code"],
                condition=~Q(requisition_code=""),
                name="role_unique_requisition_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.requisition_code})" if self.requisition_code else self.title


class KaratStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Interview completed"
    RESULTS_READY = "results_ready", "Results ready"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Milestone(models.TextChoices):
    """What the Karat interview platform reports about a candidacy (the outbound updates' units).

    ``redo`` lets a candidate take the interview again: the candidacy goes back to invited.
    """

    INVITED = "invited", "Invited"
    SCHEDULED = "scheduled", "Interview scheduled"
    COMPLETED = "completed", "Interview completed"
    RESULTS_READY = "results_ready", "Results ready"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REDO = "redo", "Redo"


class Recommendation(models.TextChoices):
    STRONG_YES = "strong_yes", "Strong yes"
    YES = "yes", "Yes"
    NO = "no", "No"
    STRONG_NO = "strong_no", "Strong no"


class Candidacy(models.Model):
    """One candidate interviewing for one role, with Karat's status and the ATS's view of them."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(
        "accounts.Group", on_delete=models.CASCADE, related_name="candidacies"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="candidacies")
    candidate_name = models.CharField(max_length=200)
    candidate_email = models.EmailField()
    karat_status = models.CharField(
        max_length=20, choices=KaratStatus.choices, default=KaratStatus.INVITED
    )
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices, blank=True)
    # From the interview platform's milestones (see services.candidacy_milestone_record).
    interview_scheduled_at = models.DateTimeField(null=True, blank=True)
    results_summary = models.TextField(blank=True)
    report_url = models.URLField(max_length=500, blank=True)
    # The ATS posting (job) the candidate was invited from, as the ATS names it; blank when
    # not known (invited before Karat remembered it, or the opportunity had no posting). A
    # database default too: code from before this column (a rolling deploy) still inserts.
    ats_posting_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The ATS side, kept current by webhooks and reconciliation.
    ats_stage_id = models.CharField(max_length=100, blank=True)
    ats_stage_name = models.CharField(max_length=200, blank=True)
    ats_archived = models.BooleanField(default=False)
    ats_archive_reason_id = models.CharField(max_length=100, blank=True)
    ats_archive_reason_name = models.CharField(max_length=200, blank=True)
    ats_archive_reason_hired = models.BooleanField(default=False)
    ats_hired = models.BooleanField(default=False)
    # Lever's opportunity `updatedAt` (ms) of the state applied last: older state never wins.
    ats_state_version = models.BigIntegerField(null=True, blank=True)
    ats_state_updated_at = models.DateTimeField(null=True, blank=True)
    # The Karat user who gets this candidacy's notifications. Follows the ATS opportunity's
    # owner when an admin turns that on (integrations/hiring_team); null when nobody is set.
    recruiter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruited_candidacies",
    )
    # The ATS opportunity's owner as last read (name and a validated email, "" when none), and
    # whether no Karat user of the organization has that email (the recruiter then stays).
    ats_owner_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    ats_owner_email = models.CharField(max_length=254, blank=True, default="", db_default="")
    ats_owner_not_in_karat = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The booked interview beside its time (a ``scheduled`` milestone): its length in minutes,
    # the IANA time zone it was booked in, and the link to join it. Optional (the platform may
    # not send them); the ATS's schedule shows them (integrations' interview panels).
    interview_duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    interview_timezone = models.CharField(max_length=64, blank=True, default="", db_default="")
    interview_url = models.URLField(max_length=500, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "candidacies"
        indexes = [
            models.Index(fields=["group", "-created_at"]),
            # The roles page counts each posting's candidacies.
            models.Index(fields=["group", "ats_posting_id"], name="candidacy_group_posting"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_name} — {self.role.title}"

    @property
    def ats_state_known(self) -> bool:
        """Whether Karat ever read the candidate's state in the ATS (stage, archive, hire)."""
        return any(
            (
                self.ats_state_updated_at,
                self.ats_stage_id,
                self.ats_stage_name,
                self.ats_archived,
                self.ats_hired,
            )
        )


class CandidacyEvent(models.Model):
    """One entry of a candidacy's timeline: what happened, when and where it came from.

    Stored text names no ATS: where an entry speaks of the candidacy's ATS it says ``THE_ATS``
    ("Cancelled: posted to the ATS"), and the page puts the ATS's name in its place
    (``summary_shown``, ``kind_shown``), as ``credit`` does for entries from the ATS.
    """

    # What stored text says for the candidacy's ATS (a second ATS shows its own name).
    THE_ATS = "the ATS"

    class Source(models.TextChoices):
        KARAT = "karat", "Karat"
        # The candidacy's ATS: the page shows that ATS's own name (``ats_label`` context).
        ATS = "ats", "ATS"
        PERSON = "person", "A person"

    class Kind(models.TextChoices):
        CREATED = "created", "Candidacy created"
        STATUS_CHANGED = "status_changed", "Karat status changed"
        # Written by apps above hiring (integrations), which own these kinds' meaning.
        INVITE_SENT = "invite_sent", "Invitation sent"
        # The invitation email's outcome (sent, or failed for good), after the invite.
        INVITE_EMAIL = "invite_email", "Invitation email"
        ATS_UPDATE = "ats_update", "Update posted to the ATS"
        ATS_STAGE_CHANGED = "ats_stage_changed", "Stage changed"
        ATS_ARCHIVED = "ats_archived", "Archived"
        ATS_UNARCHIVED = "ats_unarchived", "Unarchived"
        ATS_HIRED = "ats_hired", "Hired"
        # A link to the candidate in the ATS attached or detached after the invite.
        ATS_LINKED = "ats_linked", "Linked to the ATS"
        ATS_UNLINKED = "ats_unlinked", "Unlinked from the ATS"
        # The recruiter followed the ATS opportunity's owner (integrations/hiring_team).
        RECRUITER_CHANGED = "recruiter_changed", "Recruiter changed"
        # The candidate's personal data erased after a deletion or anonymisation in the ATS
        # (integrations/deletions/); ATS_UNLINKED above says why the link went.
        ANONYMISED = "anonymised", "Personal data erased"

    candidacy = models.ForeignKey(Candidacy, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    summary = models.CharField(max_length=300)
    # The Karat milestone this event records (blank for ATS-side and other events).
    milestone = models.CharField(max_length=20, choices=Milestone.choices, blank=True)
    # The interview platform's own event id: the same id twice records one event.
    external_id = models.CharField(max_length=100, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["candidacy", "-occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["candidacy", "external_id"],
                condition=~Q(external_id=""),
                name="candidacy_event_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def detail_scheduled_at(self) -> datetime | None:
        """The interview time a ``scheduled`` milestone recorded (None if absent or unreadable)."""
        value = self.detail.get("scheduled_at") if isinstance(self.detail, dict) else None
        try:
            return parse_datetime(value) if isinstance(value, str) and value else None
        except ValueError:
            return None

    @property
    def detail_recommendation_label(self) -> str:
        """The recommendation a ``results_ready`` milestone recorded, as shown ("Strong yes")."""
        value = self.detail.get("recommendation") if isinstance(self.detail, dict) else None
        if value in Recommendation.values:
            return str(Recommendation(value).label)
        return ""

    @property
    def detail_report_url(self) -> str:
        """The report link a ``results_ready`` milestone recorded, only if it is http(s): the
        page links it, and a detail written some other way must not become a script link."""
        value = self.detail.get("report_url") if isinstance(self.detail, dict) else None
        if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
            return value
        return ""

    def summary_shown(self, *, ats_label: str = "") -> str:
        """``summary`` with ``THE_ATS`` replaced by ``ats_label`` ("Cancelled: posted to
        Lever"); unchanged when the label is unknown ("")."""
        return self.summary.replace(self.THE_ATS, ats_label) if ats_label else self.summary

    def kind_shown(self, *, ats_label: str = "") -> str:
        """The kind's label with ``THE_ATS`` replaced by ``ats_label`` ("Unlinked from Lever")."""
        kind = str(self.get_kind_display())
        return kind.replace(self.THE_ATS, ats_label) if ats_label else kind

    def credit(self, *, ats_label: str = "", event_labels: Mapping[str, str] | None = None) -> str:
        """Who or what the entry came from, as the timeline reads it: "by Ada Admin" (a person),
        "Karat, automatically" (Karat by itself), "Lever (webhook: Candidate Stage Change)" (the
        ATS; ``ats_label`` names it and ``event_labels`` maps its webhook events to labels,
        since stored entries name neither)."""
        actor = self.actor.display_name if self.actor_id and self.actor else ""
        if self.source == self.Source.KARAT:
            # A milestone reported through the API names the token's user.
            return f"Karat, reported by {actor}" if actor else "Karat, automatically"
        if self.source == self.Source.ATS:
            ats = ats_label or self.get_source_display()
            origin = self.detail.get("origin") if isinstance(self.detail, dict) else None
            origin = origin if isinstance(origin, dict) else {}
            if origin.get("via") == "webhook":
                event = origin.get("event")
                if isinstance(event, str) and event:
                    return f"{ats} (webhook: {(event_labels or {}).get(event, event)})"
                return f"{ats} (webhook)"
            if origin.get("via") == "reconcile":
                return f"{ats} (periodic sync)"
            return ats
        # A person whose account was deleted since (the actor is then cleared).
        return f"by {actor}" if actor else "by a removed user"

    @property
    def detail_status(self) -> str:
        """The outcome another app recorded on its entry (an update posted to the ATS: "sent",
        "failed", "dead"…), lower-case; "" when there is none."""
        value = self.detail.get("status") if isinstance(self.detail, dict) else None
        return value.strip().lower()[:40] if isinstance(value, str) else ""


class RoleFollower(models.Model):
    """A person who follows a role: a Karat user (``user``), or someone on the role's ATS
    hiring team who has no Karat account (``user`` null: listed as "not in Karat", never
    created). ``from_ats``: on the hiring team of a posting mapped to the role, kept current
    by every posting sync (integrations/hiring_team); ``manual``: added by an admin, never
    removed by a sync. A row with neither is deleted.
    """

    class TeamRole(models.TextChoices):
        OWNER = "owner", "Posting owner"
        HIRING_MANAGER = "hiring_manager", "Hiring manager"
        FOLLOWER = "follower", "Posting follower"

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="followed_roles",
    )
    # Lower-case; for a Karat user, their email when the row was written.
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    from_ats = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    # TeamRole values this person has on the mapped postings' hiring teams (from_ats rows).
    team_roles = models.JSONField(default=list, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["role", "email"], name="role_follower_unique_email"),
            models.CheckConstraint(
                condition=Q(from_ats=True) | Q(manual=True), name="role_follower_has_source"
            ),
            # Only a Karat user can be added by hand.
            models.CheckConstraint(
                condition=Q(manual=False) | Q(user__isnull=False),
                name="role_follower_manual_is_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.email} follows {self.role}"

    @property
    def team_role_labels(self) -> list[str]:
        labels = dict(self.TeamRole.choices)
        return [str(labels[r]) for r in self.team_roles if r in labels]
