"""Structured logs: one JSON line per request (`civic.access`) and per background job (`civic.jobs.run`), each with
a request id. The id of the request (or job) in progress is also written into the outbox rows it queues
(`OutboxMessage.request_id`), so "why did this e-mail go out?" leads back to one request's log line.

The request id is the incoming `X-Request-ID` header when it looks like one (a proxy such as nginx can set it:
`proxy_set_header X-Request-ID $request_id;`), else a new random one; every response carries it back.

No e-mail addresses or IP addresses reach the logs unless `CIVIC_LOG_PERSONAL_DATA` asks for them (debugging):
request lines leave the client address out, and every civic log record has addresses masked.
"""
from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import os
import re
import sys
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("civic_request_id", default="")

access_log = logging.getLogger("civic.access")
job_log = logging.getLogger("civic.jobs.run")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")

_personal_data = False


def new_id() -> str:
    return os.urandom(8).hex()


def current() -> str:
    return request_id.get()


def mask(text: str) -> str:
    """Addresses out of a log message (unless CIVIC_LOG_PERSONAL_DATA)."""
    if _personal_data:
        return text
    return _IPV6.sub(_ip, _IPV4.sub(_ip, _EMAIL.sub("[email]", text)))


def _ip(match: re.Match) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)  # a time of day, a version number
    return "[ip]"


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _personal_data:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken format string is the caller's bug; leave it to logging
                return True
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


def line(**fields) -> str:
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False, separators=(",", ":"))


def configure(settings) -> None:
    """JSON lines on stderr for requests and jobs; masking on every handler. Called once per process."""
    global _personal_data
    _personal_data = bool(getattr(settings, "log_personal_data", False))
    access_log.disabled = not getattr(settings, "log_requests", True)
    for logger in (access_log, job_log):
        if not any(getattr(h, "civic_json", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            setattr(handler, "civic_json", True)  # marks the handler as ours (not a Handler attribute)
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    root = logging.getLogger()
    if not root.handlers:  # a server process uvicorn started: give civic's other log lines somewhere to go
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Filters on handlers (a logger's own filters do not apply to its children's records).
    for name in ("", "uvicorn.access", "uvicorn.error"):
        for existing in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in existing.filters):
                existing.addFilter(MaskingFilter())


def incoming_id(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _INCOMING_ID.match(candidate):
                return candidate
    return new_id()


_dumps = json.JSONEncoder(ensure_ascii=False).encode


def log_request(scope, rid: str, route: str, status: int, seconds: float) -> None:
    """The request's JSON line (built by hand: it is written for every request, cached reads included)."""
    if access_log.disabled or not access_log.isEnabledFor(logging.INFO):
        return
    path = scope.get("path", "")
    if not _personal_data and ("@" in path or "." in path or ":" in path):
        path = mask(path)
    client = ""
    if _personal_data and scope.get("client"):
        client = f',"client":{_dumps(scope["client"][0])}'
    access_log.info(f'{{"ts":{time.time():.3f},"event":"request","request_id":{_dumps(rid)},'
                    f'"method":{_dumps(scope.get("method", ""))},"path":{_dumps(path)},"route":{_dumps(route)},'
                    f'"status":{int(status)},"duration_ms":{seconds * 1000:.1f}{client}}}')


def log_job(job_id, kind: str, attempt: int, rid: str, seconds: float, error: str | None) -> None:
    job_log.log(logging.INFO if error is None else logging.WARNING, line(
        ts=round(time.time(), 3), event="job", request_id=rid, job_id=job_id, kind=kind, attempt=attempt,
        outcome="ok" if error is None else "error", duration_ms=round(seconds * 1000, 1),
        error=mask(error)[:500] if error else None,
    ))
