"""Results as a Lever feedback form (opt-in): the option, the form's rows in the outbox, and
sending them (the template is created once, on the first send).

Flow: a "results ready" milestone of a linked candidacy adds a ``feedback`` row to the outbox
(``feedback_payloads``, called by the outbound enqueue in the milestone's transaction); the
drain sends it through ``feedback_send``, which makes sure Karat's template exists in the ATS
(found by its marker, else created), then posts the form, or updates the form the candidacy
already has (a redo's new results). A cancellation adds a ``fb_remove`` row that deletes it.
Every request goes through the outbox: ordered per opportunity, rate-limited, retried.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.feedback.selectors import (
    feedback_acting_user_id,
    feedback_form_id,
    feedback_form_posted,
)
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    FeedbackSettings,
    OpportunityLink,
    OutboundUpdate,
)
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone, Recommendation

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

Kind = OutboundUpdate.Kind

TEMPLATE_NAME = "Karat technical interview"
TEMPLATE_INSTRUCTIONS = (
    "Posted by the Karat integration when Karat's interview results are ready; Karat updates "
    "it when the candidate takes the interview again and removes it if the interview is "
    "cancelled. Please don't edit it by hand."
)
FIELDS: tuple[ats.FeedbackFieldSpec, ...] = (
    ats.FeedbackFieldSpec(
        "recommendation",
        "score",
        "Karat recommendation",
        "Karat's overall recommendation for this candidate.",
        required=True,
    ),
    ats.FeedbackFieldSpec("summary", "textarea", "Summary", "Karat's summary of the interview."),
    ats.FeedbackFieldSpec("report_url", "text", "Karat report", "The full report in Karat."),
)
# Lever's score-system options read "4 - Strong Hire" … "1 - Strong No Hire" (best first);
# Karat's recommendation picks by that number (integrations/lever/README.md §18.2).
RANKS = {
    Recommendation.STRONG_YES: 4,
    Recommendation.YES: 3,
    Recommendation.NO: 2,
    Recommendation.STRONG_NO: 1,
}
# What Lever calls its four options when it names none (shown in the preview).
DEFAULT_SCORE_OPTIONS = ("4 - Strong Hire", "3 - Hire", "2 - No Hire", "1 - Strong No Hire")
SUMMARY_MAX_LENGTH = 10_000
URL_MAX_LENGTH = 500


class FeedbackError(ApplicationError):
    """A feedback-form rule was broken; the message is safe to show."""

    default_code = "feedback"


# --- the option -------------------------------------------------------------------------------


def feedback_settings_get(*, integration: AtsIntegration) -> FeedbackSettings:
    """The integration's feedback settings, created (off) on first use, with the marker its
    template will carry."""
    found, _ = FeedbackSettings.objects.get_or_create(
        integration=integration,
        defaults={"template_marker": f"karat-template-{secrets.token_hex(8)}"},
    )
    if not found.template_marker:  # a row made another way: give it one now
        found.template_marker = f"karat-template-{secrets.token_hex(8)}"
        found.save(update_fields=["template_marker", "updated_at"])
    return found


def feedback_settings_save(
    *, integration: AtsIntegration, actor: User | None, enabled: bool
) -> FeedbackSettings:
    """Turn posting results as a feedback form on or off (audited). Turning it on needs the
    ATS to offer feedback forms and a user to post them as (Lever requires ``perform_as``):
    raises FeedbackError and changes nothing otherwise."""
    if enabled:
        if ats.capability(integration.ats, ats.FeedbackForms) is None:
            raise FeedbackError("This ATS does not offer feedback forms.", field="enabled")
        if not feedback_acting_user_id(integration=integration):
            raise FeedbackError(
                "Lever posts feedback only as a user: first choose who Karat posts updates as "
                "(Updates posted to Lever → Post updates as, or the integration's User ID).",
                field="enabled",
            )
    with transaction.atomic():
        found = feedback_settings_get(integration=integration)
        if found.enabled == enabled:
            return found
        found.enabled = enabled
        found.updated_by = actor
        found.save(update_fields=["enabled", "updated_by", "updated_at"])
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.FEEDBACK_SETTINGS_CHANGED,
            summary=f"Turned {'on' if enabled else 'off'} posting results as a feedback form",
            detail={"enabled": enabled},
        )
    return found


def template_spec(*, marker: str) -> ats.FeedbackTemplateSpec:
    return ats.FeedbackTemplateSpec(TEMPLATE_NAME, TEMPLATE_INSTRUCTIONS, FIELDS, marker)


@dataclass(frozen=True)
class PreviewField:
    label: str
    kind: str
    value: str


@dataclass(frozen=True)
class FormPreview:
    """What the form looks like in Lever, with sample results (the Settings page shows it)."""

    name: str
    instructions: str
    fields: tuple[PreviewField, ...]


def feedback_form_preview(*, integration: AtsIntegration) -> FormPreview:
    """The form Karat would post, filled with sample results (no ATS call)."""
    found = FeedbackSettings.objects.filter(integration=integration).first()
    options = tuple(found.template_score_options) if found else ()
    values = form_values(
        recommendation=Recommendation.YES,
        summary="Strong problem solving; communication could be clearer.",
        report_url="https://karat.example/reports/123",
        marker="kl-fb-0123456789ab",
        score_options=options or DEFAULT_SCORE_OPTIONS,
    )
    return FormPreview(
        TEMPLATE_NAME,
        TEMPLATE_INSTRUCTIONS,
        tuple(PreviewField(f.label, f.kind, values.get(f.key, "")) for f in FIELDS),
    )


# --- rows in the outbox (inside the milestone's transaction) ----------------------------------


def feedback_payloads(
    *, candidacy: Candidacy, event: CandidacyEvent, link: OpportunityLink
) -> list[tuple[str, dict[str, Any]]]:
    """The feedback rows of one milestone, for the outbound enqueue: a ``feedback`` row for
    results (posts the form, or updates the candidacy's form after a redo), a ``fb_remove`` row
    for a cancellation when the candidacy has a form. None while the option is off."""
    enabled = FeedbackSettings.objects.filter(
        integration_id=link.integration_id, enabled=True
    ).exists()
    if not enabled:
        return []
    detail = dict(event.detail or {})
    if event.milestone == Milestone.RESULTS_READY:
        recommendation = str(detail.get("recommendation") or candidacy.recommendation or "")
        if recommendation not in RANKS:
            # A form's score field is required: results without a recommendation post none.
            logger.warning(
                "no feedback form: results without a recommendation",
                extra={"integration_id": link.integration.public_id},
            )
            return []
        summary = str(detail.get("summary") or "")[:SUMMARY_MAX_LENGTH]
        report_url = str(detail.get("report_url") or "")
        if not report_url.startswith(("https://", "http://")) or len(report_url) > URL_MAX_LENGTH:
            report_url = ""
        return [
            (
                Kind.FEEDBACK,
                {
                    "recommendation": recommendation,
                    "summary": summary,
                    "report_url": report_url,
                    # Finds the form again after a lost answer (feedback_find).
                    "marker": f"kl-fb-{secrets.token_hex(6)}",
                },
            )
        ]
    if event.milestone == Milestone.CANCELLED and feedback_form_posted(
        integration_id=link.integration_id,
        opportunity_id=link.opportunity_id,
        candidacy_id=candidacy.pk,
    ):
        return [(Kind.FEEDBACK_REMOVE, {})]
    return []


def form_values(
    *,
    recommendation: str,
    summary: str,
    report_url: str,
    marker: str,
    score_options: tuple[str, ...],
) -> dict[str, str]:
    """The form's values by field key. Raises FeedbackError when the template's score field
    has no option for the recommendation."""
    option = score_option(recommendation=recommendation, options=score_options)
    reference = f"(Karat ref {marker})"
    return {
        "recommendation": option,
        "summary": f"{summary.strip()}\n\n{reference}" if summary.strip() else reference,
        "report_url": report_url,
    }


def score_option(*, recommendation: str, options: tuple[str, ...]) -> str:
    """The score option for a Karat recommendation: the option that starts with its rank
    ("3 - Hire" for yes), else, with exactly four options, the one in its place (best first)."""
    rank = RANKS.get(Recommendation(recommendation)) if recommendation in RANKS else None
    if rank is None:
        raise FeedbackError(f"No Karat recommendation to score ({recommendation or 'none'}).")
    for option in options:
        if option.strip().startswith(str(rank)):
            return option
    if len(options) == 4:
        return options[4 - rank]
    raise FeedbackError(
        "The feedback template's score field has no option for "
        f"“{Recommendation(recommendation).label}”."
    )


# --- sending (called by the outbound drain for the feedback kinds) ----------------------------


def feedback_send(
    *,
    row: OutboundUpdate,
    integration: AtsIntegration,
    acting_user_id: str,
    profile: ats.CallProfile,
) -> str:
    """Send one claimed feedback row; returns the form's id ("" for a removal).

    Raises the ATS's errors for the drain to classify (a refused key pauses the queue,
    AtsRecordError ends the row, AtsUnavailable retries, AtsNoResponse looks before sending
    again), and AtsRequestError for what no retry fixes (no acting user, no score option, a
    key that lacks a feedback permission: a 403 ends this row only, the other updates go on).
    """
    adapter = ats.capability(integration.ats, ats.FeedbackForms)
    if adapter is None:
        raise ats.AtsRequestError("This ATS does not offer feedback forms.")
    if not acting_user_id:
        raise ats.AtsRequestError(
            "Lever posts feedback only as a user (perform_as): choose who Karat makes changes "
            "as in Settings."
        )
    try:
        return _feedback_send(row, integration, adapter, acting_user_id, profile)
    except ats.AtsKeyError as exc:
        if exc.status_code != 403:
            raise  # the key itself is refused: the whole queue pauses
        # The key lacks a feedback permission: only this opt-in extra fails (given up, with
        # the reason; "Retry now" once the key has it), the notes and tags go on.
        raise ats.AtsRequestError(exc.message, status_code=403) from exc


def _feedback_send(
    row: OutboundUpdate,
    integration: AtsIntegration,
    adapter: ats.FeedbackForms,
    acting_user_id: str,
    profile: ats.CallProfile,
) -> str:
    account = ats.account_for(integration)
    payload: Mapping[str, Any] = row.payload or {}
    form_id = feedback_form_id(row=row)
    if row.kind == Kind.FEEDBACK_REMOVE:
        if form_id:
            adapter.feedback_delete(
                account,
                row.opportunity_id,
                form_id,
                acting_user_id=acting_user_id,
                profile=profile,
            )
        return ""
    settings_row = feedback_settings_get(integration=integration)
    template = _template_ensure(adapter, account, settings_row, profile)
    try:
        return _form_write(
            adapter, account, row, payload, template, form_id, acting_user_id, profile
        )
    except ats.AtsFeedbackTemplateMissing:
        # Deleted in Lever: forget it, make it again, and post with the new one (once).
        logger.warning(
            "feedback template is gone in the ATS",
            extra={"integration_id": integration.public_id},
        )
        _template_forget(settings_row)
        template = _template_ensure(adapter, account, settings_row, profile)
        return _form_write(
            adapter, account, row, payload, template, form_id, acting_user_id, profile
        )


def _form_write(
    adapter: ats.FeedbackForms,
    account: ats.AtsAccount,
    row: OutboundUpdate,
    payload: Mapping[str, Any],
    template: ats.FeedbackTemplate,
    form_id: str,
    acting_user_id: str,
    profile: ats.CallProfile,
) -> str:
    try:
        values = form_values(
            recommendation=str(payload.get("recommendation", "")),
            summary=str(payload.get("summary", "")),
            report_url=str(payload.get("report_url", "")),
            marker=str(payload.get("marker", "")),
            score_options=template.score_options or DEFAULT_SCORE_OPTIONS,
        )
    except FeedbackError as exc:
        raise ats.AtsRequestError(exc.message) from None
    if form_id:
        try:
            adapter.feedback_update(
                account,
                row.opportunity_id,
                form_id,
                template=template,
                values=values,
                acting_user_id=acting_user_id,
                profile=profile,
            )
        except ats.AtsFeedbackFormMissing:
            logger.info(
                "feedback form removed in the ATS; posting anew", extra={"update_id": row.pk}
            )
        else:
            return form_id
    if row.outcome_unknown:
        # The last attempt may have posted it: look before posting it twice.
        found = adapter.feedback_find(
            account, row.opportunity_id, marker=str(payload.get("marker", "")), profile=profile
        )
        if found:
            return found if len(found) <= ID_MAX_LENGTH else ""
    form_id = adapter.feedback_add(
        account,
        row.opportunity_id,
        template=template,
        values=values,
        acting_user_id=acting_user_id,
        profile=profile,
    )
    # Stored as the row's remote_id; an odd id is kept out (the form stays, unlinked).
    return form_id if 0 < len(form_id) <= ID_MAX_LENGTH else ""


def _template_ensure(
    adapter: ats.FeedbackForms,
    account: ats.AtsAccount,
    settings_row: FeedbackSettings,
    profile: ats.CallProfile,
) -> ats.FeedbackTemplate:
    """Karat's template in the ATS: the stored one; else the one carrying the marker (made
    by an attempt whose answer was lost); else a new one. Stored for the next sends. One drain
    per integration runs at a time, so two sends never create it twice."""
    if settings_row.template_id and settings_row.template_field_ids:
        return ats.FeedbackTemplate(
            template_id=settings_row.template_id,
            field_ids=dict(settings_row.template_field_ids),
            score_options=tuple(settings_row.template_score_options or ()),
        )
    spec = template_spec(marker=settings_row.template_marker)
    template = adapter.feedback_template_find(account, spec=spec, profile=profile)
    if template is None:
        template = adapter.feedback_template_create(account, spec=spec, profile=profile)
    _template_check(template)
    FeedbackSettings.objects.filter(pk=settings_row.pk).update(
        template_id=template.template_id,
        template_field_ids=dict(template.field_ids),
        template_score_options=list(template.score_options),
        template_created_at=timezone.now(),
    )
    settings_row.refresh_from_db()
    return template


# Values from the ATS are untrusted: ids fit their columns, options are short texts.
ID_MAX_LENGTH = 64
OPTION_MAX_LENGTH = 200
OPTIONS_MAX = 20


def _template_check(template: ats.FeedbackTemplate) -> None:
    """Raise AtsRequestError unless the ATS's template has ids and options Karat can store."""
    ids = [template.template_id, *template.field_ids.values()]
    if not all(isinstance(i, str) and 0 < len(i) <= ID_MAX_LENGTH for i in ids) or not (
        len(template.score_options) <= OPTIONS_MAX
        and all(len(o) <= OPTION_MAX_LENGTH for o in template.score_options)
    ):
        raise ats.AtsRequestError(
            "Lever answered a feedback template Karat can't use (ids or options too long)."
        )


def _template_forget(settings_row: FeedbackSettings) -> None:
    FeedbackSettings.objects.filter(pk=settings_row.pk).update(
        template_id="", template_field_ids={}, template_score_options=[], template_created_at=None
    )
    settings_row.refresh_from_db()
