"""Run the analysis of a subject's items and votes, persist it, and keep officials' theme edits across re-runs.

`compute()` is pure and slow (scikit-learn): callers run it outside any write transaction. `save()` writes a
computed analysis in the caller's unit of work: it re-applies the subject's theme edits (rename, merge, split,
in the order they were made), gives themes keys that stay stable across runs when their members mostly stay
(Jaccard >= 0.5), and prunes old runs.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.clock import naive_utc
from app.db import pk
from app.periods import period_start

from .models import AnalysisRun, AnalysisTheme, EditKind, RunStatus, ThemeEdit

log = logging.getLogger("civic.moderation.analysis")

VERSION = "themes-1/opinions-1"
MATCH_JACCARD = 0.5
KEEP_RUNS = 5
MAX_REPRESENTATIVES = 5


@dataclass(frozen=True)
class Item:
    """One text of a subject: its id in the owning domain, text, creation time and vote totals."""

    id: int
    text: str
    created_at: datetime | None = None
    agree: int = 0
    disagree: int = 0


@dataclass
class Computed:
    """A computed (not yet stored) analysis."""

    items: list[Item]
    themes: list[dict]
    campaigns: list[dict]
    opinions: dict
    theme_note: str
    trend_bucket: str
    n_items: int
    n_votes: int
    n_participants: int
    started_at: datetime
    error: str = ""
    by_id: dict = field(default_factory=dict, repr=False)


# ----- helpers -----

def _trend(member_ids: Sequence[int], by_id: dict, buckets: list[str], unit: str) -> list[list]:
    if not buckets:
        return []
    counts = dict.fromkeys(buckets, 0)
    for i in member_ids:
        item = by_id.get(i)
        t = naive_utc(item.created_at) if item else None
        if t is not None:
            key = period_start(t.date(), unit).isoformat()
            if key in counts:
                counts[key] += 1
    return [[b, counts[b]] for b in buckets]


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def _theme_note(note: str, n_items: int) -> str:
    """Map the theme finder's plain-English note to a short code the pages translate."""
    if n_items == 0:
        return "empty"
    if n_items == 1:
        return "single"
    if n_items == 2:
        return "two"
    if "identical" in note:
        return "identical"
    if "too similar" in note:
        return "similar"
    if "distinct comments" in note:
        return "few"
    if "no usable words" in note:
        return "nowords"
    return ""


def _opinion_note(note: str) -> str:
    if note.startswith("no votes"):
        return "no_votes"
    if note.startswith("no participant"):
        return "few_votes"
    if note.startswith("fewer than 4"):
        return "few_participants"
    if "voted the same" in note:
        return "unanimous"
    return ""


def _stats(theme: dict, by_id: dict, n_items: int, buckets: list[str], unit: str) -> dict:
    members = theme["members"]
    theme["size"] = len(members)
    theme["share"] = len(members) / n_items if n_items else 0.0
    theme["agree"] = sum(by_id[i].agree for i in members if i in by_id)
    theme["disagree"] = sum(by_id[i].disagree for i in members if i in by_id)
    theme["trend"] = _trend(members, by_id, buckets, unit)
    return theme


# ----- computing -----

def compute(items: Sequence, votes: Sequence, *, now: datetime, seed: int = 0) -> Computed:
    """Themes, campaigns and opinion groups of `items` ((id, text, created_at, agree, disagree) or Item) and
    `votes` ((participant_key, item_id, vote)); never raises for bad input (trivial inputs give a note code)."""
    # deferred: themes and opinions load numpy/scipy/sklearn (seconds); the web pages read stored runs through
    # this module (moderation.analysis.api) and need none of it, only the analysis job computes. (Today the
    # facade's `opinion_groups` export in moderation/__init__.py loads opinions anyway; issue 14 notes it.)
    from .opinions import opinion_groups  # deferred: see above
    from .themes import find_themes  # deferred: see above

    items = [it if isinstance(it, Item) else Item(*it) for it in items]
    items = [Item(int(it.id), str(it.text or ""), it.created_at, int(it.agree or 0), int(it.disagree or 0))
             for it in items]
    by_id = {it.id: it for it in items}
    texts = [it.text for it in items]
    n_items = sum(1 for t in texts if t.strip())
    themes: list[dict] = []
    campaigns: list[dict] = []
    unit = ""
    note = ""
    error = ""
    try:
        res = find_themes(texts, seed=seed, timestamps=[it.created_at for it in items])
        n_items = res.n_texts - res.n_empty
        note = _theme_note(res.note, n_items)
        unit = res.trend_bucket or ""
        buckets = []
        if res.themes and res.themes[0].trend:
            buckets = [b.date().isoformat() for b, _ in res.themes[0].trend]
        for t in res.themes:
            member_ids = [items[i].id for i in t.members]
            theme = {"key": None, "label": t.label, "auto_label": t.label, "renamed": False, "origin": "auto",
                     "terms": list(t.terms), "members": member_ids, "distinct": int(t.distinct),
                     "representatives": [items[i].id for i in t.representatives]}
            themes.append(_stats(theme, by_id, n_items, buckets, unit))
        for c in res.campaigns:
            campaigns.append({"representative": items[c.representative].id,
                              "members": [items[i].id for i in c.members], "count": int(c.size),
                              "variants": int(c.variants)})
    except Exception as exc:  # a clear failed result rather than a crash of the job
        log.exception("theme analysis failed")
        error = f"themes: {type(exc).__name__}: {exc}"

    ids = set(by_id)
    clean_votes = []
    for key, item_id, vote in votes:
        try:
            v = int(vote) if not isinstance(vote, str) else {"agree": 1, "disagree": -1}.get(vote.lower(), 0)
        except (TypeError, ValueError):
            continue
        if item_id in ids:
            clean_votes.append((key, item_id, 1 if v > 0 else -1 if v < 0 else 0))
    opinions: dict = {"groups": [], "points": [], "representative": {}, "consensus": [], "divisive": [],
                      "n_participants": 0, "n_excluded": 0, "note": "no_votes"}
    n_participants = 0
    try:
        op = opinion_groups(clean_votes, seed=seed)
        n_participants = op.n_participants
        points = sorted((round(float(x), 3), round(float(y), 3), int(op.participant_group.get(p, -1)))
                        for p, (x, y) in op.coords.items() if all(map(math.isfinite, (x, y))))
        opinions = {
            "groups": [{"id": g.id, "size": g.size} for g in op.groups],
            "points": [list(p) for p in points],
            "representative": {str(g): [{
                "item": s.comment_id, "direction": s.direction, "group_share": round(s.group_share, 4),
                "other_share": round(s.other_share, 4), "group_votes": s.group_votes, "other_votes": s.other_votes,
                "p_value": float(s.p_value), "test": s.test} for s in stmts]
                for g, stmts in op.representative.items()},
            "consensus": [{"item": s.comment_id, "direction": s.direction, "min_share": round(s.min_share, 4),
                           "shares": {str(g): [round(v[0], 4), v[1]] for g, v in s.shares.items()}}
                          for s in op.consensus],
            "divisive": [{"item": s.comment_id, "spread": round(s.spread, 4),
                          "net": {str(g): [round(v[0], 4), v[1]] for g, v in s.net.items()}} for s in op.divisive],
            "n_participants": op.n_participants, "n_excluded": len(op.excluded),
            "note": _opinion_note(op.note),
            "silhouette": op.silhouette, "explained_variance": op.explained_variance,
        }
    except Exception as exc:
        log.exception("opinion analysis failed")
        error = (error + "\n" if error else "") + f"opinions: {type(exc).__name__}: {exc}"
    return Computed(items=items, themes=themes, campaigns=campaigns, opinions=opinions, theme_note=note,
                    trend_bucket=unit, n_items=n_items, n_votes=len(clean_votes), n_participants=n_participants,
                    started_at=now, error=error, by_id=by_id)


# ----- edits -----

def _best_match(themes: list[dict], members) -> dict | None:
    best, score = None, 0.0
    for t in themes:
        s = jaccard(t["members"], members)
        if s > score:
            best, score = t, s
    return best if score >= MATCH_JACCARD else None


def merge_into(themes: list[dict], chosen: list[dict], label: str = "") -> dict:
    """Merge `chosen` themes (of `themes`) into the largest one; sums stats, interleaves representatives."""
    chosen = sorted(chosen, key=lambda t: -t["size"])
    head = dict(chosen[0])
    members = sorted({i for t in chosen for i in t["members"]})
    reps = []
    for rank in range(MAX_REPRESENTATIVES):
        for t in chosen:
            if rank < len(t["representatives"]) and t["representatives"][rank] not in reps:
                reps.append(t["representatives"][rank])
    head["representatives"] = reps[:MAX_REPRESENTATIVES]
    head.update(members=members, size=len(members), distinct=sum(t["distinct"] for t in chosen),
                share=sum(t["share"] for t in chosen), agree=sum(t["agree"] for t in chosen),
                disagree=sum(t["disagree"] for t in chosen), origin="merged",
                terms=[term for t in chosen for term in t["terms"][:3]][:8])
    head["auto_label"] = " + ".join(t["label"] for t in chosen)[:200]
    head["label"] = label or head["auto_label"]
    head["renamed"] = bool(label)
    if all(t.get("trend") for t in chosen):
        head["trend"] = [[b, sum(t["trend"][j][1] for t in chosen)] for j, (b, _) in enumerate(chosen[0]["trend"])]
    ids = {id(t) for t in chosen}
    position = min(i for i, t in enumerate(themes) if id(t) in ids)
    themes[:] = [t for t in themes if id(t) not in ids]
    themes.insert(position, head)
    return head


def split_in_two(themes: list[dict], target: dict, by_id: dict, n_items: int, unit: str,
                 seed: int = 0) -> list[dict] | None:
    """Re-cluster one theme's items with k=2; replaces it by two themes, or returns None if it can't split."""
    from .themes import find_themes  # deferred: loads numpy/scipy/sklearn; see compute()

    members = [i for i in target["members"] if i in by_id]
    if len(members) < 2:
        return None
    res = find_themes([by_id[i].text for i in members], k=2, seed=seed)
    parts = [t for t in res.themes if t.members]
    if len(parts) < 2:
        return None
    buckets = [b for b, _ in target.get("trend") or []]
    out = []
    for t in parts[:2]:
        part = {"key": None, "label": t.label or target["label"], "auto_label": t.label or target["label"],
                "renamed": False, "origin": "split", "terms": list(t.terms),
                "members": sorted(members[i] for i in t.members), "distinct": int(t.distinct),
                "representatives": [members[i] for i in t.representatives]}
        out.append(_stats(part, by_id, n_items, buckets, unit))
    position = next(i for i, t in enumerate(themes) if t is target)
    themes[position:position + 1] = out
    return out


def apply_edits(computed: Computed, edits: list[ThemeEdit]) -> None:
    """Re-apply officials' edits, oldest first, to freshly computed themes; updates each edit's members."""
    themes = computed.themes
    for edit in edits:
        members = json.loads(edit.members or "[]")
        if edit.kind == EditKind.RENAME:
            target = _best_match(themes, members)
            if target is not None:
                target["label"], target["renamed"] = edit.label, True
                edit.members = json.dumps(target["members"])
        elif edit.kind == EditKind.MERGE:
            chosen = []
            for group in members:
                target = _best_match([t for t in themes if t not in chosen], group)
                if target is None:  # a theme mostly made of this group's members
                    group_set = set(group)
                    target = next((t for t in themes if t not in chosen and t["members"]
                                   and len(group_set & set(t["members"])) / len(t["members"]) >= MATCH_JACCARD),
                                  None)
                if target is not None and target not in chosen:
                    chosen.append(target)
            if len(chosen) >= 2:
                edit.members = json.dumps([t["members"] for t in chosen])
                merge_into(themes, chosen, edit.label)
            elif len(chosen) == 1 and edit.label:
                chosen[0]["label"], chosen[0]["renamed"] = edit.label, True
        elif edit.kind == EditKind.SPLIT:
            target = _best_match(themes, members)
            if target is not None:
                edit.members = json.dumps(target["members"])
                split_in_two(themes, target, computed.by_id, computed.n_items, computed.trend_bucket)


# ----- storing -----

def latest_run(session: Session, subject_kind: str, subject_id: int, *, lock: bool = False) -> AnalysisRun | None:
    """The subject's latest run. With `lock`, the row is locked (PostgreSQL) so that saving a run and an
    official's edit serialise, and re-read afterwards in case a newer run was committed meanwhile."""
    query = (select(AnalysisRun).where(AnalysisRun.subject_kind == subject_kind, AnalysisRun.subject_id == subject_id)
             .order_by(col(AnalysisRun.id).desc()).limit(1))
    run = session.exec(query.with_for_update() if lock else query).first()
    if lock and run is not None:
        newest = session.exec(query.with_for_update()).first()
        if newest is not None and newest.id != run.id:
            run = newest
    return run


def run_themes(session: Session, run_id: int) -> list[AnalysisTheme]:
    return list(session.exec(select(AnalysisTheme).where(AnalysisTheme.run_id == run_id)
                             .order_by(col(AnalysisTheme.position), col(AnalysisTheme.id))))


def theme_dict(row: AnalysisTheme) -> dict:
    return {"key": row.key, "label": row.label, "auto_label": row.auto_label, "renamed": row.renamed,
            "origin": row.origin, "terms": json.loads(row.terms), "members": json.loads(row.members),
            "distinct": row.distinct, "representatives": json.loads(row.representatives), "size": row.size,
            "share": row.share, "agree": row.agree, "disagree": row.disagree, "trend": json.loads(row.trend)}


def _max_key(session: Session, subject_kind: str, subject_id: int) -> int:
    value = session.exec(select(func.max(AnalysisTheme.key))
                         .join(AnalysisRun, col(AnalysisRun.id) == col(AnalysisTheme.run_id))
                         .where(AnalysisRun.subject_kind == subject_kind, AnalysisRun.subject_id == subject_id)).first()
    return int(value or 0)


def assign_keys(themes: list[dict], previous: list[dict], next_key: int) -> int:
    """Give each theme the key of the previous theme it overlaps most (Jaccard >= 0.5), else a new key."""
    pairs = sorted(((jaccard(t["members"], p["members"]), i, p["key"]) for i, t in enumerate(themes)
                    for p in previous), key=lambda x: -x[0])
    taken_keys, done = set(), set()
    for score, i, key in pairs:
        if score < MATCH_JACCARD:
            break
        if i in done or key in taken_keys:
            continue
        themes[i]["key"] = key
        taken_keys.add(key)
        done.add(i)
    for i, t in enumerate(themes):
        if i not in done:
            next_key += 1
            t["key"] = next_key
    return next_key


def write_themes(session: Session, run: AnalysisRun, themes: list[dict]) -> None:
    assert run.id is not None  # the run is flushed before its themes are written
    session.execute(delete(AnalysisTheme).where(col(AnalysisTheme.run_id) == run.id))
    themes.sort(key=lambda t: (-t["size"], t["key"]))
    for position, t in enumerate(themes):
        session.add(AnalysisTheme(
            run_id=run.id, key=t["key"], position=position, label=(t["label"] or "")[:200],
            auto_label=(t["auto_label"] or "")[:200], renamed=bool(t["renamed"]), origin=t["origin"],
            terms=json.dumps(t["terms"], ensure_ascii=False), size=t["size"], share=float(t["share"]),
            distinct=int(t["distinct"]), members=json.dumps(t["members"]),
            representatives=json.dumps(t["representatives"]), agree=int(t["agree"]), disagree=int(t["disagree"]),
            trend=json.dumps(t["trend"])))
    session.flush()


def edits_of(session: Session, subject_kind: str, subject_id: int) -> list[ThemeEdit]:
    return list(session.exec(select(ThemeEdit).where(ThemeEdit.subject_kind == subject_kind,
                                                     ThemeEdit.subject_id == subject_id).order_by(col(ThemeEdit.id))))


def save(session: Session, computed: Computed, *, subject_kind: str, subject_id: int, now: datetime) -> AnalysisRun:
    """Store a computed analysis as the subject's latest run (edits re-applied, keys matched, old runs pruned)."""
    previous = latest_run(session, subject_kind, subject_id, lock=True)
    previous_themes = [theme_dict(r) for r in run_themes(session, pk(previous.id))] if previous else []
    edits = edits_of(session, subject_kind, subject_id)
    if computed.themes:
        try:
            apply_edits(computed, edits)
        except Exception:  # an edit that can't be applied must not lose the run
            log.exception("re-applying theme edits failed")
        for edit in edits:
            session.add(edit)
    next_key = max(_max_key(session, subject_kind, subject_id), max((t["key"] for t in previous_themes), default=0))
    assign_keys(computed.themes, previous_themes, next_key)
    run = AnalysisRun(
        subject_kind=subject_kind, subject_id=subject_id,
        status=RunStatus.FAILED if computed.error and not computed.themes else RunStatus.DONE,
        version=VERSION, started_at=computed.started_at, finished_at=now, n_items=computed.n_items,
        n_votes=computed.n_votes, n_participants=computed.n_participants, theme_note=computed.theme_note,
        trend_bucket=computed.trend_bucket, campaigns=json.dumps(computed.campaigns),
        opinions=json.dumps(computed.opinions, default=_json_default), error=computed.error[:4000])
    session.add(run)
    session.flush()
    write_themes(session, run, computed.themes)
    _prune(session, subject_kind, subject_id)
    return run


def _json_default(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _prune(session: Session, subject_kind: str, subject_id: int) -> None:
    ids = list(session.exec(select(AnalysisRun.id).where(AnalysisRun.subject_kind == subject_kind,
                                                         AnalysisRun.subject_id == subject_id)
                            .order_by(col(AnalysisRun.id).desc())))
    old = ids[KEEP_RUNS:]
    if old:
        session.execute(delete(AnalysisTheme).where(col(AnalysisTheme.run_id).in_(old)))
        session.execute(delete(AnalysisRun).where(col(AnalysisRun.id).in_(old)))
