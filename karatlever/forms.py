"""Helpers shared by the console's forms."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from karatlever.errors import ApplicationError


def form_errors_from(form: forms.BaseForm, exc: ApplicationError | ValidationError) -> None:
    """Add a service's error to ``form``: on its field when the form has that field, else as a
    non-field error (so a template view turns domain errors into form errors in one way)."""
    if isinstance(exc, ApplicationError):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    form.add_error(None, exc.messages)


class SettingsSectionForm(forms.Form):
    """A form that is one section of a page holding several (the integration's Settings page):
    its fields' ids start with ``section_id`` (``<section_id>-<field>``), so two sections'
    fields of the same name never share an id (a label would point at the wrong input)."""

    section_id: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.section_id}-%s")
        super().__init__(*args, **kwargs)
