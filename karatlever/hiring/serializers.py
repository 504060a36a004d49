"""REST API serializers for candidacies: filters, output with the timeline, and the interview
platform's progress events (validated here; the rules live in services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from karatlever.accounts.models import Group
from karatlever.hiring.hooks import candidacy_list_context
from karatlever.hiring.models import (
    Candidacy,
    CandidacyEvent,
    KaratStatus,
    Milestone,
    Recommendation,
    Role,
)
from karatlever.hiring.services import (
    INTERVIEW_DURATION_MAX_MINUTES,
    INTERVIEW_URL_MAX_LENGTH,
    MILESTONE_RULES,
    SUMMARY_MAX_LENGTH,
)

# --- Filters (GET /candidacies/) -------------------------------------------------------------


class CandidacyFilterSerializer(serializers.Serializer[Any]):
    """The candidates page's filters as query parameters. Unlike the page, the API refuses a
    bad value (400, by field) instead of dropping it: a script should learn of its typo.

    Give it a plain dict (``request.query_params.dict()``), not the QueryDict: with a QueryDict
    DRF reads an absent boolean as an unchecked box (False) rather than "either"."""

    group = serializers.UUIDField(required=False, help_text="A group's code.")
    role = serializers.UUIDField(required=False, help_text="A role's code.")
    status = serializers.ChoiceField(
        choices=KaratStatus.choices, required=False, help_text="Karat status."
    )
    stage = serializers.CharField(
        max_length=200, required=False, help_text="Lever stage name, exactly as shown."
    )
    # Absent means either; an empty value is refused like any other non-boolean (with
    # allow_null, DRF would read "" as "either" and answer 200 to ?hired=).
    archived = serializers.BooleanField(
        required=False, default=None, help_text="Archived in Lever."
    )
    hired = serializers.BooleanField(required=False, default=None, help_text="Hired in Lever.")
    q = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Search: part of the candidate's name or email, any case.",
    )

    def validate_group(self, value: Any) -> Group:
        groups: QuerySet[Group] = self.context["groups"]
        group = groups.filter(code=value).first()
        if group is None:
            raise serializers.ValidationError("No group with this code in your organization.")
        return group

    def validate_role(self, value: Any) -> Role:
        roles: QuerySet[Role] = self.context["roles"]
        role = roles.filter(code=value).first()
        if role is None:
            raise serializers.ValidationError("No role with this code in your groups.")
        return role

    def filters(self) -> dict[str, Any]:
        """The validated filters as ``selectors.candidacy_list_filtered`` arguments."""
        data = self.validated_data
        return {
            "group": data.get("group"),
            "role": data.get("role"),
            "karat_status": data.get("status", ""),
            "ats_stage_name": data.get("stage", ""),
            "ats_archived": data.get("archived"),
            "ats_hired": data.get("hired"),
            "search": data.get("q", ""),
        }


# --- Output ----------------------------------------------------------------------------------


# Groups and roles are named by ``code`` here as in every other API (integrations, role
# mappings, invitations take ``group``/``role`` codes).
class CandidacyGroupSerializer(serializers.Serializer[Any]):
    code = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)


class CandidacyRoleSerializer(serializers.Serializer[Any]):
    code = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    requisition_code = serializers.CharField(read_only=True)


class AtsSideSerializer(serializers.Serializer[Any]):
    """The ATS's view of the candidate (Lever), kept current by webhooks and reconciliation."""

    stage_id = serializers.CharField(source="ats_stage_id", read_only=True)
    stage_name = serializers.CharField(source="ats_stage_name", read_only=True)
    archived = serializers.BooleanField(source="ats_archived", read_only=True)
    archive_reason_id = serializers.CharField(source="ats_archive_reason_id", read_only=True)
    archive_reason_name = serializers.CharField(source="ats_archive_reason_name", read_only=True)
    hired = serializers.BooleanField(source="ats_hired", read_only=True)
    updated_at = serializers.DateTimeField(
        source="ats_state_updated_at", read_only=True, allow_null=True
    )


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice read from a model field whose "none" is "": answered as null, since "" is
    none of the choices a client was told of."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)


class BlankAsNullURLField(serializers.URLField):
    """A link read from a model field whose "none" is "": answered as null, not as "" (which
    is no URL)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)


class AtsLinkSerializer(serializers.Serializer[Any]):
    """Which opportunity in the ATS the candidacy is (it was invited from, or linked to)."""

    ats = serializers.CharField(help_text='The ATS, e.g. "lever".')
    integration = serializers.UUIDField(
        help_text="The integration's id, as in GET /api/v1/integrations/"
    )
    opportunity_id = serializers.CharField(help_text="The opportunity's id in the ATS.")
    url = serializers.URLField(
        allow_null=True, help_text="The candidate's page in the ATS (null: none can be made)."
    )


class CandidacyOutputSerializer(serializers.ModelSerializer[Candidacy]):
    """A candidacy. Context ``ats_links``: ``{candidacy pk: ats_link or None}`` for every
    candidacy serialized (``candidacy_ats_links``); without it each row asks the hooks alone."""

    id = serializers.UUIDField(source="code", read_only=True)
    group = CandidacyGroupSerializer(read_only=True)
    role = CandidacyRoleSerializer(read_only=True)
    interview_scheduled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    recommendation = BlankAsNullChoiceField(
        choices=Recommendation.choices, help_text="Once results are ready, else null."
    )
    report_url = BlankAsNullURLField(help_text="The report, once results are ready, else null.")
    ats = AtsSideSerializer(source="*", read_only=True)
    ats_link = serializers.SerializerMethodField()

    class Meta:
        model = Candidacy
        fields = [
            "id",
            "group",
            "role",
            "candidate_name",
            "candidate_email",
            "karat_status",
            "recommendation",
            "interview_scheduled_at",
            "results_summary",
            "report_url",
            "ats",
            "ats_link",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AtsLinkSerializer(allow_null=True))
    def get_ats_link(self, obj: Candidacy) -> dict[str, Any] | None:
        links: dict[int, Any] | None = self.context.get("ats_links")
        if links is None or obj.pk not in links:
            links = candidacy_ats_links([obj])
        link: dict[str, Any] | None = links[obj.pk]
        return link


def candidacy_ats_links(candidacies: Sequence[Candidacy]) -> dict[int, Any]:
    """``ats_link`` (or None) of each candidacy by pk, from the list hooks (one go)."""
    return {pk: extra.get("ats_link") for pk, extra in candidacy_list_context(candidacies).items()}


class EventOutputSerializer(serializers.ModelSerializer[CandidacyEvent]):
    """One timeline entry. ``detail`` depends on ``kind``: a milestone's is ``{from, to,
    milestone, recommendation, scheduled_at, summary, report_url}``; an ATS change's holds its
    ``origin``; an entry written by the integration (``invite_sent``, ``ats_update``) may hold a
    ``status`` such as "sent", "failed" or "dead"."""

    event_id = serializers.CharField(
        source="external_id", read_only=True, help_text="The interview platform's id, or ''."
    )
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True, help_text="Who did it, if a person."
    )
    milestone = BlankAsNullChoiceField(
        choices=Milestone.choices, help_text="The Karat milestone this entry records, else null."
    )

    class Meta:
        model = CandidacyEvent
        fields = [
            "event_id",
            "kind",
            "source",
            "milestone",
            "summary",
            "actor",
            "detail",
            "occurred_at",
        ]
        read_only_fields = fields


class AtsProfileSerializer(serializers.Serializer[Any]):
    ats = serializers.CharField(help_text='The ATS\'s name, e.g. "Lever".')
    url = serializers.URLField(help_text="The candidate's profile in the ATS.")


class CandidacyDetailOutputSerializer(CandidacyOutputSerializer):
    """A candidacy with its profile link in the ATS and its whole timeline, newest first.

    Context: ``events`` (the timeline) and ``ats_profile`` (a ``(label, url)`` pair or None,
    from the candidacy context hooks)."""

    ats_profile = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(CandidacyOutputSerializer.Meta):
        fields = [*CandidacyOutputSerializer.Meta.fields, "ats_profile", "timeline"]
        read_only_fields = fields

    @extend_schema_field(AtsProfileSerializer(allow_null=True))
    def get_ats_profile(self, obj: Candidacy) -> dict[str, str] | None:
        profile = self.context.get("ats_profile")
        if not profile:
            return None
        label, url = profile
        return {"ats": str(label), "url": str(url)}

    @extend_schema_field(EventOutputSerializer(many=True))
    def get_timeline(self, obj: Candidacy) -> list[Any]:
        return list(EventOutputSerializer(self.context["events"], many=True).data)


# --- Progress events (POST /candidacies/<id>/events/) ----------------------------------------

# The optional fields each event type takes, and the ones it requires; any other of them sent
# with a type is refused rather than silently dropped.
EVENT_FIELDS: dict[str, frozenset[str]] = {
    Milestone.SCHEDULED: frozenset(
        {"scheduled_at", "duration_minutes", "timezone", "interview_url"}
    ),
    Milestone.RESULTS_READY: frozenset({"recommendation", "summary", "report_url"}),
}
EVENT_REQUIRED: dict[str, str] = {
    Milestone.SCHEDULED: "scheduled_at",
    Milestone.RESULTS_READY: "recommendation",
}
_OPTIONAL_FIELDS = (
    "scheduled_at",
    "recommendation",
    "summary",
    "report_url",
    "duration_minutes",
    "timezone",
    "interview_url",
)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its offset: a naive time is refused, not guessed."""

    default_error_messages = {
        "naive": "Give the time with its offset, e.g. 2026-12-01T15:00:00Z or …+02:00.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class CandidacyEventInputSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(
        choices=[(m, Milestone(m).label) for m in MILESTONE_RULES],
        help_text="The milestone: scheduled (needs scheduled_at), completed, results_ready "
        "(needs recommendation), cancelled, expired or redo.",
    )
    event_id = serializers.CharField(
        max_length=100,
        help_text="Your id for this event: sending it again records nothing new (200 with "
        "the first event). Never reuse one for another event.",
    )
    scheduled_at = AwareDateTimeField(
        required=False, help_text="type=scheduled only: the interview time, ISO 8601 with offset."
    )
    recommendation = serializers.ChoiceField(
        choices=Recommendation.choices, required=False, help_text="type=results_ready only."
    )
    summary = serializers.CharField(
        max_length=SUMMARY_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text=f"type=results_ready only; up to {SUMMARY_MAX_LENGTH} characters.",
    )
    report_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        validators=[URLValidator(schemes=["http", "https"], message="Use an http(s) link.")],
        help_text="type=results_ready only: a link to the report.",
    )
    duration_minutes = serializers.IntegerField(
        min_value=1,
        max_value=INTERVIEW_DURATION_MAX_MINUTES,
        required=False,
        help_text="type=scheduled only: the interview's length in minutes (default 60 where "
        "one is needed).",
    )
    timezone = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="type=scheduled only: the IANA time zone the interview was booked in, e.g. "
        "Europe/Berlin (default UTC where one is needed).",
    )
    interview_url = serializers.URLField(
        max_length=INTERVIEW_URL_MAX_LENGTH,
        required=False,
        allow_blank=True,
        validators=[URLValidator(schemes=["http", "https"], message="Use an http(s) link.")],
        help_text="type=scheduled only: the link to join the interview.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        allowed = EVENT_FIELDS.get(kind, frozenset())
        errors: dict[str, list[str]] = {}
        for name in _OPTIONAL_FIELDS:
            if name in attrs and name not in allowed:
                takers = [t for t, fields in EVENT_FIELDS.items() if name in fields]
                errors[name] = [f"Only for type {' or '.join(takers)}, not {kind}."]
        required = EVENT_REQUIRED.get(kind)
        if required and required not in attrs:
            errors[required] = [f"Required for type {kind}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class EventRecordedOutputSerializer(serializers.Serializer[Any]):
    """What a progress event did: the timeline entry (the first one for a replayed id) and the
    candidacy as it is now."""

    created = serializers.BooleanField(help_text="False: this event id was recorded before.")
    event = EventOutputSerializer()
    candidacy = CandidacyOutputSerializer()
