"""Helpers shared by the console's forms."""

from __future__ import annotations

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
