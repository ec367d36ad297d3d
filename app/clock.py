"""The current time, injectable so tests can travel through petition lifecycles."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utc_now() -> datetime:
    """Timezone-aware UTC now: every datetime column stores UTC (SQLModel's UTCDateTime) on SQLite and PostgreSQL."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """`value` with UTC attached when it has no timezone (SQLite hands datetimes back naive); None stays None."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
