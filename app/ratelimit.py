"""Per-key sliding-window rate limits stored in the database, so every app process shares them.

Counts live in fixed windows, but a request is judged on a sliding window: the current window's count plus
the previous window's count weighted by how much of it still lies within the last `window` seconds. A plain
fixed window lets twice the limit through around a boundary (the end of one window and the start of the next)
and refuses or admits the same two requests depending on the second they fall in.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlmodel import Session, col

from app.db import HotStatement
from app.exceptions import RateLimited
from app.models import RateLimitBucket

# One round trip: count this attempt and read the previous window's count. (Hot: two per signature.)
_HIT = HotStatement(text(
    "INSERT INTO rate_limit_bucket (key, window_start, count) VALUES (:k, :w, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_bucket.count + 1 "
    "RETURNING count, (SELECT previous.count FROM rate_limit_bucket AS previous "
    "WHERE previous.key = :k AND previous.window_start = :p)"
))
# A refused attempt does not count: someone told to wait a minute who comes back after a minute gets in.
_UNDO = HotStatement(text("UPDATE rate_limit_bucket SET count = count - 1 WHERE key = :k AND window_start = :w"))


_EPSILON = 1e-9  # float noise in the weighting must not turn an exact fit into a refusal


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    retry_after: int  # seconds until an attempt would be allowed again (0 when allowed)


def attempt(session: Session, key: str, *, limit: int, window: int, now: float | None = None) -> Attempt:
    """Count one attempt for `key` and judge it against `limit` attempts per sliding `window` seconds.

    Runs as an upsert, so concurrent requests in different processes count exactly.
    """
    now = time.time() if now is None else now
    window_start = int(now // window * window)
    (current, previous), = _HIT(session, {"k": key[:200], "w": window_start, "p": window_start - window})
    previous = previous or 0
    elapsed = now - window_start
    estimate = current + previous * (window - elapsed) / window
    if estimate <= limit + _EPSILON:
        return Attempt(True, 0)
    _UNDO(session, {"k": key[:200], "w": window_start})
    return Attempt(False, _retry_after(current - 1, previous, limit=limit, window=window, elapsed=elapsed))


def _retry_after(current: int, previous: int, *, limit: int, window: int, elapsed: float) -> int:
    """Seconds until one more attempt would be allowed, if nothing else comes from this key meanwhile.

    `current` and `previous` are the counted attempts of this window and the one before it.
    """
    if current + 1 <= limit and previous:  # still in this window, once the previous window's share has faded
        wait = window * (1 - (limit - current - 1) / previous) - elapsed
        if wait < window - elapsed:
            return max(1, math.ceil(wait - _EPSILON))
    # in the next window, once this window's share has faded enough for one more
    fade = window * (1 - (limit - 1) / current) if current else 0.0
    return max(1, math.ceil(window - elapsed + max(0.0, fade) - _EPSILON))


def enforce(session: Session, key: str, *, limit: int, window: int, message: str, now: float | None = None) -> None:
    """Like `hit`, but raises RateLimited (429 with Retry-After) when over the limit."""
    result = attempt(session, key, limit=limit, window=window, now=now)
    if not result.allowed:
        raise RateLimited(message, retry_after=result.retry_after)


def purge_expired(session: Session, *, older_than: int = 86400, now: float | None = None) -> int:
    now = time.time() if now is None else now
    result = session.execute(delete(RateLimitBucket).where(col(RateLimitBucket.window_start) < int(now) - older_than))
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result
