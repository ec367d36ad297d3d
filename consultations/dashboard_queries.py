"""Officials' feedback-analysis dashboard: read-only queries returning view objects.

The analysis itself lives behind the moderation facade (`latest_analysis`); this module feeds it the
consultation's published comments and pseudonymous votes, and joins its results with the comments,
responses and pending jobs that the pages show. Nothing returned here names or identifies a participant.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import gettext as _
from app.models import Job
from app.periods import period_start, period_starts
from moderation import AnalysisItem, AnalysisView, latest_analysis

from . import queries
from .models import Comment, CommentStatus, CommentVote, OfficialResponse
from .polis import voter_pseudonym

SUBJECT = "consultation"
ANALYSE_JOB = "consultations.analyse"
EXCERPT = 240
PAGE_SIZE = 50


def analyse_dedupe_key(consultation_id: int, last_run_id: int | None) -> str:
    """One pending analysis per consultation and completed run: double clicks and the scan share it."""
    return f"{ANALYSE_JOB}:{consultation_id}:after:{last_run_id or 0}"


# ----- inputs of the analysis -----

def _published(consultation_id: int):
    return (Comment.consultation_id == consultation_id, Comment.status == CommentStatus.PUBLISHED)


def _analysis_items(session: Session, *where, order_by=()) -> list[AnalysisItem]:
    """The comments `where` selects as analysis items: text, time, and agree and disagree counts."""
    # sqlmodel's select() is typed for at most four columns; these five are all plain columns
    query = select(Comment.id, Comment.body, Comment.created_at,  # type: ignore[call-overload]
                   Comment.agree_count, Comment.disagree_count).where(*where).order_by(*order_by)
    return [AnalysisItem(id=r[0], text=r[1] or "", created_at=r[2], agree=r[3], disagree=r[4])
            for r in session.exec(query)]


def analysis_inputs(session: Session, *, consultation_id: int, secret: str) -> tuple[list[AnalysisItem], list]:
    """Published comments as analysis items and their votes keyed by a pseudonym (never a user id)."""
    items = _analysis_items(session, *_published(consultation_id),
                            order_by=(col(Comment.created_at), col(Comment.id)))
    ids = {it.id for it in items}
    votes = []
    keys: dict[int, int] = {}
    for user_id, comment_id, vote in session.exec(
            select(CommentVote.user_id, CommentVote.comment_id, CommentVote.vote)
            .where(CommentVote.consultation_id == consultation_id).order_by(col(CommentVote.id))):
        if comment_id in ids:
            key = keys.get(user_id)
            if key is None:
                key = keys[user_id] = voter_pseudonym(secret, consultation_id, user_id)
            votes.append((key, comment_id, vote))
    return items, votes


def current_counts(session: Session, consultation_id: int) -> tuple[int, int]:
    """(published non-empty comments, votes on published comments) now."""
    n_items = session.exec(select(func.count()).select_from(Comment)
                           .where(*_published(consultation_id), Comment.body != "")).one()
    n_votes = session.exec(select(func.count()).select_from(CommentVote).join(
        Comment, onclause=col(Comment.id) == col(CommentVote.comment_id))
        .where(CommentVote.consultation_id == consultation_id, Comment.status == CommentStatus.PUBLISHED)).one()
    return int(n_items), int(n_votes)


def _per_day(session: Session, column, *where) -> dict[date, int]:
    day = func.date(column)
    out: dict[date, int] = {}
    for d, n in session.exec(select(day, func.count()).where(*where).group_by(day)):
        if d is not None:  # SQLite gives 'YYYY-MM-DD', PostgreSQL a date
            key = d if isinstance(d, date) else date.fromisoformat(str(d)[:10])
            out[key] = out.get(key, 0) + int(n)
    return out


def activity(session: Session, consultation_id: int) -> tuple[str, tuple[ActivityPoint, ...]]:
    """Published comments and votes on them per day (up to two months), week (up to about a year), month (up to
    five years) or year, every period from the first to the last included; the counts add up to `current_counts`."""
    comments = _per_day(session, Comment.created_at, *_published(consultation_id), Comment.body != "")
    votes = _per_day(session, CommentVote.created_at, CommentVote.consultation_id == consultation_id,
                     col(CommentVote.comment_id).in_(select(Comment.id).where(*_published(consultation_id))))
    days = sorted({*comments, *votes})
    if not days:
        return "", ()
    span = (days[-1] - days[0]).days
    unit = "day" if span <= 60 else "week" if span <= 420 else "month" if span <= 5 * 366 else "year"
    buckets = {start: [0, 0] for start in period_starts(days[0], days[-1], unit)}
    for day, n in comments.items():
        buckets[period_start(day, unit)][0] += n
    for day, n in votes.items():
        buckets[period_start(day, unit)][1] += n
    return unit, tuple(ActivityPoint(start=k, comments=c, votes=v) for k, (c, v) in buckets.items())


def items_for(session: Session, *, consultation_id: int, ids) -> list[AnalysisItem]:
    """The consultation's comments `ids` as analysis items (whatever their status), read 500 ids at a time."""
    ids = list(ids)
    out = []
    for start in range(0, len(ids), 500):
        out += _analysis_items(session, Comment.consultation_id == consultation_id,
                               col(Comment.id).in_(ids[start:start + 500]))
    return out


# ----- view objects -----

@dataclass(frozen=True)
class CommentBrief:
    id: int
    body: str
    excerpt: str
    created_at: datetime
    agree: int
    disagree: int
    responses: int
    status: str
    question_id: int | None
    parent_id: int | None


@dataclass(frozen=True)
class ResponseBrief:
    id: int
    comment_id: int
    decision: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ActivityPoint:
    start: date  # first day of the period
    comments: int
    votes: int


@dataclass(frozen=True)
class DashboardPage:
    consultation: queries.ConsultationView
    analysis: AnalysisView | None
    comments: dict  # comment id -> CommentBrief (quotes, campaign and statement texts)
    responses: dict  # theme key -> number of published responses to the theme's comments
    n_items_now: int
    n_votes_now: int
    pending: bool  # a re-analysis is queued or running
    activity_unit: str = ""  # day | week | month | year
    activity: tuple[ActivityPoint, ...] = ()

    @property
    def new_items(self) -> int:
        return max(0, self.n_items_now - (self.analysis.n_items if self.analysis else 0))

    @property
    def new_votes(self) -> int:
        return max(0, self.n_votes_now - (self.analysis.n_votes if self.analysis else 0))


@dataclass(frozen=True)
class CommentsPage:
    consultation: queries.ConsultationView
    analysis: AnalysisView
    theme: object | None  # ThemeView, or None for a campaign
    campaign: object | None
    campaign_position: int | None
    comments: list
    responses: list  # ResponseBrief of this theme's comments, newest first
    total: int
    answerable: int  # published comments that can receive a response
    page: int
    pages: int
    trend: list = field(default_factory=list)


def lang_of(text: str) -> str:
    """"zh" when a text is mostly Chinese characters (simplified or traditional), else "en" (for `lang`
    attributes on residents' quotes inside a page of the other language)."""
    text = text or ""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk and cjk * 3 >= latin else "en"


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _briefs(session: Session, consultation_id: int, ids) -> dict[int, CommentBrief]:
    ids = list(dict.fromkeys(ids))
    out: dict[int, CommentBrief] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for c in session.exec(select(Comment).where(Comment.consultation_id == consultation_id,
                                                    col(Comment.id).in_(chunk))):
            assert c.id is not None  # loaded rows have their primary key
            body = c.body if c.status == CommentStatus.PUBLISHED else ""
            out[c.id] = CommentBrief(id=c.id, body=body, excerpt=_excerpt(body), created_at=c.created_at,
                                     agree=c.agree_count, disagree=c.disagree_count, responses=c.response_count,
                                     status=c.status, question_id=c.question_id, parent_id=c.parent_id)
    return out


def _pending(session: Session, consultation_id: int, run_id: int | None) -> bool:
    key = analyse_dedupe_key(consultation_id, run_id)
    return session.exec(select(col(Job.id)).where(Job.dedupe_key == key,
                                                  col(Job.finished_at).is_(None))).first() is not None


def _consultation(session: Session, consultation_id: int, staff: queries.StaffScope | None) -> queries.ConsultationView:
    """Every dashboard read is a staff read: only for staff who may manage the consultation (the department rule)."""
    return queries.managed_consultation(session, consultation_id=consultation_id, staff=staff)


def dashboard_page(session: Session, *, consultation_id: int, staff: queries.StaffScope | None) -> DashboardPage:
    """Everything the dashboard shows. Raises: NotFound, PermissionDenied."""
    consultation = _consultation(session, consultation_id, staff)
    analysis = latest_analysis(session, SUBJECT, consultation_id)
    wanted: list[int] = []
    responses: dict[int, int] = {}
    if analysis is not None:
        for t in analysis.themes:
            wanted.extend(t.representatives[:3])
        wanted.extend(c.representative for c in analysis.campaigns)
        op = analysis.opinions
        wanted.extend(s.item for g in op.groups for s in g.representative)
        wanted.extend(s.item for s in op.consensus)
        wanted.extend(s.item for s in op.divisive)
        answered = dict(session.exec(
            select(OfficialResponse.comment_id, func.count()).where(
                OfficialResponse.consultation_id == consultation_id, col(OfficialResponse.comment_id).is_not(None),
                OfficialResponse.status == CommentStatus.PUBLISHED).group_by(col(OfficialResponse.comment_id))).all())
        for t in analysis.themes:
            responses[t.key] = sum(answered.get(i, 0) for i in t.members)
    unit, points = activity(session, consultation_id)  # its periods add up to current_counts: no second count
    return DashboardPage(consultation=consultation, analysis=analysis,
                         comments=_briefs(session, consultation_id, wanted), responses=responses,
                         n_items_now=sum(p.comments for p in points), n_votes_now=sum(p.votes for p in points),
                         pending=_pending(session, consultation_id, analysis.run_id if analysis else None),
                         activity_unit=unit, activity=points)


# ----- the summary at the top of the dashboard -----

SUMMARY_THEMES = 5
SUMMARY_STATEMENTS = 3


@dataclass(frozen=True)
class Summary:
    """What an official reads first; every figure is taken from the same analysis as the sections below it."""
    comments: int
    votes: int
    participants: int
    themes: tuple  # the largest ThemeViews, at most SUMMARY_THEMES
    more_themes: int  # themes left out of the summary (listed in the details)
    consensus: tuple  # ConsensusViews, at most SUMMARY_STATEMENTS
    divisive: tuple  # DivisiveViews, at most SUMMARY_STATEMENTS
    responses: int  # published official responses to the analysed comments
    answered: tuple  # ThemeViews with at least one response
    unanswered: tuple  # ThemeViews nobody has answered yet


def summary(page: DashboardPage) -> Summary | None:
    a = page.analysis
    if a is None:
        return None
    themes = sorted(a.themes, key=lambda t: (-t.size, t.key))
    return Summary(
        comments=a.n_items, votes=a.n_votes, participants=a.n_participants,
        themes=tuple(themes[:SUMMARY_THEMES]), more_themes=max(0, len(themes) - SUMMARY_THEMES),
        consensus=tuple(a.opinions.consensus[:SUMMARY_STATEMENTS]),
        divisive=tuple(a.opinions.divisive[:SUMMARY_STATEMENTS]),
        responses=sum(page.responses.get(t.key, 0) for t in a.themes),
        answered=tuple(t for t in themes if page.responses.get(t.key, 0)),
        unanswered=tuple(t for t in themes if not page.responses.get(t.key, 0)))


def _require_analysis(session: Session, consultation_id: int) -> AnalysisView:
    analysis = latest_analysis(session, SUBJECT, consultation_id)
    if analysis is None:
        raise NotFound(_("This consultation has not been analysed yet. Open its analysis page and press "
                         "“Re-analyse now”."))
    return analysis


def _theme_not_found() -> NotFound:
    return NotFound(_("That theme is not in the latest analysis any more (it may have been merged, split or "
                      "re-analysed). Go back to the analysis page to see the current themes."))


def comments_page(session: Session, *, consultation_id: int, theme_key: int | None = None,
                  campaign_position: int | None = None, page: int = 1, page_size: int = PAGE_SIZE,
                  staff: queries.StaffScope | None = None) -> CommentsPage:
    """The comments behind a theme or a campaign (paginated), with the responses already given to them.

    Raises: NotFound, PermissionDenied."""
    consultation = _consultation(session, consultation_id, staff)
    analysis = _require_analysis(session, consultation_id)
    theme = campaign = None
    if theme_key is not None:
        theme = analysis.theme(theme_key)
        if theme is None:
            raise _theme_not_found()
        member_ids = list(theme.members)
    else:
        if campaign_position is None or not 1 <= campaign_position <= len(analysis.campaigns):
            raise NotFound(_("That campaign is not in the latest analysis. Go back to the analysis page."))
        campaign = analysis.campaigns[campaign_position - 1]
        member_ids = list(campaign.members)
    total = len(member_ids)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    shown = member_ids[(page - 1) * page_size: page * page_size]
    if theme is not None:  # representatives first, then the rest in order
        ordered = list(dict.fromkeys([*theme.representatives, *member_ids]))
        shown = ordered[(page - 1) * page_size: page * page_size]
    briefs = _briefs(session, consultation_id, shown)
    comments = [briefs[i] for i in shown if i in briefs]
    responses: list[OfficialResponse] = []
    for start in range(0, total, 500):
        chunk = member_ids[start:start + 500]
        responses.extend(session.exec(select(OfficialResponse).where(
            OfficialResponse.consultation_id == consultation_id, col(OfficialResponse.comment_id).in_(chunk),
            OfficialResponse.status == CommentStatus.PUBLISHED)))
    responses.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    answerable = 0
    for start in range(0, total, 500):
        chunk = member_ids[start:start + 500]
        answerable += session.exec(select(func.count()).select_from(Comment).where(
            Comment.consultation_id == consultation_id, col(Comment.id).in_(chunk),
            Comment.status == CommentStatus.PUBLISHED)).one()
    briefs_of_responses = []
    for r in responses[:20]:
        assert r.id is not None and r.comment_id is not None  # loaded, and selected by comment_id IN (...)
        briefs_of_responses.append(ResponseBrief(id=r.id, comment_id=r.comment_id, decision=r.decision,
                                                 text=r.text, created_at=r.created_at))
    return CommentsPage(
        consultation=consultation, analysis=analysis, theme=theme, campaign=campaign,
        campaign_position=campaign_position, comments=comments, responses=briefs_of_responses,
        total=total, answerable=int(answerable), page=page, pages=pages,
        trend=list(theme.trend) if theme is not None else [])


def theme_member_ids(session: Session, *, consultation_id: int, theme_key: int) -> list[int]:
    analysis = _require_analysis(session, consultation_id)
    theme = analysis.theme(theme_key)
    if theme is None:
        raise _theme_not_found()
    return list(theme.members)


# ----- exports (no names, e-mail addresses or user ids: comment ids, texts and counts only) -----

def export_data(session: Session, *, consultation_id: int, staff: queries.StaffScope | None) -> dict:
    """The analysis as plain data for the JSON/CSV exports and the printable report.

    Raises: NotFound, PermissionDenied."""
    page = dashboard_page(session, consultation_id=consultation_id, staff=staff)
    a = page.analysis
    if a is None:
        raise NotFound(_("This consultation has not been analysed yet, so there is nothing to export. Press "
                         "“Re-analyse now” on its analysis page first."))
    texts = {i: b.body for i, b in page.comments.items()}
    op = a.opinions
    return {
        "consultation": {"id": page.consultation.id, "title": page.consultation.title},
        "analysis": {"run": a.run_id, "version": a.version, "finished_at": a.finished_at.isoformat()
                     if a.finished_at else None, "comments": a.n_items, "votes": a.n_votes,
                     "participants": a.n_participants, "note": a.theme_note, "trend_bucket": a.trend_bucket},
        "themes": [{"id": t.key, "label": t.label, "automatic_label": t.auto_label, "terms": list(t.terms),
                    "comments": t.size, "distinct_comments": t.distinct, "share": round(t.share, 4),
                    "agree": t.agree, "disagree": t.disagree, "responses": page.responses.get(t.key, 0),
                    "comment_ids": list(t.members),
                    "quotes": [{"comment_id": i, "text": texts.get(i, "")} for i in t.representatives[:3]],
                    "trend": [{"from": b, "comments": n} for b, n in t.trend]} for t in a.themes],
        "campaigns": [{"comments": c.count, "wordings": c.variants, "representative_comment_id": c.representative,
                       "text": texts.get(c.representative, ""), "comment_ids": list(c.members)}
                      for c in a.campaigns],
        "opinion_groups": {
            "participants": op.n_participants, "not_placed": op.n_excluded, "note": op.note,
            "groups": [{"id": g.id, "participants": g.size, "representative": [
                {"comment_id": s.item, "text": texts.get(s.item, ""), "direction": s.direction,
                 "group_share": s.group_share, "others_share": s.other_share, "p_value": s.p_value,
                 "test": s.test} for s in g.representative]} for g in op.groups],
            "consensus": [{"comment_id": s.item, "text": texts.get(s.item, ""), "direction": s.direction,
                           "min_share": s.min_share} for s in op.consensus],
            "divisive": [{"comment_id": s.item, "text": texts.get(s.item, ""), "spread": s.spread}
                         for s in op.divisive],
            "map": [list(p) for p in op.points],
        },
    }


CSV_COLUMNS = ["section", "id", "label", "comments", "distinct_comments", "share", "agree", "disagree",
               "responses", "direction", "p_value", "comment_ids", "text"]


def export_rows(data: dict) -> list[dict]:
    rows = []
    for t in data["themes"]:
        rows.append({"section": "theme", "id": t["id"], "label": t["label"], "comments": t["comments"],
                     "distinct_comments": t["distinct_comments"], "share": t["share"], "agree": t["agree"],
                     "disagree": t["disagree"], "responses": t["responses"],
                     "comment_ids": " ".join(map(str, t["comment_ids"])),
                     "text": t["quotes"][0]["text"] if t["quotes"] else ""})
    for n, c in enumerate(data["campaigns"], 1):
        rows.append({"section": "campaign", "id": n, "comments": c["comments"],
                     "comment_ids": " ".join(map(str, c["comment_ids"])), "text": c["text"]})
    groups = data["opinion_groups"]
    for g in groups["groups"]:
        rows.append({"section": "opinion_group", "id": g["id"], "label": f"group {g['id'] + 1}",
                     "comments": g["participants"]})
        for s in g["representative"]:
            rows.append({"section": "representative", "id": g["id"], "direction": s["direction"],
                         "p_value": s["p_value"], "comment_ids": s["comment_id"], "text": s["text"]})
    for s in groups["consensus"]:
        rows.append({"section": "consensus", "direction": s["direction"], "comment_ids": s["comment_id"],
                     "text": s["text"]})
    for s in groups["divisive"]:
        rows.append({"section": "divisive", "comment_ids": s["comment_id"], "text": s["text"]})
    return rows


def export_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)
