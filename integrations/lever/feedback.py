"""Karat's results as a Lever feedback form: the template Karat creates once, and the form it
posts, updates and removes on an opportunity (integrations/lever/README.md §18)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from integrations.ats import (
    AtsAccount,
    AtsFeedbackFormMissing,
    AtsFeedbackTemplateMissing,
    AtsNoResponse,
    AtsRecordNotFound,
    CallProfile,
    FeedbackForms,
    FeedbackTemplate,
    FeedbackTemplateSpec,
    PermissionCheck,
)
from integrations.lever.base import LeverBase
from integrations.lever.calls import GATEWAY_GAVE_UP, client_for, translated, write_translated
from integrations.lever.client import LeverClient
from integrations.lever.errors import (
    LeverBadRequest,
    LeverConnectionError,
    LeverError,
    LeverNotFound,
    LeverPermissionError,
    LeverServerError,
)
from integrations.lever.schemas import FeedbackTemplate as LeverFeedbackTemplate

# Karat's field kinds -> Lever's field types (integrations/lever/README.md §18.2).
FIELD_TYPES = {"score": "score-system", "text": "text", "textarea": "textarea"}
# The key check's lines for feedback forms (only when the option is on).
FEEDBACK_PERMISSIONS = (
    ("read_feedback_templates", "Read feedback templates"),
    ("write_feedback_templates", "Create feedback templates"),
    ("write_feedback", "Write feedback forms"),
)


def _template(found: LeverFeedbackTemplate, spec: FeedbackTemplateSpec) -> FeedbackTemplate:
    """Lever's template as Karat's: its fields matched to ``spec`` by position among the
    fields of the same type and label (Lever answers its own field ids). A template missing
    one of Karat's fields is treated as not Karat's (AtsFeedbackTemplateMissing)."""
    field_ids: dict[str, str] = {}
    options: tuple[str, ...] = ()
    unused = list(found.fields)
    for wanted in spec.fields:
        lever_type = FIELD_TYPES[wanted.kind]
        match = next(
            (f for f in unused if f.type == lever_type and f.text == wanted.label), None
        ) or next((f for f in unused if f.type == lever_type), None)
        if match is None:
            raise AtsFeedbackTemplateMissing(
                f"Lever's feedback template {found.id} lacks the field “{wanted.label}”."
            )
        unused.remove(match)
        field_ids[wanted.key] = match.id
        if wanted.kind == "score":
            options = tuple(o for o in match.options if isinstance(o, str) and o)
    return FeedbackTemplate(template_id=found.id, field_ids=field_ids, score_options=options)


def _field_values(template: FeedbackTemplate, values: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": template.field_ids[key], "value": value}
        for key, value in values.items()
        if key in template.field_ids and value != ""
    ]


@contextmanager
def _feedback_translated(
    client: LeverClient, opportunity_id: str, *, template_id: str = "", feedback_id: str = ""
) -> Iterator[None]:
    """``write_translated``, plus what a 400/404 of a feedback write means: Lever does not
    document its error for an unknown template or form (integrations/lever/README.md §18.4),
    so the opportunity is read to tell "the opportunity is gone" (AtsRecordNotFound) from
    "Lever lost the template / form" (AtsFeedback…Missing)."""
    with write_translated(client, opportunity_id):
        try:
            yield
        except (LeverNotFound, LeverBadRequest) as exc:
            message = (exc.message or "").lower()
            if isinstance(exc, LeverBadRequest) and "perform_as" in message:
                raise
            if isinstance(exc, LeverBadRequest) and not (
                (template_id and ("template" in message or template_id.lower() in message))
                or (feedback_id and feedback_id.lower() in message)
            ):
                raise
            try:
                client.get_opportunity(opportunity_id)
            except LeverNotFound:
                raise AtsRecordNotFound(
                    f"Lever has no such opportunity ({exc}); it was probably deleted.",
                    status_code=exc.status_code,
                ) from exc
            except LeverError:
                raise exc from None  # can't tell: the request's own error decides
            if template_id and ("template" in message or not feedback_id):
                raise AtsFeedbackTemplateMissing(
                    f"Lever no longer knows Karat's feedback template ({exc}); Karat creates "
                    "it again.",
                    status_code=exc.status_code,
                ) from exc
            raise AtsFeedbackFormMissing(
                f"Lever no longer has this feedback form ({exc}).", status_code=exc.status_code
            ) from exc


class LeverFeedback(LeverBase, FeedbackForms):
    """Feedback templates and forms; one request per write, never retried here."""

    def feedback_template_find(
        self, account: AtsAccount, *, spec: FeedbackTemplateSpec, profile: CallProfile
    ) -> FeedbackTemplate | None:
        """``GET /feedback_templates`` (every page), looking for ``spec.marker`` in the
        instructions (integrations/lever/README.md §18.1)."""
        client = client_for(account, profile)
        with translated(client, record=False):
            for found in client.iter_feedback_templates():
                if spec.marker and spec.marker in found.instructions:
                    return _template(found, spec)
        return None

    def feedback_template_create(
        self, account: AtsAccount, *, spec: FeedbackTemplateSpec, profile: CallProfile
    ) -> FeedbackTemplate:
        """``POST /feedback_templates`` ``{text, instructions, fields[]}``; the score field is
        Lever's ``score-system`` with Lever's own options (integrations/lever/README.md §18.1)."""
        body = {
            "text": spec.name,
            "instructions": f"{spec.instructions}\n\n({spec.marker})",
            "fields": [
                {
                    "type": FIELD_TYPES[f.kind],
                    "text": f.label,
                    "description": f.description,
                    "required": f.required,
                }
                for f in spec.fields
            ],
        }
        client = client_for(account, profile)
        with translated(client, record=False), _no_answer(client):
            created = client.create_feedback_template(body)
        return _template(created, spec)

    def feedback_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        template: FeedbackTemplate,
        values: Mapping[str, str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """``POST /opportunities/:id/feedback?perform_as=`` ``{baseTemplateId, fieldValues,
        completedAt}`` (integrations/lever/README.md §18.3); returns the form's ``id``."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        body = {
            "baseTemplateId": template.template_id,
            "fieldValues": _field_values(template, values),
        }
        with _feedback_translated(client, opportunity_id, template_id=template.template_id):
            return client.add_feedback(opportunity_id, body).id

    def feedback_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """``GET /opportunities/:id/feedback`` (every page), looking for ``marker`` in a value."""
        client = client_for(account, profile)
        with translated(client, record=True):
            for form in client.iter_feedback(opportunity_id):
                if form.deleted_at is None and any(
                    isinstance(f.value, str) and marker in f.value for f in form.fields
                ):
                    return form.id
        return None

    def feedback_update(
        self,
        account: AtsAccount,
        opportunity_id: str,
        feedback_id: str,
        *,
        template: FeedbackTemplate,
        values: Mapping[str, str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``PUT /opportunities/:id/feedback/:feedbackId?perform_as=`` ``{fieldValues}``
        (integrations/lever/README.md §18.3)."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        body = {"fieldValues": _field_values(template, values)}
        with _feedback_translated(client, opportunity_id, feedback_id=feedback_id):
            client.update_feedback(opportunity_id, feedback_id, body)

    def feedback_delete(
        self,
        account: AtsAccount,
        opportunity_id: str,
        feedback_id: str,
        *,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``DELETE /opportunities/:id/feedback/:feedbackId?perform_as=`` → 204; a form that is
        already gone is no error (integrations/lever/README.md §18.3)."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        try:
            with _feedback_translated(client, opportunity_id, feedback_id=feedback_id):
                client.delete_feedback(opportunity_id, feedback_id)
        except AtsFeedbackFormMissing:
            return

    def feedback_key_check(
        self, account: AtsAccount, *, profile: CallProfile
    ) -> list[PermissionCheck]:
        """Read probe ``GET /feedback_templates``; the two writes can't be probed without
        changing Lever, so they are reported as not checked (integrations/lever/README.md §18.5)."""
        client = client_for(account, profile)
        code, name = FEEDBACK_PERMISSIONS[0]
        try:
            next(iter(client.iter_feedback_templates()), None)
        except LeverPermissionError:
            read = PermissionCheck(
                code, name, False, "Lever refused GET /feedback_templates (403).", permission=True
            )
        except LeverError as exc:
            read = PermissionCheck(code, name, None, f"Not checked: {exc}.", permission=True)
        else:
            read = PermissionCheck(
                code, name, True, "Lever lists feedback templates.", permission=True
            )
        return [
            read,
            *(
                PermissionCheck(
                    c,
                    n,
                    None,
                    "Not checked until Karat first writes it (can't be tested without "
                    "changing data in Lever).",
                    permission=True,
                )
                for c, n in FEEDBACK_PERMISSIONS[1:]
            ),
        ]


@contextmanager
def _no_answer(client: LeverClient) -> Iterator[None]:
    """A template POST that got no answer is AtsNoResponse, as for other writes."""
    try:
        yield
    except LeverConnectionError as exc:
        raise AtsNoResponse(f"Lever did not answer ({exc}).") from exc
    except LeverServerError as exc:
        if exc.status_code in GATEWAY_GAVE_UP:
            raise AtsNoResponse(
                f"Lever's gateway gave up ({exc}).", status_code=exc.status_code
            ) from exc
        raise
