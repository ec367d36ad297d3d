"""Residents see the deliberation: read-only queries for the "vote on statements" mode and the "Where you stand"
page, returning view objects.

A statement is a published top-level comment. Voting itself goes through `service.vote_on_statement` (the same
rules as the thread's vote buttons, `service.cast_vote`); skipping is not a vote and lives only in the viewer's query string.

"Where you stand" runs the same opinion-group analysis as the officials' dashboard (`opinion_groups` behind the
moderation facade, fed by `dashboard_queries.analysis_inputs` with pseudonymous voter keys) on the current votes,
cached per process (recomputed when the votes changed, at most once a minute). What it returns never names or places another person:
groups as regions (centre and spread) with their sizes, groups under `MIN_GROUP_SIZE` left out, and the viewer's
own point only for the viewer.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from moderation import opinion_groups

from . import dashboard_queries as dq
from . import queries
from .models import VOTE_NAMES, Comment, CommentStatus, CommentVote, Consultation
from .polis import voter_pseudonym

MIN_VOTES = 50          # votes on statements before "Where you stand" is public
MIN_GROUP_SIZE = 5      # smaller groups are not shown (privacy)
PLACE_VOTES = 7         # a participant is placed on the map after this many votes (as Polis)
MAX_SKIPPED = 200       # skipped ids kept in the query string
MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 480, 340, 72


# ----- vote on statements -----

@dataclass(frozen=True)
class Statement:
    id: int
    body: str
    created_at: datetime
    question_id: int | None
    my_vote: str  # "" or agree / disagree / pass


@dataclass(frozen=True)
class StatementDeck:
    """The statement to vote on next (None when there is none left), and the viewer's progress."""
    consultation: queries.ConsultationView
    statement: Statement | None
    total: int           # statements in the consultation
    voted: int           # statements the viewer has voted on (pass included)
    skipped: tuple[int, ...]  # statements skipped and not voted on since
    position: int        # the statement's number in "12 of 40" (0 when none is left)

    @property
    def skipped_param(self) -> str:
        return ",".join(str(i) for i in self.skipped)

    @property
    def all_voted(self) -> bool:
        return self.total > 0 and self.voted >= self.total


def parse_skipped(value: str) -> tuple[int, ...]:
    """The skipped statements from a query string or form value ("3,7,9"); junk is ignored."""
    out: list[int] = []
    for part in (value or "").split(",")[:MAX_SKIPPED]:
        part = part.strip()
        if part.isdigit() and int(part) not in out:
            out.append(int(part))
    return tuple(out)


def _statements_query(consultation_id: int):
    return (select(Comment.id, Comment.body, Comment.created_at, Comment.question_id)
            .where(Comment.consultation_id == consultation_id, col(Comment.parent_id).is_(None),
                   Comment.status == CommentStatus.PUBLISHED, Comment.body != "")
            .order_by(col(Comment.created_at), col(Comment.id)))


def _my_votes(session: Session, consultation_id: int, viewer_id: int | None) -> dict[int, int]:
    if viewer_id is None:
        return {}
    return dict(session.exec(select(CommentVote.comment_id, CommentVote.vote).where(
        CommentVote.consultation_id == consultation_id, CommentVote.user_id == viewer_id)).all())


def statement_deck(session: Session, *, consultation_id: int, viewer_id: int | None, skipped: tuple[int, ...] = (),
                   current: int | None = None, staff: queries.StaffScope | None = None) -> StatementDeck:
    """The next statement for the viewer: the oldest one they have neither voted on nor skipped (`current`, when
    given and still a statement, is shown again, e.g. with a refused vote's message). Raises: NotFound."""
    consultation = queries.get_consultation(session, consultation_id=consultation_id, staff=staff)
    rows = session.exec(_statements_query(consultation_id)).all()
    mine = _my_votes(session, consultation_id, viewer_id)
    ids = {r[0] for r in rows}
    skipped = tuple(i for i in skipped if i in ids and i not in mine)
    voted = sum(1 for r in rows if r[0] in mine)
    chosen = None
    if current is not None:
        chosen = next((r for r in rows if r[0] == current), None)
    if chosen is None:
        chosen = next((r for r in rows if r[0] not in mine and r[0] not in skipped), None)
    statement, position = None, 0
    if chosen is not None:
        vote = mine.get(chosen[0])
        statement = Statement(id=chosen[0], body=chosen[1], created_at=chosen[2], question_id=chosen[3],
                              my_vote=VOTE_NAMES[vote].value if vote is not None else "")
        position = min(len(rows), voted + len(skipped) + (1 if vote is None and chosen[0] not in skipped else 0))
        position = max(position, 1)
    return StatementDeck(consultation=consultation, statement=statement, total=len(rows), voted=voted,
                         skipped=skipped, position=position)


# ----- where you stand -----

@dataclass(frozen=True)
class GroupRegion:
    number: int      # 1, 2, ... as shown
    size: int
    share: float     # of the people placed on the map
    cx: float
    cy: float
    r: float
    label_y: float


@dataclass(frozen=True)
class StanceStatement:
    id: int
    body: str
    direction: str   # agree | disagree
    share: float     # the group's (or, for consensus, the least convinced group's) share voting that way
    other_share: float = 0.0


@dataclass(frozen=True)
class GroupBeliefs:
    region: GroupRegion
    statements: tuple[StanceStatement, ...]


@dataclass(frozen=True)
class StancePage:
    consultation: queries.ConsultationView
    n_votes: int
    ready: bool               # enough votes to show the map
    votes_needed: int         # more votes needed before it is (0 when ready)
    n_participants: int       # people with at least one vote
    n_hidden: int             # placed people in groups too small to show
    groups: tuple[GroupBeliefs, ...]
    consensus: tuple[StanceStatement, ...]
    my_votes: int             # the viewer's own votes (0 for visitors)
    votes_to_place: int       # votes a person needs to be placed
    me: tuple[float, float] | None  # the viewer's own point, in map coordinates
    my_group: int | None      # the shown group number the viewer is in
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16
REFRESH_SECONDS = 60.0  # while votes keep coming in, the map is recomputed at most this often


def _vote_state(session: Session, consultation_id: int) -> tuple:
    """What the analysis depends on: votes (count, latest change) and published statements (count, latest)."""
    votes = session.exec(select(func.count(), func.max(CommentVote.created_at), func.max(CommentVote.id))
                         .where(CommentVote.consultation_id == consultation_id)).one()
    comments = session.exec(select(func.count(), func.max(Comment.id), func.max(Comment.edited_at))
                            .where(Comment.consultation_id == consultation_id,
                                   Comment.status == CommentStatus.PUBLISHED)).one()
    return (*tuple(votes), *tuple(comments))


def _analysis(session: Session, consultation_id: int, secret: str):
    """The opinion result for the consultation's votes: computed again when they changed, but at most once every
    `REFRESH_SECONDS` per consultation (a busy consultation changes with every vote; each run reads them all)."""
    created = session.exec(select(Consultation.created_at).where(Consultation.id == consultation_id)).one()
    key = (consultation_id, created)
    state = _vote_state(session, consultation_id)
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and (hit[0] == state or now - hit[1] < REFRESH_SECONDS):
            _CACHE.move_to_end(key)
            return hit[2]
    _, votes = dq.analysis_inputs(session, consultation_id=consultation_id, secret=secret)
    result = opinion_groups(votes, min_votes=PLACE_VOTES)
    with _CACHE_LOCK:
        _CACHE[key] = (state, now, result)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result


def _regions(result, placed_groups) -> tuple[dict[int, tuple[float, float, float]], int]:
    """Centre and spread (root-mean-square distance) of each group big enough to show, in analysis coordinates."""
    by_group: dict[int, list[tuple[float, float]]] = {}
    for pid, gid in result.participant_group.items():
        xy = result.coords.get(pid)
        if xy is not None and all(map(math.isfinite, xy)):
            by_group.setdefault(gid, []).append(xy)
    shapes, hidden = {}, 0
    for g in placed_groups:
        pts = by_group.get(g.id, [])
        if len(pts) < MIN_GROUP_SIZE:
            hidden += len(pts)
            continue
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        spread = math.sqrt(sum((p[0] - cx) ** 2 + (p[1] - cy) ** 2 for p in pts) / len(pts))
        shapes[g.id] = (cx, cy, spread)
    return shapes, hidden


class _Frame:
    """Analysis coordinates -> SVG coordinates, fitted to the shown regions and the viewer's point only."""

    def __init__(self, shapes: dict, me: tuple[float, float] | None):
        xs, ys = [], []
        for cx, cy, r in shapes.values():
            r = max(r, 1e-6)
            xs += [cx - r, cx + r]
            ys += [cy - r, cy + r]
        if me is not None:
            xs.append(me[0])
            ys.append(me[1])
        if not xs:
            xs, ys = [0.0], [0.0]
        self.x0, self.y0 = min(xs), min(ys)
        span = max(max(xs) - self.x0, max(ys) - self.y0, 1e-6)
        self.scale = min(MAP_WIDTH - 2 * MAP_PAD, MAP_HEIGHT - 2 * MAP_PAD) / span
        self.dx = (MAP_WIDTH - (max(xs) - self.x0) * self.scale) / 2
        self.dy = (MAP_HEIGHT - (max(ys) - self.y0) * self.scale) / 2

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (round(self.dx + (x - self.x0) * self.scale, 1), round(self.dy + (y - self.y0) * self.scale, 1))


def _bodies(session: Session, consultation_id: int, ids) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.exec(select(col(Comment.id), Comment.body).where(
        Comment.consultation_id == consultation_id, col(Comment.id).in_(ids),
        Comment.status == CommentStatus.PUBLISHED)).all()
    return {cid: body for cid, body in rows if cid is not None}


def stance_page(session: Session, *, consultation_id: int, viewer_id: int | None, secret: str,
                staff: queries.StaffScope | None = None, per_group: int = 3, max_consensus: int = 5) -> StancePage:
    """Where the viewer stands among the consultation's opinion groups. Raises: NotFound."""
    consultation = queries.get_consultation(session, consultation_id=consultation_id, staff=staff)
    _, n_votes = dq.current_counts(session, consultation_id)
    mine = _my_votes(session, consultation_id, viewer_id)
    published = {r[0] for r in session.exec(_statements_query(consultation_id)).all()}
    n_statements = len(published)
    my_votes = sum(1 for c in mine if c in published) if viewer_id is not None else 0
    votes_to_place = max(1, min(PLACE_VOTES, n_statements)) if n_statements else PLACE_VOTES
    empty = StancePage(consultation=consultation, n_votes=n_votes, ready=False,
                       votes_needed=max(0, MIN_VOTES - n_votes), n_participants=0, n_hidden=0,
                       groups=(), consensus=(), my_votes=my_votes, votes_to_place=votes_to_place, me=None,
                       my_group=None)
    if n_votes < MIN_VOTES:
        return empty
    result = _analysis(session, consultation_id, secret)
    shapes, hidden = _regions(result, result.groups)
    if not shapes:
        return replace(empty, ready=True, votes_needed=0, n_participants=result.n_participants, n_hidden=hidden)
    me_raw, my_gid = None, None
    if viewer_id is not None and my_votes >= votes_to_place:
        key = voter_pseudonym(secret, consultation_id, viewer_id)
        me_raw = result.coords.get(key)
        my_gid = result.participant_group.get(key)
        if me_raw is not None and not all(map(math.isfinite, me_raw)):
            me_raw = None
    frame = _Frame(shapes, me_raw)
    placed = sum(g.size for g in result.groups)
    numbers = {gid: n for n, gid in enumerate(sorted(shapes), start=1)}  # groups come largest first
    sizes = {g.id: g.size for g in result.groups}
    wanted = [s.comment_id for gid in shapes for s in result.representative.get(gid, [])[:per_group]]
    wanted += [s.comment_id for s in result.consensus[:max_consensus]]
    bodies = _bodies(session, consultation_id, wanted)
    groups = []
    for gid in sorted(shapes, key=lambda g: numbers[g]):
        cx, cy, r = shapes[gid]
        px, py = frame.point(cx, cy)
        share = sizes[gid] / max(placed, 1)
        # The region covers the group's spread, and is never smaller than its size calls for (identical voters).
        pr = round(min(max(r * frame.scale, 14 + 40 * math.sqrt(share)), MAP_PAD), 1)
        region = GroupRegion(number=numbers[gid], size=sizes[gid], share=share, cx=px, cy=py, r=pr,
                             label_y=round(min(py + pr + 18, MAP_HEIGHT - 6), 1))
        statements = tuple(
            StanceStatement(id=s.comment_id, body=bodies[s.comment_id], direction=s.direction, share=s.group_share,
                            other_share=s.other_share)
            for s in result.representative.get(gid, [])[:per_group] if s.comment_id in bodies)
        groups.append(GroupBeliefs(region=region, statements=statements))
    consensus = tuple(StanceStatement(id=s.comment_id, body=bodies[s.comment_id], direction=s.direction,
                                      share=s.min_share)
                      for s in result.consensus[:max_consensus] if s.comment_id in bodies)
    return StancePage(consultation=consultation, n_votes=n_votes, ready=True, votes_needed=0,
                      n_participants=result.n_participants, n_hidden=hidden,
                      groups=tuple(groups), consensus=consensus, my_votes=my_votes, votes_to_place=votes_to_place,
                      me=frame.point(*me_raw) if me_raw is not None else None,
                      my_group=numbers.get(my_gid) if my_gid is not None else None)
