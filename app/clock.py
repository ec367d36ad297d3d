"""The current time, injectable so tests can travel through petition lifecycles."""
from __future__ import annotations

from datetime import UTC, date, datetime
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


def naive_utc(value: datetime | date | None) -> datetime | None:
    """`value` as a naive UTC datetime, for counting by calendar period: an aware datetime converted to UTC, a naive
    one taken as UTC already (SQLite hands them back naive), a date as its midnight; None stays None.

    Raises: TypeError for anything else (a string from a careless caller is a mistake, not "no time").
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"timestamps must be datetime/date/None, got {type(value).__name__}")
