"""Read-only moderation queries returning frozen view objects for templates and exports."""
from __future__ import annotations

import html
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.clock import as_utc as _aware
from app.clock import utc_now
from app.db import pk
from app.models import User
from moderation import policy
from moderation.classifier import artifacts, detect_language
from moderation.contract import ModerationSettings
from moderation.forms import QueueFilters
from moderation.models import (
    CaseReason,
    CaseState,
    ModerationAppeal,
    ModerationCase,
    ModerationDecision,
    ModerationItem,
    ModerationReport,
)
from moderation.service import _explanation_items

log = logging.getLogger("civic.moderation")


# ----- near-duplicate grouping -----

def _normalise_exact(text: str) -> str:
    return re.sub(r"\W+", " ", (text or "").casefold()).strip()


def group_ids(texts: list[str], threshold: float) -> list[int]:
    """A group id per text: near-duplicates share one (exact normalised match when the analysis module is missing)."""
    if not texts:
        return []
    try:
        # deferred: inside the try, so the queue falls back to exact copies if the analysis module fails to load
        from moderation.analysis.duplicates import group_near_duplicates

        ids = list(group_near_duplicates(texts, threshold=threshold))
        if len(ids) == len(texts):
            return [int(i) for i in ids]
    except Exception:  # noqa: BLE001 - grouping is a convenience; fall back to exact matches
        log.exception("near-duplicate grouping failed; grouping exact copies only")
    seen: dict[str, int] = {}
    out = []
    for i, text in enumerate(texts):
        key = _normalise_exact(text)
        out.append(seen.setdefault(key, i) if key else i)
    return out


# ----- the queue -----

@dataclass(frozen=True)
class QueueRow:
    case_id: int
    kind: str
    excerpt: str
    language: str
    route: str
    reason: str
    score: float | None
    reach: int
    report_count: int
    priority: float
    opened_at: datetime
    waiting_seconds: float
    overdue: bool
    context_title: str
    claimed_by_name: str | None
    claimed_by_me: bool
    claimed_until: datetime | None
    excluded: bool
    group_size: int = 1
    member_ids: tuple[int, ...] = ()
    url: str = ""              # where the item is seen (a petition: the page where it is approved or rejected)
    category: str = ""         # top abuse category the rules matched (threat, intimidation, ...), or ""


@dataclass(frozen=True)
class QueueView:
    rows: tuple[QueueRow, ...]
    filters: QueueFilters
    total_open: int
    overdue: int
    sla_hours: int
    consultations: tuple[tuple[int, str], ...]


def _open_cases(session: Session, filters: QueueFilters | None = None, limit: int = 500):
    stmt = (select(ModerationCase, ModerationItem)
            .join(ModerationItem, col(ModerationItem.id) == col(ModerationCase.item_pk))
            .where(ModerationCase.state == CaseState.OPEN))
    if filters is not None:
        if filters.kind:
            stmt = stmt.where(ModerationItem.kind == filters.kind)
        if filters.language:  # "other" rows may be items never screened: their language is detected below
            stmt = stmt.where(col(ModerationItem.language).in_({filters.language, "other"}))
        if filters.route:
            stmt = stmt.where(ModerationItem.route == filters.route)
        if filters.reason == CaseReason.REPORT:
            stmt = stmt.where((ModerationCase.reason == CaseReason.REPORT) | (ModerationItem.report_count > 0))
        elif filters.reason:
            stmt = stmt.where(ModerationCase.reason == filters.reason)
        if filters.consultation:
            stmt = stmt.where(ModerationItem.context_id == filters.consultation)
    priority = func.coalesce(ModerationItem.score, 0.5) * (1 + ModerationItem.reach) + ModerationItem.report_count
    stmt = stmt.order_by(priority.desc(), col(ModerationCase.opened_at), col(ModerationCase.id)).limit(limit)
    pairs = list(session.exec(stmt))
    if filters is not None and filters.language:
        pairs = [(c, i) for c, i in pairs if item_language(i) == filters.language]
    return pairs


def item_language(item: ModerationItem) -> str:
    """"en", "zh" or "other": as screened, or detected from the text for an item stored without a language
    (an item first seen through a report was never screened, and would otherwise read "Other languages")."""
    if item.language in ("en", "zh"):
        return item.language
    return detect_language(item.text)


def _names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    out: dict[int, str] = {}
    for u in session.exec(select(User).where(col(User.id).in_(ids))):
        assert u.id is not None  # loaded rows have their primary key
        out[u.id] = u.name or f"#{u.id}"
    return out


def _row(case: ModerationCase, item: ModerationItem, names: dict, viewer_id: int | None, now: datetime,
         sla: timedelta) -> QueueRow:
    assert case.id is not None  # loaded rows have their primary key
    opened = _aware(case.opened_at)
    claimed_until = _aware(case.claimed_until)
    claim_live = case.claimed_by is not None and claimed_until is not None and claimed_until > now
    text = item.redacted_text or item.text
    return QueueRow(
        case_id=case.id, kind=item.kind, excerpt=text[:240] + ("…" if len(text) > 240 else ""),
        language=item_language(item), route=item.route, reason=case.reason, score=item.score, reach=item.reach,
        report_count=item.report_count, priority=policy.queue_priority(item.score, item.reach, item.report_count),
        opened_at=opened, waiting_seconds=(now - opened).total_seconds(), overdue=now - opened > sla,
        context_title=item.context_title,
        claimed_by_name=names.get(case.claimed_by) if claim_live else None,
        claimed_by_me=claim_live and case.claimed_by == viewer_id,
        claimed_until=claimed_until if claim_live else None,
        excluded=case.excluded_moderator_id is not None and case.excluded_moderator_id == viewer_id,
        member_ids=(case.id,), url=item.url, category=getattr(item, "category", "") or "",
    )


def queue(session: Session, *, filters: QueueFilters, viewer_id: int | None, now: datetime | None = None,
          cfg: ModerationSettings) -> QueueView:
    """Open cases by priority (score × reach), near-duplicates folded into one row per group."""
    now = now or utc_now()
    sla = timedelta(hours=cfg.sla_hours)
    pairs = _open_cases(session, filters, cfg.queue_limit)
    names = _names(session, (c.claimed_by for c, _ in pairs))
    rows = [_row(c, i, names, viewer_id, now, sla) for c, i in pairs]
    # petitions are decided one by one on their own page (department, petition reasons): never folded into a group
    groupable = [k for k, (c, i) in enumerate(pairs) if c.appeal_id is None and i.kind != "petition"]
    gids = group_ids([pairs[k][1].text for k in groupable], cfg.group_similarity)
    members: dict[int, list[int]] = defaultdict(list)
    for k, gid in zip(groupable, gids, strict=True):
        members[gid].append(k)
    gid_of = dict(zip(groupable, gids, strict=True))
    seen: set[int] = set()
    out = []
    for k, row in enumerate(rows):
        if k in gid_of:
            gid = gid_of[k]
            if gid in seen:
                continue  # folded into the group's first (most urgent) row
            seen.add(gid)
            group = members[gid]
            if len(group) > 1:
                row = QueueRow(**{**row.__dict__, "group_size": len(group),
                                  "member_ids": tuple(rows[m].case_id for m in group),
                                  "overdue": any(rows[m].overdue for m in group),
                                  "reach": sum(rows[m].reach for m in group),
                                  "report_count": sum(rows[m].report_count for m in group),
                                  "waiting_seconds": max(rows[m].waiting_seconds for m in group)})
        out.append(row)
    total = session.exec(select(func.count()).select_from(ModerationCase)
                         .where(ModerationCase.state == CaseState.OPEN)).one()
    overdue = session.exec(select(func.count()).select_from(ModerationCase)
                           .where(ModerationCase.state == CaseState.OPEN, ModerationCase.opened_at < now - sla)).one()
    consultations = session.exec(
        select(ModerationItem.context_id, func.max(ModerationItem.context_title))
        .join(ModerationCase, col(ModerationCase.item_pk) == col(ModerationItem.id))
        .where(ModerationCase.state == CaseState.OPEN, col(ModerationItem.context_id).is_not(None),
               ModerationItem.kind != "petition")
        .group_by(col(ModerationItem.context_id)).order_by(col(ModerationItem.context_id))
    ).all()
    return QueueView(rows=tuple(out), filters=filters, total_open=int(total),
                     overdue=int(overdue), sla_hours=cfg.sla_hours,
                     consultations=tuple((int(cid), title or f"#{cid}") for cid, title in consultations
                                        if cid is not None))  # the query keeps only rows with a context_id


# ----- one case -----

def highlight(text: str, terms) -> Markup:
    """Escape `text` and wrap occurrences of the explanation terms in <mark> (case-insensitive)."""
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)[:12]
    if not words:
        return Markup(html.escape(text))
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        out.append(html.escape(text[pos:m.start()]))
        out.append("<mark>" + html.escape(m.group(0)) + "</mark>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return Markup("".join(out))


@dataclass(frozen=True)
class DecisionSummary:
    decision: str
    reason_code: str
    decided_at: datetime
    moderator_name: str
    is_appeal: bool
    redacted_text: str | None
    note: str


@dataclass(frozen=True)
class CaseView:
    case_id: int
    state: str
    reason: str
    kind: str
    item_id: int
    text: str
    highlighted: Markup
    status: str
    redacted_text: str | None
    score: float | None
    model_version: str
    explanation: tuple[tuple[str, float, str], ...]   # (term, weight, category or "")
    language: str
    route: str
    route_reason: str
    reach: int
    report_count: int
    reports: tuple[tuple[str, int], ...]
    url: str
    context_title: str
    opened_at: datetime
    waiting_seconds: float
    overdue: bool
    claimed_by_name: str | None
    claimed_by_me: bool
    claimed_until: datetime | None
    excluded: bool
    appeal_statement: str | None
    history: tuple[DecisionSummary, ...] = field(default_factory=tuple)
    group_leader: int | None = None
    group_size: int = 1
    category: str = ""

    @property
    def explanation_by_category(self) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
        """Explanation terms grouped by category, rule categories first, the model's own terms last."""
        groups: dict[str, list[tuple[str, float]]] = {}
        for term, weight, category in self.explanation:
            groups.setdefault(category, []).append((term, weight))
        return tuple(sorted(((c, tuple(ts)) for c, ts in groups.items()), key=lambda g: g[0] == ""))


def case_detail(session: Session, *, case_id: int, viewer_id: int | None, now: datetime | None = None,
                cfg: ModerationSettings) -> CaseView | None:
    now = now or utc_now()
    case = session.get(ModerationCase, case_id)
    if case is None:
        return None
    item = session.get(ModerationItem, case.item_pk)
    assert case.id is not None and item is not None  # a stored case, and its item (foreign key)
    names = _names(session, [case.claimed_by])
    row = _row(case, item, names, viewer_id, now, timedelta(hours=cfg.sla_hours))
    try:
        explanation = _explanation_items(json.loads(item.explanation or "[]"))
    except (ValueError, TypeError):
        explanation = ()
    reports = session.exec(select(col(ModerationReport.reason), func.count()).where(ModerationReport.item_pk == item.id)
                           .group_by(col(ModerationReport.reason)).order_by(func.count().desc())).all()
    decisions = list(session.exec(select(ModerationDecision).where(ModerationDecision.item_pk == item.id)
                                  .order_by(col(ModerationDecision.decided_at), col(ModerationDecision.id))))
    mod_names = _names(session, [d.moderator_id for d in decisions])
    history = tuple(DecisionSummary(d.decision, d.reason_code, _aware(d.decided_at), mod_names.get(d.moderator_id, ""),
                                    d.is_appeal, d.redacted_text, d.note) for d in decisions)
    appeal = session.get(ModerationAppeal, case.appeal_id) if case.appeal_id else None
    leader, size = None, 1
    if case.state == CaseState.OPEN and case.appeal_id is None:
        group = group_of(session, case_id=case.id, cfg=cfg)
        if group and len(group.members) > 1:
            leader, size = group.leader_id, len(group.members)
    return CaseView(
        case_id=case.id, state=case.state, reason=case.reason, kind=item.kind, item_id=item.item_id, text=item.text,
        highlighted=highlight(item.text, [t for t, w, _c in explanation if w > 0 or _c]), status=item.status,
        redacted_text=item.redacted_text, score=item.score, model_version=item.model_version,
        explanation=explanation, language=item_language(item), route=item.route, route_reason=item.route_reason,
        reach=item.reach, report_count=item.report_count, reports=tuple((r, int(n)) for r, n in reports),
        url=item.url, context_title=item.context_title, opened_at=row.opened_at, waiting_seconds=row.waiting_seconds,
        overdue=row.overdue and case.state == CaseState.OPEN, claimed_by_name=row.claimed_by_name,
        claimed_by_me=row.claimed_by_me, claimed_until=row.claimed_until, excluded=row.excluded,
        appeal_statement=appeal.statement if appeal else None, history=history, group_leader=leader, group_size=size,
        category=getattr(item, "category", "") or "",
    )


# ----- near-duplicate groups -----

@dataclass(frozen=True)
class GroupMember:
    case_id: int
    text: str
    language: str
    score: float | None
    reach: int
    context_title: str
    claimed_by_name: str | None
    claimed_by_me: bool


@dataclass(frozen=True)
class GroupView:
    leader_id: int
    members: tuple[GroupMember, ...]


def group_of(session: Session, *, case_id: int, viewer_id: int | None = None, now: datetime | None = None,
             cfg: ModerationSettings) -> GroupView | None:
    """The open near-duplicate group containing `case_id` (None when the case is not open)."""
    now = now or utc_now()
    pairs = [(c, i) for c, i in _open_cases(session, None, cfg.queue_limit)
             if c.appeal_id is None and i.kind != "petition"]
    if not any(c.id == case_id for c, _ in pairs):
        return None
    gids = group_ids([i.text for _, i in pairs], cfg.group_similarity)
    mine = next(g for (c, _), g in zip(pairs, gids, strict=True) if c.id == case_id)
    chosen = [(c, i) for (c, i), g in zip(pairs, gids, strict=True) if g == mine]
    names = _names(session, (c.claimed_by for c, _ in chosen))
    members = []
    for c, i in chosen:
        until = _aware(c.claimed_until)
        live = c.claimed_by is not None and until is not None and until > now
        members.append(GroupMember(c.id, i.text, item_language(i), i.score, i.reach, i.context_title,
                                   names.get(c.claimed_by) if live else None, live and c.claimed_by == viewer_id))
    return GroupView(leader_id=chosen[0][0].id, members=tuple(members))


# ----- logs -----

@dataclass(frozen=True)
class PublicLogRow:
    decided_at: datetime
    kind: str
    decision: str
    reason_code: str
    is_appeal: bool


def public_log(session: Session, *, page: int = 1, per_page: int = 50) -> tuple[tuple[PublicLogRow, ...], bool]:
    """Decisions without personal data: what kind of item, which rule, what was done, when."""
    page = max(1, page)
    # sqlmodel's select() is typed for at most four columns; these five are all plain columns
    rows = session.exec(select(ModerationDecision.decided_at, ModerationDecision.kind,  # type: ignore[call-overload]
                               ModerationDecision.decision, ModerationDecision.reason_code,
                               ModerationDecision.is_appeal)
                        .order_by(col(ModerationDecision.decided_at).desc(), col(ModerationDecision.id).desc())
                        .offset((page - 1) * per_page).limit(per_page + 1)).all()
    out = tuple(PublicLogRow(_aware(r[0]), r[1], r[2], r[3], bool(r[4])) for r in rows[:per_page])
    return out, len(rows) > per_page


@dataclass(frozen=True)
class AuditRow:
    decision_id: int
    decided_at: datetime
    moderator_name: str
    moderator_email: str
    kind: str
    item_id: int
    url: str
    decision: str
    reason_code: str
    note: str
    original_text: str
    redacted_text: str | None
    blocked_until: datetime | None
    is_appeal: bool
    author_id: int | None
    score: float | None
    model_version: str


def audit_log(session: Session, *, page: int = 1, per_page: int | None = 50) -> tuple[tuple[AuditRow, ...], bool]:
    """Every decision with who, what, when and the original text (admins only)."""
    page = max(1, page)
    stmt = (select(ModerationDecision, ModerationItem, User)
            .join(ModerationItem, col(ModerationItem.id) == col(ModerationDecision.item_pk))
            .join(User, col(User.id) == col(ModerationDecision.moderator_id))
            .order_by(col(ModerationDecision.decided_at).desc(), col(ModerationDecision.id).desc()))
    if per_page:
        stmt = stmt.offset((page - 1) * per_page).limit(per_page + 1)
    rows = session.exec(stmt).all()
    out = tuple(AuditRow(pk(d.id), _aware(d.decided_at), u.name, u.email_display, d.kind, i.item_id, i.url, d.decision,
                         d.reason_code, d.note, d.original_text, d.redacted_text, _aware(d.blocked_until), d.is_appeal,
                         i.author_id, d.score, d.model_version)
                for d, i, u in (rows[:per_page] if per_page else rows))
    return out, per_page is not None and per_page != 0 and len(rows) > per_page


AUDIT_CSV_HEADER = ("decision_id", "decided_at", "moderator", "moderator_email", "kind", "item_id", "url", "decision",
                    "reason", "note", "original_text", "redacted_text", "blocked_until", "appeal", "author_id",
                    "score", "model_version")


def audit_csv_rows(session: Session) -> list[list]:
    """The audit log as CSV rows (written with `app.csv_export`, which neutralises spreadsheet formulas)."""
    rows, _ = audit_log(session, per_page=None)
    out: list[list] = [list(AUDIT_CSV_HEADER)]
    for r in rows:
        out.append([
            r.decision_id, r.decided_at.isoformat(), r.moderator_name, r.moderator_email, r.kind, r.item_id, r.url,
            r.decision, r.reason_code, r.note, r.original_text, r.redacted_text or "",
            r.blocked_until.isoformat() if r.blocked_until else "", "yes" if r.is_appeal else "no",
            r.author_id or "", "" if r.score is None else f"{r.score:.4f}", r.model_version])
    return out


# ----- model quality -----

@dataclass(frozen=True)
class QualityRow:
    period: str            # ISO week, e.g. "2026-W48"
    language: str
    decisions: int
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass(frozen=True)
class QualityView:
    rows: tuple[QualityRow, ...]          # per week and language
    totals: tuple[QualityRow, ...]        # per language, all time
    weekly: tuple[QualityRow, ...]        # per week, all languages
    unscored: int                         # decisions on items without a score (no model, strict mode)
    current_version: str


def _week(value: datetime) -> str:
    year, week, _ = value.isocalendar()
    return f"{year}-W{week:02d}"


def model_quality(session: Session, *, current_version: str = "") -> QualityView:
    """Precision and recall of the model's flag (score >= review threshold) against moderators' decisions."""
    rows = session.exec(select(ModerationDecision.decided_at, ModerationDecision.language,
                               ModerationDecision.model_flagged, ModerationDecision.label)).all()
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    unscored = 0
    for decided_at, language, flagged, label in rows:
        if flagged is None:
            unscored += 1
            continue
        keys = [(_week(_aware(decided_at)), language or "other"), ("*", language or "other"), (_week(_aware(decided_at)), "*")]
        for key in keys:
            c = cells[key]
            c[0] += 1
            c[1 + (0 if flagged and label else 1 if flagged else 2 if label else 3)] += 1

    def make(key):
        c = cells[key]
        return QualityRow(key[0], key[1], c[0], c[1], c[2], c[3], c[4])

    per = tuple(make(k) for k in sorted(k for k in cells if "*" not in k))
    totals = tuple(make(k) for k in sorted(k for k in cells if k[0] == "*" and k[1] != "*"))
    weekly = tuple(make(k) for k in sorted(k for k in cells if k[1] == "*" and k[0] != "*"))
    return QualityView(rows=per, totals=totals, weekly=weekly, unscored=unscored, current_version=current_version)


# ----- appeal page -----

@dataclass(frozen=True)
class ModelVersion:
    version: str
    created_at: str
    current: bool


def model_versions(data_dir, limit: int = 20) -> tuple[ModelVersion, ...]:
    """Stored model versions, newest first (retraining keeps every old version loadable)."""
    try:
        current = artifacts.current_version(data_dir)
        out = []
        for version in sorted(artifacts.list_versions(data_dir), reverse=True)[:limit]:
            try:
                created = str(artifacts.read_metadata(data_dir, version).get("created_at", ""))
            except (OSError, ValueError):
                created = ""
            out.append(ModelVersion(version, created, version == current))
        return tuple(out)
    except Exception:  # noqa: BLE001 - the page works without the model store
        log.exception("could not list model versions")
        return ()
