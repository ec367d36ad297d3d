"""Petitions read queries returning view objects (frozen dataclasses). Never write."""
from __future__ import annotations

import math
import re
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from app.clock import as_utc as _aware
from app.clock import utc_now
from app.db import pk
from app.models import Department
from moderation import latest_score

from .reasons import reason_description, reason_title
from .models import (
    PUBLISHED, VISIBLE, AreaCount, CountSnapshot, Debate, Petition, PetitionState, RejectionReason, Response,
)

FACETS = ("open", "closed", "awaiting", "responded", "debated", "rejected")
SORTS = ("signatures", "newest")


@dataclass(frozen=True)
class PetitionCard:
    id: int
    action: str
    background: str
    state: str
    signature_count: int
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    responded: bool
    debated: bool
    area_count: int | None = None  # signatures in the area the list is filtered by


def _card(p: Petition, area_count: int | None = None) -> PetitionCard:
    return PetitionCard(pk(p.id), p.action, p.background, p.state, p.signature_count, _aware(p.created_at),
                        _aware(p.opened_at), _aware(p.closes_at), p.responded_at is not None, p.debated_at is not None,
                        area_count)


@dataclass(frozen=True)
class PetitionList:
    items: tuple[PetitionCard, ...]
    total: int
    page: int
    pages: int
    facet: str
    q: str
    sort: str
    area: str = ""


def _facet_filter(stmt, facet: str):
    if facet == "open":
        return stmt.where(Petition.state == PetitionState.OPEN)
    if facet == "closed":
        return stmt.where(Petition.state == PetitionState.CLOSED)
    if facet == "awaiting":
        return stmt.where(col(Petition.state).in_(list(PUBLISHED)), col(Petition.response_threshold_at).is_not(None),
                          col(Petition.responded_at).is_(None))
    if facet == "responded":
        return stmt.where(col(Petition.state).in_(list(PUBLISHED)), col(Petition.responded_at).is_not(None))
    if facet == "debated":
        return stmt.where(col(Petition.state).in_(list(PUBLISHED)), col(Petition.debated_at).is_not(None))
    if facet == "rejected":
        return stmt.where(Petition.state == PetitionState.REJECTED)
    return stmt.where(col(Petition.state).in_(list(VISIBLE)))


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(stmt, q: str):
    if q:
        pattern = f"%{_escape_like(q)}%"
        stmt = stmt.where(or_(col(Petition.action).ilike(pattern, escape="\\"),
                              col(Petition.background).ilike(pattern, escape="\\")))
    return stmt


def _normalised(facet: str, q: str, sort: str) -> tuple[str, str, str]:
    return facet if facet in FACETS else "", " ".join(q.split())[:100], sort if sort in SORTS else "signatures"


def _order(sort: str) -> tuple:
    if sort == "signatures":
        return col(Petition.signature_count).desc(), col(Petition.id).desc()
    return (col(Petition.id).desc(),)


def _in_area(stmt, area: str):
    """Only petitions with confirmed signatures in `area` (an exact configured area name; empty: no filter)."""
    if not area:
        return stmt
    return stmt.join(AreaCount, and_(col(AreaCount.petition_id) == col(Petition.id),
                                     col(AreaCount.area) == area)).where(AreaCount.count > 0)


def _count_and_page(session: Session, *, facet: str, q: str, page: int, page_size: int,
                    area: str = "") -> tuple[int, int, int]:
    """How many petitions the list has, the asked-for page brought within range, and the number of pages."""
    stmt = _in_area(_search(_facet_filter(select(Petition), facet), q), area)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, math.ceil(total / page_size))
    return total, min(max(1, page), pages), pages


def list_petitions(session: Session, *, facet: str = "", q: str = "", sort: str = "signatures", page: int = 1,
                   page_size: int = 20, area: str = "") -> PetitionList:
    """A page of petitions; with `area`, those signed in that area, most signatures there first."""
    facet, q, sort = _normalised(facet, q, sort)
    total, page, pages = _count_and_page(session, facet=facet, q=q, page=page, page_size=page_size, area=area)
    if area:
        stmt = _in_area(_search(_facet_filter(select(Petition, col(AreaCount.count)), facet), q), area)
        rows = session.execute(stmt.order_by(col(AreaCount.count).desc(), *_order("signatures"))
                               .offset((page - 1) * page_size).limit(page_size)).all()
        return PetitionList(tuple(_card(p, n) for p, n in rows), total, page, pages, facet, q, sort, area)
    stmt = _search(_facet_filter(select(Petition), facet), q)
    petitions = session.execute(stmt.order_by(*_order(sort)).offset((page - 1) * page_size).limit(page_size)).scalars()
    return PetitionList(tuple(_card(p) for p in petitions), total, page, pages, facet, q, sort)


@dataclass(frozen=True)
class ResponseView:
    summary: str
    details: str
    decision: str
    follow_up_on: date | None
    published_at: datetime


@dataclass(frozen=True)
class DebateView:
    debated_on: date
    summary: str
    links: tuple[str, ...]
    published_at: datetime


@dataclass(frozen=True)
class PetitionView:
    id: int
    action: str
    background: str
    details: str
    state: str
    signature_count: int
    sponsor_count: int
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    rejected_at: datetime | None
    rejection_code: str
    rejection_title: str
    rejection_description: str
    rejection_detail: str
    department_id: int | None
    department_name: str
    department_name_zh: str
    response_threshold_at: datetime | None
    debate_threshold_at: datetime | None
    response: ResponseView | None
    debate: DebateView | None
    areas: tuple[tuple[str, int], ...] = ()   # online and paper together, largest first
    updated_at: datetime | None = None
    paper_signature_count: int = 0            # the part of signature_count collected on paper
    paper_areas: tuple[tuple[str, int], ...] = ()

    @property
    def online_signature_count(self) -> int:
        return self.signature_count - self.paper_signature_count

    def paper_in(self, area: str) -> int:
        """Paper signatures in `area` (part of its count in `areas`)."""
        return dict(self.paper_areas).get(area, 0)

    @property
    def is_open(self) -> bool:
        return self.state == PetitionState.OPEN

    @property
    def is_visible(self) -> bool:
        return self.state in VISIBLE

    @property
    def rejection_title_text(self) -> str:
        """The rejection reason's title as shown (built-in titles translated by code, admin text as written)."""
        return reason_title(self.rejection_code, self.rejection_title)

    @property
    def rejection_description_text(self) -> str:
        return reason_description(self.rejection_code, self.rejection_description)

    @property
    def awaiting_response(self) -> bool:
        return self.response_threshold_at is not None and self.response is None and self.state in PUBLISHED


def _view_select():
    """Petitions with their one-to-one rows joined (response, debate, rejection reason, department; None where
    there is none), so a view needs no query per petition. Filter, order and page it like `select(Petition)`."""
    return (select(Petition, Response, Debate, RejectionReason, Department).select_from(Petition)
            .outerjoin(Response, col(Response.petition_id) == col(Petition.id))
            .outerjoin(Debate, col(Debate.petition_id) == col(Petition.id))
            .outerjoin(RejectionReason, and_(col(Petition.rejection_code) != "",
                                             col(RejectionReason.code) == col(Petition.rejection_code)))
            .outerjoin(Department, col(Department.id) == col(Petition.department_id)))


def _views(session: Session, stmt) -> list[tuple[Petition, PetitionView]]:
    """The petitions a `_view_select()` statement finds, each with its full view, in two queries however many
    there are: the statement itself and one for the signature counts by area of them all."""
    rows = session.execute(stmt).all()
    areas: dict[int, list] = {}
    on_paper: dict[int, list] = {}
    if rows:
        for pid, area, n, paper in session.execute(select(col(AreaCount.petition_id), col(AreaCount.area),
                                                          col(AreaCount.count), col(AreaCount.paper))
                                                   .where(col(AreaCount.petition_id).in_([p.id for p, *_ in rows]))
                                                   .order_by(col(AreaCount.petition_id), col(AreaCount.count).desc(),
                                                             col(AreaCount.area))):
            areas.setdefault(pid, []).append((area, n))
            if paper:
                on_paper.setdefault(pid, []).append((area or "", paper))
    return [(p, _view(p, response, debate, areas.get(p.id, ()), reason, dept, on_paper.get(p.id, ())))
            for p, response, debate, reason, dept in rows]


def petition_view(session: Session, *, petition_id: int) -> PetitionView | None:
    found = _views(session, _view_select().where(Petition.id == petition_id))
    return found[0][1] if found else None


def list_petition_views(session: Session, *, facet: str = "", q: str = "", sort: str = "signatures", page: int = 1,
                        page_size: int = 20, area: str = "") -> tuple[PetitionList, list[PetitionView]]:
    """A page of `list_petitions` with each petition's full view, in three queries whatever the page size: the
    count, the page with its one-to-one rows joined, and the signature counts by area."""
    facet, q, sort = _normalised(facet, q, sort)
    total, page, pages = _count_and_page(session, facet=facet, q=q, page=page, page_size=page_size, area=area)
    stmt = _in_area(_search(_facet_filter(_view_select(), facet), q), area)
    order = (col(AreaCount.count).desc(), *_order("signatures")) if area else _order(sort)
    found = _views(session, stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size))
    return (PetitionList(tuple(_card(p) for p, _ in found), total, page, pages, facet, q, sort, area),
            [view for _, view in found])


def _view(p: Petition, response, debate, areas, reason, dept, paper_areas=()) -> PetitionView:
    return PetitionView(
        id=pk(p.id), action=p.action, background=p.background, details=p.details, state=p.state,
        signature_count=p.signature_count, sponsor_count=p.sponsor_count, created_at=_aware(p.created_at),
        opened_at=_aware(p.opened_at), closes_at=_aware(p.closes_at), closed_at=_aware(p.closed_at),
        rejected_at=_aware(p.rejected_at), rejection_code=p.rejection_code,
        rejection_title=reason.title if reason else "", rejection_description=reason.description if reason else "",
        rejection_detail=p.rejection_detail, department_id=p.department_id,
        department_name=dept.name if dept else "", department_name_zh=(dept.name_zh if dept else "") or "",
        response_threshold_at=_aware(p.response_threshold_at), debate_threshold_at=_aware(p.debate_threshold_at),
        response=ResponseView(response.summary, response.details, response.decision, response.follow_up_on,
                              _aware(response.published_at)) if response else None,
        debate=DebateView(debate.debated_on, debate.summary, tuple(l for l in debate.links.splitlines() if l),
                          _aware(debate.published_at)) if debate else None,
        areas=tuple((a or "", n) for a, n in areas), updated_at=_aware(p.updated_at),
        paper_signature_count=p.paper_signature_count, paper_areas=tuple(paper_areas),
    )


@dataclass(frozen=True)
class CountView:
    id: int
    state: str
    signature_count: int
    paper_signature_count: int = 0


CSV_COLUMNS = (col(Petition.id), col(Petition.action), col(Petition.state), col(Petition.signature_count),
               col(Petition.paper_signature_count), col(Petition.created_at), col(Petition.opened_at), col(Petition.closes_at), col(Response.decision),
               col(Response.summary), col(Debate.debated_on))


def export_rows(session: Session, *, facet: str = "", q: str = ""):
    """Every petition of a list (same filters, newest first) as flat rows for the CSV export, in ONE query.

    Yields tuples in the order of CSV_COLUMNS, with aware datetimes."""
    facet = facet if facet in FACETS else ""
    q = " ".join(q.split())[:100]
    stmt = (select(*CSV_COLUMNS).select_from(Petition)
            .outerjoin(Response, col(Response.petition_id) == col(Petition.id))
            .outerjoin(Debate, col(Debate.petition_id) == col(Petition.id)))
    stmt = _search(_facet_filter(stmt, facet), q).order_by(col(Petition.id).desc())
    return [(pid, action, state, count, paper, _aware(created), _aware(opened), _aware(closes), decision, summary,
             debated)
            for pid, action, state, count, paper, created, opened, closes, decision, summary, debated
            in session.execute(stmt).all()]


def count_view(session: Session, *, petition_id: int) -> CountView | None:
    row = session.execute(select(col(Petition.id), col(Petition.state), col(Petition.signature_count),
                                 col(Petition.paper_signature_count))
                          .where(col(Petition.id) == petition_id)).first()
    return CountView(*row) if row else None


@dataclass(frozen=True)
class AwaitingItem:
    card: PetitionCard
    waiting_seconds: int
    threshold_at: datetime


def awaiting_response(session: Session, *, limit: int = 200) -> tuple[AwaitingItem, ...]:
    """Published petitions past the response threshold with no response yet, longest wait first."""
    now = utc_now()
    rows = session.execute(select(Petition).where(
        col(Petition.state).in_(list(PUBLISHED)), col(Petition.response_threshold_at).is_not(None),
        col(Petition.responded_at).is_(None)).order_by(col(Petition.response_threshold_at), col(Petition.id))
        .limit(limit)).scalars().all()
    return tuple(AwaitingItem(_card(p), int((now - _aware(p.response_threshold_at)).total_seconds()),
                              _aware(p.response_threshold_at)) for p in rows)


@dataclass(frozen=True)
class QueueItem:
    card: PetitionCard
    state: str
    submitted_at: datetime | None
    score: float | None
    score_route: str
    sponsor_count: int


def moderation_queue(session: Session, *, include_decided: bool = False) -> tuple[QueueItem, ...]:
    states = [PetitionState.PENDING] + ([PetitionState.REJECTED, PetitionState.HIDDEN] if include_decided else [])
    rows = session.execute(select(Petition).where(col(Petition.state).in_(states))
                           .order_by(col(Petition.submitted_at), col(Petition.id)).limit(500)).scalars().all()
    items = []
    for p in rows:
        score, route = None, ""
        try:
            screening = latest_score(session, "petition", p.id)
            if screening is not None:
                score, route = screening.score, str(screening.route)
        except Exception:  # the queue works without the moderation pipeline
            score, route = None, ""
        items.append(QueueItem(_card(p), p.state, _aware(p.submitted_at), score, route, p.sponsor_count))
    return tuple(items)


@dataclass(frozen=True)
class ReasonView:
    code: str
    title: str
    description: str
    hides_petition: bool

    @property
    def title_text(self) -> str:
        """The title as shown: built-in titles translated by code, admin text as written (escaped by templates)."""
        return reason_title(self.code, self.title)

    @property
    def description_text(self) -> str:
        return reason_description(self.code, self.description)


def rejection_reasons(session: Session) -> tuple[ReasonView, ...]:
    rows = session.execute(select(RejectionReason)
                           .order_by(col(RejectionReason.position), col(RejectionReason.code))).scalars().all()
    return tuple(ReasonView(r.code, r.title, r.description, r.hides_petition) for r in rows)


def departments(session: Session) -> tuple[tuple[int, str, str], ...]:
    return tuple(session.execute(select(col(Department.id), col(Department.name), col(Department.name_zh))
                                 .order_by(col(Department.name))).all())


# ----- similar petitions -----

_STOP = frozenset("""a an and are as at be by for from has have in into is it its of on or should that the their this
to was we were will with not no our all more any can do make government people""".split())
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]+")
# per database (an engine), forgotten with it: keyed by the object, never by an id() a later engine may reuse
_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _WORD.findall(text.lower()):
        if tok[0] >= "\u3400":
            out.extend(tok[i:i + 2] for i in range(max(1, len(tok) - 1)))
        elif tok not in _STOP and len(tok) > 1:
            out.append(tok[:-1] if tok.endswith("s") and len(tok) > 3 else tok)
    return out


def _index(session: Session, ttl: float = 30.0):
    key = session.get_bind()
    cached = _INDEX.get(key)
    if cached and time.monotonic() - cached[0] < ttl:
        return cached[1], cached[2]
    rows = session.execute(select(col(Petition.id), col(Petition.action), col(Petition.background),
                                  col(Petition.signature_count))
                           .where(col(Petition.state) == PetitionState.OPEN).order_by(col(Petition.id).desc())
                           .limit(20_000)).all()
    docs = [(pid, action, count, Counter(_tokens(action + " " + action + " " + background))) for pid, action, background, count in rows]
    df: Counter[str] = Counter()
    for *_, tf in docs:
        df.update(tf.keys())
    n = len(docs) + 1
    idf = {t: math.log(n / (1 + c)) + 1 for t, c in df.items()}
    _INDEX[key] = (time.monotonic(), docs, idf)
    return docs, idf


@dataclass(frozen=True)
class SimilarPetition:
    id: int
    action: str
    signature_count: int
    score: float


def similar_petitions(session: Session, *, text: str, limit: int = 5, min_score: float = 0.2) -> tuple[SimilarPetition, ...]:
    """Up to `limit` open petitions whose words are closest to `text` (TF-IDF cosine)."""
    query = Counter(_tokens(text))
    if not query:
        return ()
    docs, idf = _index(session)

    def vec(tf):
        return {t: c * idf.get(t, 1.0) for t, c in tf.items()}

    qv = vec(query)
    qn = math.sqrt(sum(v * v for v in qv.values())) or 1.0
    scored = []
    for pid, action, count, tf in docs:
        common = qv.keys() & tf.keys()
        if not common:
            continue
        dv = vec(tf)
        dn = math.sqrt(sum(v * v for v in dv.values())) or 1.0
        score = sum(qv[t] * dv[t] for t in common) / (qn * dn)
        if score >= min_score:
            scored.append(SimilarPetition(pid, action, count, round(score, 3)))
    scored.sort(key=lambda s: (-s.score, -s.signature_count))
    return tuple(scored[:limit])


# ----- home page and open data -----

def home_section(session) -> dict:
    """What the home page shows for this domain: a template and its context."""
    rows = session.execute(select(Petition).where(col(Petition.state) == PetitionState.OPEN)
                           .order_by(col(Petition.signature_count).desc(), col(Petition.id).desc())
                           .limit(5)).scalars().all()
    return {"template": "petitions/_home.html", "popular": [_card(p) for p in rows]}


def series(session: Session, *, petition_id: int) -> tuple[tuple[datetime, int], ...]:
    rows = session.execute(select(col(CountSnapshot.hour), col(CountSnapshot.count))
                           .where(col(CountSnapshot.petition_id) == petition_id)
                           .order_by(col(CountSnapshot.hour))).all()
    return tuple((_aware(h), n) for h, n in rows)
