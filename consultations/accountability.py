"""How we respond, consultations: what officials answered and when they published the outcome, overall and per
department, as of any past day.

The figures concern the consultations closed by the day, and are recomputed from timestamps that never change
once written: `Consultation.closed_at` (its first closing, by the close job or an official),
`Consultation.report_published_at` (the outcome's first publication; re-publishing keeps it),
`OfficialResponse.published_at` (a response's first publication) and `Comment.created_at`. So a past day's
figures stay the same after later outcomes, responses and closings. What moderators decide later (hiding a
comment or a response) does change them: a hidden comment is no longer one the public can see answered.

- Comments answered: published comments in those consultations with a published official response to them.
- Themes answered: the consultations' questions whose thread an official answered as a whole.
- Days to the outcome: from closing to the outcome's first publication (0 when published before closing).
- Waiting for an outcome: closed by the day, no outcome by the day; listed with how long each has waited.

Consultations are grouped by their department (`Consultation.department_id`). Read-only; returns view objects.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.clock import as_utc
from app.reporting import DAY, DepartmentRef, cutoff, days_between, median1, scope, week_bounds

from .models import Comment, CommentStatus, Consultation, OfficialResponse, Question


@dataclass(frozen=True)
class Figures:
    closed: int                  # consultations closed by the day
    with_outcome: int            # of those, outcome published by the day
    waiting: int                 # closed, no outcome by the day
    median_days: float | None    # closing -> outcome, the ones with an outcome
    comments: int                # published comments in them
    comments_answered: int
    themes: int                  # their questions
    themes_answered: int

    @property
    def share_comments_answered(self) -> float | None:
        return self.comments_answered / self.comments if self.comments else None

    @property
    def share_themes_answered(self) -> float | None:
        return self.themes_answered / self.themes if self.themes else None


@dataclass(frozen=True)
class DepartmentFigures:
    department: DepartmentRef | None   # None: consultations no department is responsible for
    figures: Figures


@dataclass(frozen=True)
class WaitingItem:
    consultation_id: int
    title: str
    department: DepartmentRef | None
    closed_at: datetime
    days_waiting: int


@dataclass(frozen=True)
class WeekPoint:
    start: date
    end: date
    outcomes: int                # outcomes published in the week
    median_days: float | None    # their closing -> outcome days
    waiting: int                 # closed without an outcome at the week's end
    share_comments_answered: float | None   # at the week's end


@dataclass(frozen=True)
class ConsultationReport:
    as_of: date
    department: DepartmentRef | None
    figures: Figures
    departments: tuple[DepartmentFigures, ...]
    waiting: tuple[WaitingItem, ...]
    weeks: tuple[WeekPoint, ...]


@dataclass(frozen=True)
class _Row:
    consultation_id: int
    title: str
    department_id: int | None
    closed_at: datetime
    outcome_at: datetime | None
    comments: tuple[tuple[datetime, datetime | None], ...]   # (posted, first answered) per published comment
    themes: tuple[datetime | None, ...]                      # first answered, per question


def _first_responses(session: Session, until: datetime, ids: list[int], *, threads: bool) -> dict[int, datetime]:
    """The first published response before `until` to each comment (by comment id) or, with `threads`, to each
    question's discussion as a whole (by question id; a response to one comment in it does not count)."""
    key = col(OfficialResponse.question_id) if threads else col(OfficialResponse.comment_id)
    stmt = (select(key, func.min(OfficialResponse.published_at))
            .where(col(OfficialResponse.consultation_id).in_(ids), key.is_not(None),
                   col(OfficialResponse.status) == CommentStatus.PUBLISHED,
                   col(OfficialResponse.published_at) < until))
    if threads:
        stmt = stmt.where(col(OfficialResponse.comment_id).is_(None))
    return {k: as_utc(at) for k, at in session.execute(stmt.group_by(key))}


def _rows(session: Session, until: datetime) -> list[_Row]:
    closed = list(session.execute(
        select(col(Consultation.id), col(Consultation.title), col(Consultation.department_id),
               col(Consultation.closed_at), col(Consultation.report_published_at))
        .where(col(Consultation.closed_at).is_not(None), col(Consultation.closed_at) < until)
        .order_by(col(Consultation.closed_at), col(Consultation.id))))
    ids = [r[0] for r in closed]
    comments: dict[int, list[tuple[datetime, datetime | None]]] = {i: [] for i in ids}
    themes: dict[int, list[datetime | None]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        answered = _first_responses(session, until, chunk, threads=False)
        for cid, comment_id, posted in session.execute(
                select(col(Comment.consultation_id), col(Comment.id), col(Comment.created_at))
                .where(col(Comment.consultation_id).in_(chunk), col(Comment.status) == CommentStatus.PUBLISHED,
                       col(Comment.created_at) < until)):
            comments[cid].append((as_utc(posted), answered.get(comment_id)))
        threads = _first_responses(session, until, chunk, threads=True)
        for cid, question_id in session.execute(
                select(col(Question.consultation_id), col(Question.id)).where(col(Question.consultation_id).in_(chunk))):
            themes[cid].append(threads.get(question_id))
    return [_Row(cid, title, dept, as_utc(closed_at),
                 as_utc(outcome) if outcome is not None and as_utc(outcome) < until else None,
                 tuple(comments[cid]), tuple(themes[cid]))
            for cid, title, dept, closed_at, outcome in closed]


def _outcome_days(r: _Row) -> float:
    assert r.outcome_at is not None
    return max(0.0, days_between(r.closed_at, r.outcome_at))


def _has_outcome(r: _Row, at: datetime) -> bool:
    return r.outcome_at is not None and r.outcome_at < at


def _comment_counts(rows: list[_Row], at: datetime) -> tuple[int, int]:
    posted = [answered for r in rows for created, answered in r.comments if created < at]
    return len(posted), sum(1 for answered in posted if answered is not None and answered < at)


def figures(rows: list[_Row], *, at: datetime) -> Figures:
    """The figures for the consultations in `rows` as they stood at the moment `at`."""
    closed = [r for r in rows if r.closed_at < at]
    reported = [r for r in closed if _has_outcome(r, at)]
    days = [_outcome_days(r) for r in reported]
    comments, comments_answered = _comment_counts(closed, at)
    themes = [answered for r in closed for answered in r.themes]
    return Figures(closed=len(closed), with_outcome=len(reported), waiting=len(closed) - len(reported),
                   median_days=median1(days),
                   comments=comments, comments_answered=comments_answered, themes=len(themes),
                   themes_answered=sum(1 for a in themes if a is not None and a < at))


def weekly(rows: list[_Row], *, as_of: date, weeks: int, at: datetime) -> tuple[WeekPoint, ...]:
    """Outcomes published per 7-day week (the last ending on `as_of`), their median days, and the consultations
    waiting and the share of comments answered at each week's end; oldest first."""
    points = []
    for start_day, end_day in week_bounds(as_of, weeks):
        lo, hi = cutoff(start_day - DAY), min(cutoff(end_day), at)
        published = [r for r in rows if r.outcome_at is not None and lo <= r.outcome_at < hi]
        days = [_outcome_days(r) for r in published]
        closed = [r for r in rows if r.closed_at < hi]
        comments, answered = _comment_counts(closed, hi)
        points.append(WeekPoint(start_day, end_day, len(published), median1(days),
                                sum(1 for r in closed if not _has_outcome(r, hi)),
                                answered / comments if comments else None))
    return tuple(points)


def consultation_report(session: Session, *, as_of: date, department: str = "", weeks: int = 12,
                        now: datetime | None = None) -> ConsultationReport | None:
    """The report as of the end of `as_of` (or `now`, if earlier), for one department (by code) or all.

    Returns None when `department` names no department.
    """
    at = cutoff(as_of)
    if now is not None:
        at = min(at, now)
    picked = scope(session, _rows(session, at), department)
    if picked is None:
        return None
    scoped, by_id = picked.rows, picked.names
    per_department = [DepartmentFigures(d, figures(rs, at=at)) for d, rs in picked.by_department]
    waiting = sorted((WaitingItem(r.consultation_id, r.title, by_id.get(r.department_id), r.closed_at,
                                  int(days_between(r.closed_at, at)))
                      for r in scoped if not _has_outcome(r, at)),
                     key=lambda item: (-item.days_waiting, item.consultation_id))
    return ConsultationReport(as_of=as_of, department=picked.chosen, figures=figures(scoped, at=at),
                              departments=tuple(per_department), waiting=tuple(waiting),
                              weeks=weekly(scoped, as_of=as_of, weeks=weeks, at=at))
