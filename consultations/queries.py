"""Consultations read queries returning view objects (frozen dataclasses); templates never touch the session.

A thread page costs a fixed handful of indexed queries whatever the thread's size: counters are
denormalised on comments, top-level comments are paginated, replies are loaded on demand.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from app.clock import utc_now
from app.db import pk
from app.errors import NotFound, PermissionDenied
from app.i18n import gettext as _
from app.models import Department, Role, User

from .access import StaffScope, denied, staff_scope  # noqa: F401  (routes read the viewer's reach here)

from .models import (
    VISIBLE_STATES,
    VOTE_NAMES,
    Comment,
    CommentStatus,
    CommentVote,
    Consultation,
    ConsultationState,
    Follower,
    OfficialResponse,
    Question,
)

SORTS = ("newest", "agreed", "discussed", "official")
FACETS = ("open", "closed", "reported", "all", "draft")


@dataclass(frozen=True)
class ConsultationView:
    id: int
    title: str
    summary: str
    body: str
    state: str
    department_id: int | None
    department: str
    department_zh: str
    opens_at: datetime | None
    closes_at: datetime | None
    strict_mode: bool
    comment_count: int
    report_text: str
    report_published_at: datetime | None
    source: str
    created_by: int | None

    @property
    def is_open(self) -> bool:
        return self.state == ConsultationState.OPEN


@dataclass(frozen=True)
class QuestionView:
    id: int
    position: int
    text: str
    comment_count: int


@dataclass(frozen=True)
class CommentView:
    id: int
    consultation_id: int
    question_id: int | None
    parent_id: int | None
    depth: int
    author_name: str
    body: str
    status: str
    created_at: datetime
    edited_at: datetime | None
    agree: int
    disagree: int
    passed: int
    reply_count: int
    response_count: int
    mine: bool
    my_vote: str | None
    editable: bool

    @property
    def removed(self) -> bool:
        return self.status == CommentStatus.REMOVED

    @property
    def held(self) -> bool:
        return self.status == CommentStatus.HELD

    @property
    def published(self) -> bool:
        return self.status == CommentStatus.PUBLISHED


@dataclass(frozen=True)
class ResponseView:
    id: int
    consultation_id: int
    comment_id: int | None
    question_id: int | None
    decision: str
    text: str
    commitment: str
    follow_up_on: date | None
    department: str
    department_zh: str
    author_name: str
    created_at: datetime
    status: str
    comment_excerpt: str = ""
    question_text: str = ""


@dataclass(frozen=True)
class ThreadPage:
    consultation: ConsultationView
    question: QuestionView | None
    sort: str
    page: int
    pages: int
    total: int
    comments: list[CommentView]
    responses: list[ResponseView]
    pending: list[CommentView]
    questions: list[QuestionView] = field(default_factory=list)
    following: bool = False


@dataclass(frozen=True)
class CommentPage:
    consultation: ConsultationView
    question: QuestionView | None
    comment: CommentView
    ancestors: list[CommentView]
    responses: list[ResponseView]
    replies: list[CommentView]
    pending: list[CommentView]
    page: int
    pages: int


@dataclass(frozen=True)
class ListPage:
    items: list[ConsultationView]
    facet: str
    q: str
    page: int
    pages: int
    total: int
    counts: dict = field(default_factory=dict)


def _consultation_view(c: Consultation, dept: Department | None) -> ConsultationView:
    return ConsultationView(
        id=pk(c.id), title=c.title, summary=c.summary, body=c.body, state=c.state, department_id=c.department_id,
        department=dept.name if dept else "", department_zh=(dept.name_zh or dept.name) if dept else "",
        opens_at=c.opens_at, closes_at=c.closes_at, strict_mode=c.strict_mode, comment_count=c.comment_count,
        report_text=c.report_text, report_published_at=c.report_published_at, source=c.source,
        created_by=c.created_by)


def _not_found() -> NotFound:
    return NotFound(_("We couldn't find that consultation. It may have been removed; see the list of consultations."))


def get_consultation(session: Session, *, consultation_id: int, staff: StaffScope | None = None) -> ConsultationView:
    """The consultation as the viewer may see it: the public sees no drafts; staff see the drafts of the
    consultations they may manage (`access.may_manage`). Raises: NotFound."""
    row = session.exec(select(Consultation, Department).join(Department, isouter=True,
                       onclause=col(Department.id) == col(Consultation.department_id))
                       .where(Consultation.id == consultation_id)).first()
    if row is None or (row[0].state not in VISIBLE_STATES
                       and not (staff is not None and staff.may_manage(row[0].department_id))):
        raise _not_found()
    return _consultation_view(*row)


def managed_consultation(session: Session, *, consultation_id: int, staff: StaffScope | None) -> ConsultationView:
    """The consultation for a staff page or action, only when the viewer may manage it.

    Raises: NotFound, PermissionDenied (not staff, or an official of another department)."""
    row = session.exec(select(Consultation, Department).join(Department, isouter=True,
                       onclause=col(Department.id) == col(Consultation.department_id))
                       .where(Consultation.id == consultation_id)).first()
    if row is None:
        raise _not_found()
    if staff is None or not staff.may_manage(row[0].department_id):
        raise denied()
    return _consultation_view(*row)


def list_questions(session: Session, consultation_id: int) -> list[QuestionView]:
    rows = session.exec(select(Question).where(Question.consultation_id == consultation_id)
                        .order_by(col(Question.position), col(Question.id)))
    return [QuestionView(id=pk(q.id), position=q.position, text=q.text, comment_count=q.comment_count) for q in rows]


def _draft_scope(staff: StaffScope | None):
    """The drafts a viewer may see: the ones they may manage (officials: their department's and nobody's)."""
    if staff is None:
        return col(Consultation.state) != ConsultationState.DRAFT
    if staff.role == Role.ADMIN:
        return col(Consultation.id).is_not(None)
    return or_(col(Consultation.state) != ConsultationState.DRAFT, col(Consultation.department_id).is_(None),
               col(Consultation.department_id) == staff.department_id)


def list_consultations(session: Session, *, facet: str = "open", q: str = "", page: int = 1, per_page: int = 20,
                       staff: StaffScope | None = None) -> ListPage:
    """Consultations by facet (open / closed / reported / all; drafts for staff, of the consultations they may
    manage) with a text search."""
    facet = facet if facet in FACETS else "open"
    if facet == "draft" and staff is None:
        facet = "open"

    def base():
        query = select(Consultation, Department).join(Department, isouter=True,
                                                      onclause=col(Department.id) == col(Consultation.department_id))
        if q:
            like = f"%{q.lower()}%"
            query = query.where(or_(func.lower(Consultation.title).like(like),
                                    func.lower(Consultation.summary).like(like)))
        return query

    states = {"open": [ConsultationState.OPEN], "closed": [ConsultationState.CLOSED],
              "reported": [ConsultationState.REPORTED], "draft": [ConsultationState.DRAFT],
              "all": list(VISIBLE_STATES)}[facet]
    query = base().where(col(Consultation.state).in_(states), _draft_scope(staff))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.exec(query.order_by(col(Consultation.created_at).desc(), col(Consultation.id).desc())
                        .offset((page - 1) * per_page).limit(per_page)).all()
    count_rows = session.exec(select(Consultation.state, func.count()).where(_draft_scope(staff))
                              .group_by(Consultation.state)).all()
    counts = {state: n for state, n in count_rows}
    counts["all"] = sum(counts.get(s, 0) for s in VISIBLE_STATES)
    return ListPage(items=[_consultation_view(c, d) for c, d in rows], facet=facet, q=q, page=page, pages=pages,
                    total=total, counts=counts)


def _comment_views(session: Session, rows, viewer_id: int | None, edit_window: int) -> list[CommentView]:
    comments = [c for c, _name in rows]
    votes: dict[int, int] = {}
    if viewer_id is not None and comments:
        votes = dict(session.exec(select(CommentVote.comment_id, CommentVote.vote).where(
            CommentVote.user_id == viewer_id, col(CommentVote.comment_id).in_([c.id for c in comments]))).all())
    now = utc_now()
    window = timedelta(minutes=edit_window)
    views = []
    for c, name in rows:
        mine = viewer_id is not None and c.author_id == viewer_id
        vote = votes.get(c.id)
        views.append(CommentView(
            id=c.id, consultation_id=c.consultation_id, question_id=c.question_id, parent_id=c.parent_id,
            depth=c.depth, author_name=name or "", body=c.body if c.status != CommentStatus.REMOVED else "",
            status=c.status, created_at=c.created_at, edited_at=c.edited_at, agree=c.agree_count,
            disagree=c.disagree_count, passed=c.pass_count, reply_count=c.reply_count,
            response_count=c.response_count, mine=mine, my_vote=VOTE_NAMES[vote].value if vote is not None else None,
            editable=mine and c.status in (CommentStatus.PUBLISHED, CommentStatus.HELD)
            and now - c.created_at <= window))
    return views


_AUTHOR = col(User.id) == col(Comment.author_id)  # join condition: a comment with its author's name
_ORDER: dict[str, tuple[ColumnElement[Any], ...]] = {
    "newest": (col(Comment.created_at).desc(), col(Comment.id).desc()),
    "agreed": (col(Comment.agree_count).desc(), col(Comment.id).desc()),
    "discussed": (col(Comment.reply_count).desc(), col(Comment.id).desc()),
    "official": (col(Comment.response_count).desc(), col(Comment.created_at).desc(), col(Comment.id).desc()),
}


def _responses(session: Session, *, consultation_id: int, comment_id: int | None = None,
               question_id: int | None = None, thread_level: bool = False) -> list[ResponseView]:
    query = (select(OfficialResponse, Department, User.name)
             .join(Department, isouter=True, onclause=col(Department.id) == col(OfficialResponse.department_id))
             .join(User, onclause=col(User.id) == col(OfficialResponse.author_id))
             .where(OfficialResponse.consultation_id == consultation_id,
                    OfficialResponse.status == CommentStatus.PUBLISHED))
    if thread_level:
        query = query.where(col(OfficialResponse.comment_id).is_(None))
        query = query.where(col(OfficialResponse.question_id).is_(None) if question_id is None
                            else OfficialResponse.question_id == question_id)
    elif comment_id is not None:
        query = query.where(OfficialResponse.comment_id == comment_id)
    return [_response_view(r, d, name) for r, d, name in
            session.exec(query.order_by(col(OfficialResponse.created_at), col(OfficialResponse.id))).all()]


def _response_view(r: OfficialResponse, d: Department | None, name: str, excerpt: str = "",
                   question_text: str = "") -> ResponseView:
    return ResponseView(
        id=pk(r.id), consultation_id=r.consultation_id, comment_id=r.comment_id, question_id=r.question_id,
        decision=r.decision, text=r.text, commitment=r.commitment, follow_up_on=r.follow_up_on,
        department=d.name if d else "", department_zh=(d.name_zh or d.name) if d else "", author_name=name or "",
        created_at=r.created_at, status=r.status, comment_excerpt=excerpt, question_text=question_text)


def thread_page(session: Session, *, consultation_id: int, question_id: int | None = None, sort: str = "newest",
                page: int = 1, viewer_id: int | None = None, page_size: int = 20, edit_window: int = 15,
                staff: StaffScope | None = None, with_questions: bool = False) -> ThreadPage:
    """One page of a thread's top-level comments with its pinned officials' responses (and, for the
    consultation's page, its questions and whether the viewer follows it), in one read. Raises: NotFound."""
    consultation = get_consultation(session, consultation_id=consultation_id, staff=staff)
    question = None
    if question_id is not None:
        q = session.get(Question, question_id)
        if q is None or q.consultation_id != consultation_id:
            raise NotFound(_("We couldn't find that question in this consultation."))
        question = QuestionView(id=pk(q.id), position=q.position, text=q.text, comment_count=q.comment_count)
    sort = sort if sort in SORTS else "newest"
    where = [Comment.consultation_id == consultation_id,
             col(Comment.question_id).is_(None) if question_id is None else Comment.question_id == question_id,
             col(Comment.parent_id).is_(None)]
    total = session.exec(select(func.count()).select_from(Comment).where(*where, col(Comment.listed).is_(True))).one()
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    rows = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                        .where(*where, col(Comment.listed).is_(True)).order_by(*_ORDER[sort])
                        .offset((page - 1) * page_size).limit(page_size)).all()
    pending_rows: Sequence[tuple[Comment, str]] = []
    if viewer_id is not None:
        pending_rows = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                                    .where(*where, Comment.author_id == viewer_id,
                                           Comment.status == CommentStatus.HELD)
                                    .order_by(col(Comment.created_at).desc())).all()
    return ThreadPage(
        consultation=consultation, question=question, sort=sort, page=page, pages=pages, total=total,
        comments=_comment_views(session, rows, viewer_id, edit_window),
        responses=_responses(session, consultation_id=consultation_id, question_id=question_id, thread_level=True),
        pending=_comment_views(session, pending_rows, viewer_id, edit_window),
        questions=list_questions(session, consultation_id) if with_questions else [],
        following=is_following(session, consultation_id=consultation_id, user_id=viewer_id))


def comment_page(session: Session, *, consultation_id: int, comment_id: int, viewer_id: int | None = None,
                 page: int = 1, page_size: int = 50, edit_window: int = 15,
                 staff: StaffScope | None = None) -> CommentPage:
    """A comment with its pinned responses and one page of its direct replies (oldest first). Raises: NotFound."""
    consultation = get_consultation(session, consultation_id=consultation_id, staff=staff)
    row = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                       .where(Comment.id == comment_id, Comment.consultation_id == consultation_id)).first()
    if row is None or not (row[0].listed or (viewer_id is not None and row[0].author_id == viewer_id
                                             and row[0].status == CommentStatus.HELD)):
        raise NotFound(_("We couldn't find that comment. It may have been removed or hidden by a moderator."))
    comment = row[0]
    ancestors_rows: list[tuple[Comment, str]] = []
    parent_id = comment.parent_id
    while parent_id is not None and len(ancestors_rows) < 5:
        parent = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                              .where(Comment.id == parent_id)).first()
        if parent is None:
            break
        ancestors_rows.insert(0, parent)
        parent_id = parent[0].parent_id
    where = [Comment.parent_id == comment.id]
    total = comment.reply_count
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    replies = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                           .where(*where, col(Comment.listed).is_(True))
                           .order_by(col(Comment.created_at), col(Comment.id)).offset((page - 1) * page_size)
                           .limit(page_size)).all()
    pending: Sequence[tuple[Comment, str]] = []
    if viewer_id is not None:
        pending = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                               .where(*where, Comment.author_id == viewer_id, Comment.status == CommentStatus.HELD)
                               .order_by(col(Comment.created_at))).all()
    question = None
    if comment.question_id is not None:
        q = session.get(Question, comment.question_id)
        assert q is not None  # the comment's question (foreign key)
        question = QuestionView(id=pk(q.id), position=q.position, text=q.text, comment_count=q.comment_count)
    return CommentPage(
        consultation=consultation, question=question,
        comment=_comment_views(session, [row], viewer_id, edit_window)[0],
        ancestors=[v for v in _comment_views(session, ancestors_rows, viewer_id, edit_window)
                   if v.status in (CommentStatus.PUBLISHED, CommentStatus.REMOVED)],
        responses=_responses(session, consultation_id=consultation_id, comment_id=comment.id),
        replies=_comment_views(session, replies, viewer_id, edit_window),
        pending=_comment_views(session, pending, viewer_id, edit_window), page=page, pages=pages)


def get_comment_for_author(session: Session, *, comment_id: int, user_id: int, consultation_id: int | None = None,
                           edit_window: int = 15) -> CommentView:
    """A comment as its author sees it (for the edit form; `editable` says whether the window is still open).

    Raises: NotFound, PermissionDenied."""
    row = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                       .where(Comment.id == comment_id)).first()
    if row is None or (consultation_id is not None and row[0].consultation_id != consultation_id):
        raise NotFound(_("We couldn't find that comment. It may have been removed."))
    if row[0].author_id != user_id:
        raise PermissionDenied(_("You can only edit your own comments."))
    return _comment_views(session, [row], user_id, edit_window)[0]


def get_comment(session: Session, *, consultation_id: int, comment_id: int) -> CommentView:
    """A published comment (for the report form). Raises: NotFound."""
    row = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                       .where(Comment.id == comment_id, Comment.consultation_id == consultation_id,
                              Comment.status == CommentStatus.PUBLISHED)).first()
    if row is None:
        raise NotFound(_("We couldn't find that comment. It may have been removed or hidden by a moderator."))
    return _comment_views(session, [row], None, 0)[0]


def list_responses(session: Session, *, consultation_id: int,
                   staff: StaffScope | None = None) -> tuple[ConsultationView, list]:
    """Every published response of a consultation with what it answers ("What we heard, what we'll do")."""
    consultation = get_consultation(session, consultation_id=consultation_id, staff=staff)
    # sqlmodel's select() is typed for at most four entities; these are two models and four plain columns
    rows = session.exec(
        select(OfficialResponse, Department, User.name, Comment.body, Comment.status,  # type: ignore[call-overload]
               Question.text)
        .join(Department, isouter=True, onclause=Department.id == OfficialResponse.department_id)
        .join(User, onclause=User.id == OfficialResponse.author_id)
        .join(Comment, isouter=True, onclause=Comment.id == OfficialResponse.comment_id)
        .join(Question, isouter=True, onclause=Question.id == OfficialResponse.question_id)
        .where(OfficialResponse.consultation_id == consultation_id,
               OfficialResponse.status == CommentStatus.PUBLISHED)
        .order_by(col(OfficialResponse.question_id).is_(None).desc(), col(OfficialResponse.question_id),
                  col(OfficialResponse.created_at))).all()
    views = []
    for r, d, name, body, status, qtext in rows:
        excerpt = ""
        if r.comment_id is not None:
            excerpt = body if status == CommentStatus.PUBLISHED else ""
            excerpt = excerpt if len(excerpt) <= 300 else excerpt[:297].rstrip() + "\u2026"
        views.append(_response_view(r, d, name, excerpt, qtext or ""))
    return consultation, views


@dataclass(frozen=True)
class ResponseGroup:
    """One response as residents read it: a theme answered at once puts the same response into many comment
    threads, and "What we heard, what we'll do" shows it once, with the comments it answers."""

    response: ResponseView  # the first of them (decision, text, commitment, department, date)
    comments: tuple[tuple[int, str], ...] = ()  # (comment id, excerpt) of every comment it answers

    @property
    def comment_id(self) -> int | None:
        return self.comments[0][0] if len(self.comments) == 1 else None


def group_responses(views: list[ResponseView]) -> list[ResponseGroup]:
    """The same response (same department, decision, text, commitment and follow-up date) given to several
    comments becomes one entry listing those comments; responses to a question or to the whole consultation stay
    as they are. Order: where each response first appears."""
    groups: dict[tuple, list[ResponseView]] = {}
    for r in views:
        key = (("comment",) if r.comment_id is not None else ("thread", r.id)) + (
            r.department, r.decision, r.text, r.commitment, r.follow_up_on)
        groups.setdefault(key, []).append(r)
    return [ResponseGroup(response=rs[0], comments=tuple((r.comment_id, r.comment_excerpt) for r in rs
                                                          if r.comment_id is not None))
            for rs in groups.values()]


def is_following(session: Session, *, consultation_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return session.exec(select(Follower.id).where(Follower.consultation_id == consultation_id,
                                                  Follower.user_id == user_id)).first() is not None


def list_departments(session: Session) -> list[tuple[int, str]]:
    return [(pk(d.id), d.name) for d in session.exec(select(Department).order_by(col(Department.name)))]


def home_section(session) -> dict:
    """What the home page shows for this domain: a template and its context."""
    rows = session.exec(select(Consultation, Department).join(Department, isouter=True,
                        onclause=col(Department.id) == col(Consultation.department_id))
                        .where(Consultation.state == ConsultationState.OPEN)
                        .order_by(col(Consultation.created_at).desc()).limit(3)).all()
    return {"template": "consultations/_home.html", "items": [_consultation_view(c, d) for c, d in rows]}


def get_comment_for_vote(session: Session, *, comment_id: int, viewer_id: int | None) -> CommentView:
    """A comment's vote counts and the viewer's vote (for the htmx vote partial). Raises: NotFound."""
    row = session.exec(select(Comment, col(User.name)).join(User, onclause=_AUTHOR)
                       .where(Comment.id == comment_id)).first()
    if row is None:
        raise NotFound(_("We couldn't find that comment. It may have been removed."))
    return _comment_views(session, [row], viewer_id, 0)[0]
