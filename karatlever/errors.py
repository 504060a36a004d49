"""The one domain error of the project: what a service raises when a rule is broken.

The DRF exception handler (``karatlever/api.py``) turns it into the API's error shape and
``karatlever/forms.py::form_errors_from`` adds it to a console form, so views never convert
errors themselves (HackSoft Styleguide-Example ``ApplicationError``).
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A rule was broken. ``message`` is safe to show to the user (never holds a secret).

    ``field`` names the input at fault (None: the request as a whole), ``code`` is a stable
    machine-readable reason, ``extra`` holds anything else an API client may use.
    ``status_code`` is the HTTP status the API answers with.
    """

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code
        self.extra = extra or {}
