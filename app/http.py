"""Small request helpers shared by the hot paths."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.convertors import IntegerConvertor
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.exceptions import TooManyFields
from app.i18n import gettext as _

MAX_FIELDS = 1000


def _too_many_fields() -> TooManyFields:
    return TooManyFields(_("This form sent more than %(max)s fields, more than any page of this site sends. "
                           "Reload the page and send the form again.", max=MAX_FIELDS))


async def read_form(request: Request) -> FormData:
    """The submitted form, like `await request.form()`.

    Ordinary (url-encoded) forms are parsed with the standard library: on the signing path the streaming
    multipart parser cost as much CPU as the database work. Multipart bodies still go to Starlette.

    Raises:
        TooManyFields: more than `MAX_FIELDS` fields (413, instead of the parsers' ValueError or a bare 400).
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return await request.form(max_fields=MAX_FIELDS, max_files=MAX_FIELDS)
        except HTTPException as exc:
            if exc.status_code == 400 and "Too many" in str(exc.detail):
                raise _too_many_fields() from None
            raise
    body = await request.body()
    # latin-1 then percent-decoding as UTF-8: the same decoding Starlette's own form parser applies.
    try:
        # FormData's parameter is a list of (str, str | UploadFile): invariant, so mypy rejects a list of (str, str)
        return FormData(parse_qsl(  # type: ignore[arg-type]
            body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise _too_many_fields() from None


MAX_DB_INT = 2**31 - 1  # id columns are INTEGER: 32 bits on PostgreSQL (SQLite's are 64)


def digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 0..`limit` (with at most as many digits as `limit`)."""
    text = str(limit)
    n = len(text)
    options = [f"[0-9]{{1,{n - 1}}}"] if n > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = n - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class DatabaseIntConvertor(IntegerConvertor):
    """`{name:int}` path parameters that fit the database's id columns (at most 2,147,483,647). A bigger number
    used to reach the database and fail there (OverflowError on SQLite, "integer out of range" on PostgreSQL): it
    now doesn't match the route, so it gets the ordinary 404."""

    regex = digits_up_to(MAX_DB_INT)


_DB_INT = DatabaseIntConvertor()


def bound_int_path_params(routes) -> int:
    """Make every `{name:int}` of `routes` (and of mounted route lists) a `DatabaseIntConvertor`; returns how many.

    Called once by the composition root, so no route file has to remember a special convertor.
    """
    changed = 0
    for route in routes:
        convertors = getattr(route, "param_convertors", None) or {}
        ints = [name for name, convertor in convertors.items() if type(convertor) is IntegerConvertor]
        if ints:
            pattern = route.path_regex.pattern
            for name in ints:
                old, new = f"(?P<{name}>{IntegerConvertor.regex})", f"(?P<{name}>{_DB_INT.regex})"
                assert old in pattern, (route.path, name)
                pattern = pattern.replace(old, new)
                convertors[name] = _DB_INT
            route.path_regex = re.compile(pattern)
            changed += len(ints)
        changed += bound_int_path_params(getattr(route, "routes", None) or [])
    return changed


def client_ip(request: Request) -> str | None:
    """The client's address as the ASGI server saw it (None when it sent none, as in some test transports)."""
    return request.client.host if request.client else None


def int_or(value, default: int = 1, *, minimum: int | None = None) -> int:
    """`value` (a query or form string) as an int, `default` when it is missing or not a number; raised to
    `minimum` when given."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if minimum is None else max(minimum, number)


def settings_reader(domain: str):
    """`read(request)` -> the settings object `create_app` built for `domain` ("petitions", "consultations",
    "moderation"), so each route module names its domain once."""

    def read(request: Request):
        return request.app.state.unit_context.settings(domain)

    return read
