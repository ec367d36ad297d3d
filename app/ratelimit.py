"""Per-key fixed-window rate limits stored in the database, so every app process shares them."""
from __future__ import annotations

import time

from sqlalchemy import delete, text
from sqlmodel import Session

from app.db import execute_fast
from app.errors import RateLimited
from app.models import RateLimitBucket

_HIT = text(
    "INSERT INTO rate_limit_bucket (key, window_start, count) VALUES (:k, :w, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_bucket.count + 1 "
    "RETURNING count"
)


def hit(session: Session, key: str, *, limit: int, window: int, now: float | None = None) -> bool:
    """Count one attempt for `key`; return False when the window's limit is exceeded.

    Runs as an upsert, so concurrent requests in different processes count exactly.
    """
    now = time.time() if now is None else now
    window_start = int(now // window * window)
    rows = execute_fast(session, _HIT, {"k": key[:200], "w": window_start})  # on every signature: keep it cheap
    return rows[0][0] <= limit


def enforce(session: Session, key: str, *, limit: int, window: int, message: str, now: float | None = None) -> None:
    """Like `hit`, but raises RateLimited (429 with Retry-After) when over the limit."""
    if not hit(session, key, limit=limit, window=window, now=now):
        now = time.time() if now is None else now
        retry_after = int(window - (now % window)) + 1
        raise RateLimited(message, retry_after=retry_after)


def purge_expired(session: Session, *, older_than: int = 86400, now: float | None = None) -> int:
    now = time.time() if now is None else now
    result = session.execute(delete(RateLimitBucket).where(RateLimitBucket.window_start < int(now) - older_than))
    return result.rowcount or 0
