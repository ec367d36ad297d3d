"""The current time, injectable so tests can travel through petition lifecycles."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Timezone-aware UTC now: every datetime column stores UTC (SQLModel's UTCDateTime) on SQLite and PostgreSQL."""
    return datetime.now(UTC)
