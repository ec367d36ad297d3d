"""Feedback analysis, the functions other domains call (re-exported by the `moderation` facade).

A *subject* is a set of texts another domain owns, e.g. ("consultation", 12) for a consultation's comments or
("petitions", 0) for open petitions. Callers pass the items and votes; this module never reads their tables.

- `compute_analysis(items, votes, now=...)` (slow, pure: run it outside write transactions) then
  `save_analysis(session, computed, subject_kind=..., subject_id=..., now=...)`; or `analyse_subject(...)` for both;
- `latest_analysis(session, kind, id)` -> `AnalysisView | None` (frozen view objects, no identities);
- `needs_reanalysis(...)` compares the current counts with the latest run's;
- `rename_theme`, `merge_themes`, `split_theme`: officials' edits, applied now and re-applied after every re-run.

Items are `(item_id, text, created_at, agree, disagree)`; votes are `(participant_key, item_id, vote)` with vote
+1 agree / -1 disagree / 0 pass. Participant keys must be pseudonymous; they are used for grouping only and
never stored (the opinion map keeps anonymous coordinates).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.db import pk

from . import store
from .models import EditKind, ThemeEdit

AnalysisItem = store.Item


class AnalysisEditError(ValueError):
    """An edit that can't be made; `code` is one of: no_analysis, not_found, need_two, cannot_split, label."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ThemeView:
    key: int
    label: str
    auto_label: str
    renamed: bool
    origin: str  # auto | merged | split
    terms: tuple[str, ...]
    size: int  # items, every campaign copy counted
    share: float
    distinct: int  # distinct wordings (a campaign counted once)
    members: tuple[int, ...]
    representatives: tuple[int, ...]
    agree: int
    disagree: int
    trend: tuple[tuple[str, int], ...]  # (bucket start date ISO, count)


@dataclass(frozen=True)
class CampaignView:
    representative: int
    members: tuple[int, ...]
    count: int
    variants: int


@dataclass(frozen=True)
class StatementView:
    item: int
    direction: str  # agree | disagree
    group_share: float
    other_share: float
    group_votes: int
    other_votes: int
    p_value: float
    test: str


@dataclass(frozen=True)
class OpinionGroupView:
    id: int
    size: int
    representative: tuple[StatementView, ...]


@dataclass(frozen=True)
class ConsensusView:
    item: int
    direction: str
    min_share: float
    shares: tuple[tuple[int, float, int], ...]  # (group id, share, votes)


@dataclass(frozen=True)
class DivisiveView:
    item: int
    spread: float
    net: tuple[tuple[int, float, int], ...]  # (group id, net agreement -1..1, votes)


@dataclass(frozen=True)
class OpinionsView:
    groups: tuple[OpinionGroupView, ...]
    points: tuple[tuple[float, float, int], ...]  # anonymous (x, y, group) per placed participant
    consensus: tuple[ConsensusView, ...]
    divisive: tuple[DivisiveView, ...]
    n_participants: int
    n_excluded: int
    note: str  # "" or no_votes | few_votes | few_participants | unanimous


@dataclass(frozen=True)
class AnalysisView:
    run_id: int
    status: str  # done | failed
    version: str
    started_at: datetime
    finished_at: datetime | None
    n_items: int
    n_votes: int
    n_participants: int
    theme_note: str  # "" or empty | single | two | identical | similar | few | nowords
    trend_bucket: str  # day | week | month | ""
    themes: tuple[ThemeView, ...]
    campaigns: tuple[CampaignView, ...]
    opinions: OpinionsView
    failed: bool

    def theme(self, key: int) -> ThemeView | None:
        return next((t for t in self.themes if t.key == key), None)


@dataclass(frozen=True)
class RunStatusView:
    run_id: int
    finished_at: datetime | None
    n_items: int
    n_votes: int


# ----- running -----

def compute_analysis(items: Sequence, votes: Sequence, *, now: datetime, seed: int = 0) -> store.Computed:
    """Compute themes, campaigns and opinion groups (slow; no database)."""
    return store.compute(items, votes, now=now, seed=seed)


def save_analysis(session: Session, computed: store.Computed, *, subject_kind: str, subject_id: int,
                  now: datetime) -> int:
    """Store a computed analysis as the subject's latest run, re-applying officials' edits; returns the run id."""
    return pk(store.save(session, computed, subject_kind=subject_kind, subject_id=subject_id, now=now).id)


def analyse_subject(session: Session, *, subject_kind: str, subject_id: int, items: Sequence, votes: Sequence,
                    now: datetime) -> int:
    """Compute and store in one go (for small subjects and tests); returns the run id."""
    computed = compute_analysis(items, votes, now=now)
    return save_analysis(session, computed, subject_kind=subject_kind, subject_id=subject_id, now=now)


def analysis_status(session: Session, subject_kind: str, subject_id: int) -> RunStatusView | None:
    run = store.latest_run(session, subject_kind, subject_id)
    if run is None:
        return None
    return RunStatusView(run_id=pk(run.id), finished_at=run.finished_at, n_items=run.n_items, n_votes=run.n_votes)


def needs_reanalysis(session: Session, *, subject_kind: str, subject_id: int, n_items: int, n_votes: int,
                     min_new_items: int = 1, min_new_votes: int = 1) -> bool:
    """True when the subject was never analysed (and has something to analyse) or has changed enough since."""
    run = store.latest_run(session, subject_kind, subject_id)
    if run is None:
        return n_items > 0 or n_votes > 0
    return abs(n_items - run.n_items) >= min_new_items or abs(n_votes - run.n_votes) >= min_new_votes


# ----- reading -----

def _theme_view(t: dict) -> ThemeView:
    return ThemeView(key=t["key"], label=t["label"], auto_label=t["auto_label"], renamed=t["renamed"],
                     origin=t["origin"], terms=tuple(t["terms"]), size=t["size"], share=t["share"],
                     distinct=t["distinct"], members=tuple(t["members"]), representatives=tuple(t["representatives"]),
                     agree=t["agree"], disagree=t["disagree"], trend=tuple((b, int(c)) for b, c in t["trend"]))


def _opinions_view(o: dict) -> OpinionsView:
    rep = o.get("representative", {})
    groups = tuple(OpinionGroupView(id=g["id"], size=g["size"], representative=tuple(
        StatementView(item=s["item"], direction=s["direction"], group_share=s["group_share"],
                      other_share=s["other_share"], group_votes=s["group_votes"], other_votes=s["other_votes"],
                      p_value=s["p_value"], test=s["test"]) for s in rep.get(str(g["id"]), [])))
        for g in o.get("groups", []))
    return OpinionsView(
        groups=groups, points=tuple((p[0], p[1], p[2]) for p in o.get("points", [])),
        consensus=tuple(ConsensusView(item=c["item"], direction=c["direction"], min_share=c["min_share"],
                                      shares=tuple((int(g), v[0], v[1]) for g, v in sorted(c["shares"].items())))
                        for c in o.get("consensus", [])),
        divisive=tuple(DivisiveView(item=d["item"], spread=d["spread"],
                                    net=tuple((int(g), v[0], v[1]) for g, v in sorted(d["net"].items())))
                       for d in o.get("divisive", [])),
        n_participants=o.get("n_participants", 0), n_excluded=o.get("n_excluded", 0), note=o.get("note", ""))


def latest_analysis(session: Session, subject_kind: str, subject_id: int) -> AnalysisView | None:
    """The subject's latest stored analysis, or None if it was never analysed."""
    run = store.latest_run(session, subject_kind, subject_id)
    if run is None:
        return None
    run_id = pk(run.id)
    themes = tuple(_theme_view(store.theme_dict(r)) for r in store.run_themes(session, run_id))
    campaigns = tuple(CampaignView(representative=c["representative"], members=tuple(c["members"]),
                                   count=c["count"], variants=c["variants"]) for c in json.loads(run.campaigns))
    return AnalysisView(run_id=run_id, status=run.status, version=run.version, started_at=run.started_at,
                        finished_at=run.finished_at, n_items=run.n_items, n_votes=run.n_votes,
                        n_participants=run.n_participants, theme_note=run.theme_note, trend_bucket=run.trend_bucket,
                        themes=themes, campaigns=campaigns, opinions=_opinions_view(json.loads(run.opinions)),
                        failed=bool(run.error))


# ----- officials' edits -----

def _current(session: Session, subject_kind: str, subject_id: int):
    run = store.latest_run(session, subject_kind, subject_id, lock=True)
    if run is None:
        raise AnalysisEditError("no_analysis")
    return run, [store.theme_dict(r) for r in store.run_themes(session, pk(run.id))]


def _find(themes: list[dict], key: int) -> dict:
    for t in themes:
        if t["key"] == key:
            return t
    raise AnalysisEditError("not_found")


def _clean_label(label: str) -> str:
    label = " ".join((label or "").split())
    if not label or len(label) > 200:
        raise AnalysisEditError("label")
    return label


def rename_theme(session: Session, *, subject_kind: str, subject_id: int, theme_key: int, label: str,
                 actor_id: int | None, now: datetime) -> int:
    """Rename a theme of the latest run; the name sticks to the theme's members across re-runs."""
    label = _clean_label(label)
    run, themes = _current(session, subject_kind, subject_id)
    theme = _find(themes, theme_key)
    theme["label"], theme["renamed"] = label, True
    session.add(ThemeEdit(subject_kind=subject_kind, subject_id=subject_id, kind=EditKind.RENAME, label=label,
                          members=json.dumps(theme["members"]), created_by=actor_id, created_at=now))
    store.write_themes(session, run, themes)
    return theme_key


def merge_themes(session: Session, *, subject_kind: str, subject_id: int, theme_keys: Sequence[int],
                 label: str = "", actor_id: int | None, now: datetime) -> int:
    """Merge two or more themes of the latest run into one; returns the merged theme's key."""
    keys = list(dict.fromkeys(theme_keys))
    if len(keys) < 2:
        raise AnalysisEditError("need_two")
    label = _clean_label(label) if (label or "").strip() else ""
    run, themes = _current(session, subject_kind, subject_id)
    chosen = [_find(themes, k) for k in keys]
    session.add(ThemeEdit(subject_kind=subject_kind, subject_id=subject_id, kind=EditKind.MERGE, label=label,
                          members=json.dumps([t["members"] for t in chosen]), created_by=actor_id, created_at=now))
    head = store.merge_into(themes, chosen, label)
    store.write_themes(session, run, themes)
    return head["key"]


def split_theme(session: Session, *, subject_kind: str, subject_id: int, theme_key: int, items: Sequence,
                actor_id: int | None, now: datetime) -> list[int]:
    """Split a theme of the latest run in two (k=2 clustering of its items); returns the two new keys.

    `items` must include the theme's members ((id, text, created_at, agree, disagree) tuples).
    """
    run, themes = _current(session, subject_kind, subject_id)
    theme = _find(themes, theme_key)
    by_id = {}
    for it in items:
        it = it if isinstance(it, store.Item) else store.Item(*it)
        by_id[int(it.id)] = it
    parts = store.split_in_two(themes, theme, by_id, run.n_items, run.trend_bucket)
    if not parts:
        raise AnalysisEditError("cannot_split")
    session.add(ThemeEdit(subject_kind=subject_kind, subject_id=subject_id, kind=EditKind.SPLIT,
                          members=json.dumps(theme["members"]), created_by=actor_id, created_at=now))
    next_key = max(store._max_key(session, subject_kind, subject_id), max(t["key"] or 0 for t in themes))
    for part in parts:
        next_key += 1
        part["key"] = next_key
    store.write_themes(session, run, themes)
    return [p["key"] for p in parts]
