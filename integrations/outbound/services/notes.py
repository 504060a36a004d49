"""Note templates and their rendering, the outbound settings row, status tags and scores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError

from integrations.models import AtsIntegration, OutboundSettings
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, KaratStatus, Milestone, Recommendation

# Lever's note score: 1 = strong no … 4 = strong yes (integrations/lever/README.md §7.2).
SCORES = {
    Recommendation.STRONG_YES: 4,
    Recommendation.YES: 3,
    Recommendation.NO: 2,
    Recommendation.STRONG_NO: 1,
}
TEMPLATE_MAX_LENGTH = 5000
NOTE_MAX_LENGTH = 20_000

# The note templates' variables (also listed on the settings page).
NOTE_CONTEXT: dict[str, str] = {
    "candidate_name": "The candidate's name",
    "candidate_email": "The candidate's email",
    "role": "The Karat role's title",
    "milestone": "What happened (e.g. Interview scheduled)",
    "karat_status": "The Karat status after it (e.g. Scheduled)",
    "scheduled_at": "The interview time (UTC), when scheduled",
    "recommendation": "Karat's recommendation (results only)",
    "summary": "The results summary (results only)",
    "report_url": "The Karat report link (results only)",
}

DEFAULT_TEMPLATES: dict[str, str] = {
    Milestone.INVITED: "Karat invited {{ candidate_name }} to a technical interview for {{ role }}.",
    Milestone.SCHEDULED: (
        "{{ candidate_name }}'s Karat interview for {{ role }} is scheduled for {{ scheduled_at }}."
    ),
    Milestone.COMPLETED: (
        "{{ candidate_name }} completed the Karat interview for {{ role }}. Results will follow."
    ),
    Milestone.RESULTS_READY: (
        "Karat results for {{ candidate_name }} ({{ role }}): {{ recommendation }}."
        "{% if summary %}\n\n{{ summary }}{% endif %}"
        "{% if report_url %}\n\nReport: {{ report_url }}{% endif %}"
    ),
    Milestone.CANCELLED: "The Karat interview of {{ candidate_name }} for {{ role }} was cancelled.",
    Milestone.EXPIRED: (
        "The Karat invitation of {{ candidate_name }} for {{ role }} expired without an interview."
    ),
    Milestone.REDO: "Karat invited {{ candidate_name }} to take the interview for {{ role }} again.",
}

# Plain text out (notes are plain text, integrations/lever/README.md §7.2), Django's built-in
# tags and filters only, and nothing but strings in the context: a template can't reach a model
# or a setting.
_ENGINE = Engine(autoescape=False, string_if_invalid="")


class OutboundError(ApplicationError):
    """An outbound rule was broken; the message is safe to show. An ``ApplicationError``, so
    the API's handler and ``form_errors_from`` show it as they are."""

    default_code = "outbound"


# --- settings and notes -----------------------------------------------------------------------


def outbound_settings_get(*, integration: AtsIntegration) -> OutboundSettings:
    """The integration's outbound settings, created with the defaults on first use."""
    found, _ = OutboundSettings.objects.get_or_create(integration=integration)
    return found


def template_check(template: str) -> None:
    """Raise OutboundError when ``template`` is not a usable note template."""
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise OutboundError(f"A template is at most {TEMPLATE_MAX_LENGTH} characters.")
    try:
        _ENGINE.from_string(template)
    except TemplateSyntaxError as exc:
        raise OutboundError(f"Template error: {exc}") from None


def template_for(*, outbound: OutboundSettings, milestone: str) -> str:
    custom = (outbound.note_templates or {}).get(milestone, "")
    return custom if isinstance(custom, str) and custom.strip() else DEFAULT_TEMPLATES[milestone]


def note_context(*, candidacy: Candidacy, milestone: str, detail: dict[str, Any]) -> dict[str, str]:
    """The strings a note template sees (``NOTE_CONTEXT``); ``detail`` is the milestone
    event's detail (see hiring.services.candidacy_milestone_record)."""
    status = detail.get("to") or candidacy.karat_status
    recommendation = detail.get("recommendation", "")
    scheduled_at = detail.get("scheduled_at", "")
    if scheduled_at:
        try:
            when = datetime.fromisoformat(scheduled_at)
            scheduled_at = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            pass  # shown as given
    return {
        "candidate_name": candidacy.candidate_name,
        "candidate_email": candidacy.candidate_email,
        "role": candidacy.role.title,
        "milestone": Milestone(milestone).label if milestone in Milestone.values else milestone,
        "karat_status": KaratStatus(status).label if status in KaratStatus.values else status,
        "scheduled_at": scheduled_at,
        "recommendation": (
            Recommendation(recommendation).label
            if recommendation in Recommendation.values
            else recommendation
        ),
        "summary": detail.get("summary", ""),
        "report_url": detail.get("report_url", ""),
    }


def note_render(*, template: str, context: dict[str, str]) -> str:
    """The note's text: ``template`` rendered as plain text, trimmed. Raises OutboundError."""
    template_check(template)
    text = _ENGINE.from_string(template).render(Context(context, autoescape=False)).strip()
    return text[:NOTE_MAX_LENGTH]


def note_preview(
    *, integration: AtsIntegration, candidacy: Candidacy, milestone: str, template: str
) -> str:
    """What the note for ``milestone`` would say for this candidacy now (its current results,
    interview time), with ``template`` (blank = the default). Raises OutboundError."""
    if milestone not in Milestone.values:
        raise OutboundError("Pick a milestone.")
    if candidacy.group_id != integration.group_id:
        raise OutboundError("That candidacy belongs to another group.")
    detail = {
        "to": candidacy.karat_status,
        "recommendation": candidacy.recommendation,
        "summary": candidacy.results_summary,
        "report_url": candidacy.report_url,
        "scheduled_at": (
            candidacy.interview_scheduled_at.isoformat() if candidacy.interview_scheduled_at else ""
        ),
    }
    return note_render(
        template=template.strip() or DEFAULT_TEMPLATES[milestone],
        context=note_context(candidacy=candidacy, milestone=milestone, detail=detail),
    )


def status_tag(*, outbound: OutboundSettings, status: str) -> str:
    """``"<prefix>: <Karat status>"``, e.g. ``Karat: Scheduled``."""
    label = KaratStatus(status).label if status in KaratStatus.values else status
    prefix = outbound.tag_prefix.strip()
    return f"{prefix}: {label}" if prefix else label


def status_tags_all(*, outbound: OutboundSettings) -> list[str]:
    return [status_tag(outbound=outbound, status=s) for s in KaratStatus.values]
