"""Calendar periods for counts over time (activity charts, theme trends): the day, week (Monday to Sunday), month
or year that holds a day, and every such period from a first day to a last. Plain dates: callers with datetimes
pass `.date()` of their UTC time."""
from __future__ import annotations

from datetime import date, timedelta


def period_start(day: date, unit: str) -> date:
    """The first day of the `unit` ("day", "week", "month" or "year"; anything else counts as "day") holding `day`."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def next_period(start: date, unit: str) -> date:
    """The first day of the period after the one starting on `start` (a `period_start`)."""
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if unit == "year":
        return start.replace(year=start.year + 1)
    return start + timedelta(days=7 if unit == "week" else 1)


def period_starts(first: date, last: date, unit: str) -> list[date]:
    """The start of every period from the one holding `first` to the one holding `last`, empty ones included."""
    starts, start = [], period_start(first, unit)
    while start <= last:
        starts.append(start)
        start = next_period(start, unit)
    return starts
