"""How we respond: response-time figures for petitions, overall and per department, as of any past day.

Every figure is recomputed from two recorded timestamps that never change once written:
`Petition.response_threshold_at` (stamped by the settle tick the first time the count reaches the response
threshold) and `Response.published_at` (the first publication; corrections keep it). So the figures for a past
day stay the same whatever happens afterwards (new signatures, later responses). Days end at midnight UTC.

A petition counts from the moment it reached the threshold. A response published before that moment counts
as answered at the threshold, after 0 days. Petitions are grouped by their responsible department
(`Petition.department_id`, set when a moderator approves it). Hidden petitions still count in the figures (they
reached the threshold), but are not listed by title. Read-only; returns view objects.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.clock import as_utc as _aware
from app.reporting import DAY, DepartmentRef, cutoff, median1, percentile, scope, week_bounds
from app.reporting import departments as departments  # re-exported: the page lists them
from app.reporting import days_between as _days
from app.reporting import parse_as_of as parse_as_of  # re-exported: the routes and API parse with it
from app.reporting import round1 as _round
from app.reporting import unknown_department as unknown_department  # re-exported for the routes and API

from .models import PUBLISHED, Petition, Response


@dataclass(frozen=True)
class Figures:
    reached: int                 # reached the response threshold by the day
    answered: int                # of those, answered by the day
    median_days: float | None    # threshold -> response, answered ones
    p90_days: float | None
    due: int                     # answered, or waiting longer than the deadline: the ones the deadline applies to
    answered_in_time: int        # answered within the deadline
    overdue: int                 # reached, unanswered, waiting longer than the deadline

    @property
    def share_in_time(self) -> float | None:
        return self.answered_in_time / self.due if self.due else None


@dataclass(frozen=True)
class DepartmentFigures:
    department: DepartmentRef | None   # None: petitions no department is responsible for
    figures: Figures


@dataclass(frozen=True)
class OverdueItem:
    petition_id: int
    action: str
    department: DepartmentRef | None
    threshold_at: datetime
    days_waiting: int


@dataclass(frozen=True)
class WeekPoint:
    start: date       # first day of the week
    end: date         # last day (inclusive)
    answered: int
    median_days: float | None


@dataclass(frozen=True)
class ResponseReport:
    as_of: date
    deadline_days: int
    department: DepartmentRef | None   # the department asked for, or None for all
    figures: Figures
    departments: tuple[DepartmentFigures, ...]
    overdue: tuple[OverdueItem, ...]
    unlisted_overdue: int               # overdue but hidden: counted, not listed by title
    weeks: tuple[WeekPoint, ...]


@dataclass(frozen=True)
class _Row:
    petition_id: int
    action: str
    state: str
    department_id: int | None
    threshold_at: datetime
    responded_at: datetime | None   # effective: never before the threshold


def _rows(session: Session, until: datetime) -> list[_Row]:
    stmt = (select(col(Petition.id), col(Petition.action), col(Petition.state), col(Petition.department_id),
                   col(Petition.response_threshold_at), col(Response.published_at))
            .outerjoin(Response, col(Response.petition_id) == col(Petition.id))
            .where(col(Petition.response_threshold_at).is_not(None), col(Petition.response_threshold_at) < until)
            .order_by(col(Petition.response_threshold_at), col(Petition.id)))
    rows = []
    for pid, action, state, dept, reached, published in session.execute(stmt):
        reached = _aware(reached)
        answered = max(reached, _aware(published)) if published is not None else None
        rows.append(_Row(pid, action, state, dept, reached, answered))
    return rows


def _is_overdue(r: _Row, at: datetime, deadline: timedelta) -> bool:
    """Not answered by `at`, and waiting longer than the deadline then."""
    return (r.responded_at is None or r.responded_at >= at) and at - r.threshold_at > deadline


def figures(rows: list[_Row], *, at: datetime, deadline: timedelta) -> Figures:
    """The figures for the petitions in `rows` as they stood at the moment `at`."""
    reached = [r for r in rows if r.threshold_at < at]
    answered = [r for r in reached if r.responded_at is not None and r.responded_at < at]
    days = [_days(r.threshold_at, r.responded_at) for r in answered if r.responded_at is not None]  # all of them
    in_time = sum(1 for d in days if d <= deadline.total_seconds() / 86400)
    overdue = [r for r in reached if _is_overdue(r, at, deadline)]
    return Figures(reached=len(reached), answered=len(answered),
                   median_days=median1(days),
                   p90_days=_round(percentile(days, 0.9)), due=len(answered) + len(overdue),
                   answered_in_time=in_time, overdue=len(overdue))


def response_report(session: Session, *, as_of: date, deadline_days: int, department: str = "", weeks: int = 12,
                    now: datetime | None = None) -> ResponseReport | None:
    """The report as of the end of `as_of` (or `now`, if earlier), for one department (by code) or all.

    Returns None when `department` names no department.
    """
    at = cutoff(as_of)
    if now is not None:
        at = min(at, now)
    deadline = timedelta(days=deadline_days)
    picked = scope(session, _rows(session, at), department)
    if picked is None:
        return None
    scoped, by_id = picked.rows, picked.names
    per_department = [DepartmentFigures(d, figures(rs, at=at, deadline=deadline)) for d, rs in picked.by_department]
    overdue, unlisted = [], 0
    for r in scoped:
        if _is_overdue(r, at, deadline):
            if r.state in PUBLISHED:
                overdue.append(OverdueItem(r.petition_id, r.action, by_id.get(r.department_id), r.threshold_at,
                                           int(_days(r.threshold_at, at))))
            else:
                unlisted += 1
    overdue.sort(key=lambda item: (-item.days_waiting, item.petition_id))
    return ResponseReport(as_of=as_of, deadline_days=deadline_days, department=picked.chosen,
                          figures=figures(scoped, at=at, deadline=deadline), departments=tuple(per_department),
                          overdue=tuple(overdue), unlisted_overdue=unlisted,
                          weeks=weekly(scoped, as_of=as_of, weeks=weeks, at=at))


def weekly(rows: list[_Row], *, as_of: date, weeks: int, at: datetime) -> tuple[WeekPoint, ...]:
    """Answered count and median days per 7-day week, the last one ending on `as_of`, oldest first."""
    points = []
    for start_day, end_day in week_bounds(as_of, weeks):
        lo, hi = cutoff(start_day - DAY), min(cutoff(end_day), at)
        days = [_days(r.threshold_at, r.responded_at) for r in rows
                if r.responded_at is not None and lo <= r.responded_at < hi]
        points.append(WeekPoint(start_day, end_day, len(days), median1(days)))
    return tuple(points)
