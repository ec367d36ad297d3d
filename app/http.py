"""Small request helpers shared by the hot paths."""
from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import Request

MAX_FIELDS = 1000


async def read_form(request: Request) -> FormData:
    """The submitted form, like `await request.form()`.

    Ordinary (url-encoded) forms are parsed with the standard library: on the signing path the streaming
    multipart parser cost as much CPU as the database work. Multipart bodies still go to Starlette.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return await request.form()
    body = await request.body()
    # latin-1 then percent-decoding as UTF-8: the same decoding Starlette's own form parser applies.
    return FormData(parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS))


def cookie_value(header: bytes, name: bytes) -> bytes | None:
    """One cookie's value from a raw `Cookie` header (for pure-ASGI middleware that has no Request)."""
    for item in header.split(b";"):
        key, _, value = item.strip().partition(b"=")
        if key == name:
            return value
    return None
