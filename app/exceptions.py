"""The errors services raise: a small leaf module (no imports from the rest of the app), so any module can raise
them without importing the HTTP error handlers in `app.errors` (which re-exports them).
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


class DomainError(Exception):
    """Base class: a rule was broken; `message` tells the user what happened and what to do next."""

    status_code = 400

    def __init__(self, message: str = "", *, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFound(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class InvalidState(DomainError):
    status_code = 409


class TokenInvalid(DomainError):
    status_code = 400


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, message: str = "", *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


class TooManyFields(DomainError):
    """A form with more fields than any page of the site sends."""

    status_code = 413


class ValidationFailed(DomainError):
    """Field-level errors: `errors` maps field name to a message shown next to the field."""

    status_code = 422

    def __init__(self, errors: dict[str, str], message: str = ""):
        super().__init__(message or N_("Please correct the errors below."))
        self.errors = errors
