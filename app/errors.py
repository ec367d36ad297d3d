"""Domain errors (raised by services) and the handlers that turn any error into a friendly page.

Errors under /api/ are JSON. Outside debug, no traceback ever reaches the client.
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app.exceptions import (  # noqa: F401 - re-exported: services import their errors from here
    N_,
    DomainError,
    InvalidState,
    NotFound,
    PermissionDenied,
    RateLimited,
    TokenInvalid,
    TooManyFields,
    ValidationFailed,
)
from app.i18n import gettext as _
from app.templating import render

log = logging.getLogger("civic")


_TITLES = {
    400: N_("Bad request"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("That can't be done now"),
    413: N_("Request too large"),
    422: N_("Please check what you entered"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Temporarily unavailable"),
}

_DEFAULT_MESSAGES = {
    400: N_("The request could not be understood. Go back and try again."),
    403: N_("You don't have permission to see this page. Sign in with an account that has access, or go back to the home page."),
    404: N_("We couldn't find that page. Check the address, or use the search on the petitions and consultations pages."),
    405: N_("That action isn't available at this address. Go back and use the buttons on the page."),
    413: N_("What you sent is too large. Shorten it and try again."),
    429: N_("You've tried this too many times. Wait a few minutes and try again."),
    500: N_("Sorry, something went wrong on our side. Try again in a moment; if it keeps happening, contact the site team."),
    503: N_("We can't save anything right now because the database is unavailable or read-only. Nothing you sent "
            "was saved. Try again in a few minutes; if it keeps happening, contact the site team."),
}

# SQLSTATEs (PostgreSQL) meaning the database can't take writes now: read-only transaction, disk full, out of memory,
# too many connections, shutting down. SQLite reports these conditions as OperationalError.
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "53100", "53200", "53300", "57P01", "57P02", "57P03"})


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "can't read or write now" (a 503), not a bug (a 500)."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _UNAVAILABLE_SQLSTATES


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str = "", *, headers=None) -> Response:
    title = _(_TITLES.get(status, "Error"))
    text = message or _(_DEFAULT_MESSAGES.get(status, "Something went wrong."))
    if _wants_json(request):
        return JSONResponse({"error": {"status": status, "title": title, "message": text}}, status_code=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return PlainTextResponse(f"{title}: {text}", status_code=status, headers=headers)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": text},
        partial="errors/_inline.html",
        status_code=status,
        headers=headers,
    )


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    message = ""
    if exc.status_code == 404 and exc.detail not in (None, "Not Found"):
        message = _(str(exc.detail))
    return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))


async def _domain_error(request: Request, exc: DomainError) -> Response:
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, exc.status_code, _(exc.message) if exc.message else "", headers=headers)


def database_unavailable_response(request: Request) -> Response:
    return error_response(request, 503, headers={"Retry-After": "60"})


async def _database_error(request: Request, exc: DBAPIError) -> Response:
    if not database_unavailable(exc):
        raise exc
    log.error("Database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
    return database_unavailable_response(request)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500)


def exception_handlers() -> dict:
    return {HTTPException: _http_exception, DomainError: _domain_error, DBAPIError: _database_error,
            500: _server_error}
