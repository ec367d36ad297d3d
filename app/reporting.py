"""Shared pieces of the public "How we respond" figures (petitions and consultations): the `as_of` day, where a
day ends, departments as the figures name them, and the percentile both domains report.

Days end at midnight UTC. Read-only helpers; each domain computes its own figures from its own write-once
timestamps.
"""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from app.clock import utc_now
from app.db import run_query
from app.errors import N_, NotFound, ValidationFailed
from app.models import Department

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str
    name_zh: str

    def label(self, locale: str) -> str:
        return self.name_zh if locale == "zh-Hans" and self.name_zh else self.name


def department_json(department: DepartmentRef | None) -> dict | None:
    return {"code": department.code, "name": department.name, "name_zh": department.name_zh} if department else None


F = TypeVar("F")


def department_scopes(department: DepartmentRef | None, figures: F,
                      per_department: Iterable[tuple[DepartmentRef | None, F]]) -> list[tuple[str, str, F]]:
    """The rows of a "figures" table as (code, name, figures): the scope asked for (one department, or all:
    code "" and "All departments"), then, when all were asked for, each department ("none" and "No department"
    for what no department is responsible for)."""
    if department is not None:
        return [(department.code, department.name, figures)]
    return [("", "All departments", figures)] + [(d.code, d.name, f) if d else ("none", "No department", f)
                                                 for d, f in per_department]


async def report_for_request(request, build: Callable[..., Any], **kwargs: Any) -> Any:
    """`build(session, as_of=..., department=..., now=..., **kwargs)` for the request's `as_of` and `department`
    query parameters, as the open-data API serves it.

    Raises: ValidationFailed (422) for a malformed day, NotFound (404) for an unknown department code.
    """
    params = request.query_params
    now = utc_now()
    as_of = parse_as_of(params.get("as_of", "")[:40], today=now.date())
    report = await run_query(request, build, as_of=as_of, department=params.get("department", "")[:40], now=now,
                             **kwargs)
    if report is None:
        raise unknown_department()
    return report


DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def parse_day(text: str, *, field_name: str, message: str) -> date:
    """A day written YYYY-MM-DD. Raises ValidationFailed (422) on `field_name` with `message` (which says what to
    send instead)."""
    text = (text or "").strip()
    day = None
    if re.fullmatch(DAY_PATTERN, text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        raise ValidationFailed({field_name: "invalid"}, message=message)
    return day


def parse_as_of(text: str, *, today: date) -> date:
    """The `as_of` parameter: empty for today, else a YYYY-MM-DD day. A day after today reads as today (nothing
    has happened there yet); callers can tell by comparing.

    Raises: ValidationFailed (422) with a message that says what to send instead.
    """
    if not (text or "").strip():
        return today
    day = parse_day(text, field_name="as_of", message=N_(
        "The date must be a day written as YYYY-MM-DD, for example 2026-03-31."))
    return min(day, today)


def unknown_department() -> NotFound:
    return NotFound(N_("No department has that code. Choose one from the list, or all departments."))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def median1(values: list[float]) -> float | None:
    """The median to one decimal, or None for no values (the figures' "median days")."""
    return round1(statistics.median(values)) if values else None


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def round1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def round_share(value: float | None) -> float | None:
    """A share (0..1) as the open data publishes it: four decimals."""
    return None if value is None else round(value, 4)


def cutoff(day: date) -> datetime:
    """The end of `day` (UTC): events strictly before it count."""
    return datetime.combine(day + DAY, time.min, tzinfo=UTC)


def departments(session: Session) -> tuple[tuple[int, DepartmentRef], ...]:
    rows = session.execute(select(Department).order_by(Department.name)).scalars()
    return tuple((d.id, DepartmentRef(d.code, d.name, d.name_zh)) for d in rows)


@dataclass(frozen=True)
class Scope:
    """A report's rows (each with a `department_id`) split the way both How we respond reports show them."""

    chosen: DepartmentRef | None                  # the department asked for, or None for all
    rows: list                                    # the chosen department's rows, or all of them
    by_department: list[tuple[DepartmentRef | None, list]]   # every department's rows, then no department's (if any)
    names: dict[int | None, DepartmentRef]        # department id -> its reference, for listing rows


def scope(session: Session, rows: list, department: str) -> Scope | None:
    """`rows` scoped to the department with code `department` (all when empty); None when no department has it."""
    depts = departments(session)
    chosen = None
    scoped = rows
    if department:
        match = [(i, d) for i, d in depts if d.code == department]
        if not match:
            return None
        chosen_id, chosen = match[0]
        scoped = [r for r in rows if r.department_id == chosen_id]
    by_department: list[tuple[DepartmentRef | None, list]] = [
        (d, [r for r in rows if r.department_id == i]) for i, d in depts]
    unassigned = [r for r in rows if r.department_id is None]
    if unassigned:
        by_department.append((None, unassigned))
    return Scope(chosen, scoped, by_department, dict(depts))


def week_bounds(as_of: date, weeks: int) -> list[tuple[date, date]]:
    """`weeks` 7-day weeks (first and last day), the last one ending on `as_of`, oldest first; weeks before the
    calendar begins (an as_of in year 1) are left out."""
    out = []
    for i in reversed(range(weeks)):
        if as_of - date.min < timedelta(days=7 * i + 8):
            continue
        end_day = as_of - timedelta(days=7 * i)
        out.append((end_day - timedelta(days=6), end_day))
    return out
