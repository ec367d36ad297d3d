"""Benchmark: opinion groups vs Polis's own groups.

    .venv/bin/python bench/analysis_opinions.py

For every conversation in ../shared/data/polis (relative to the repository):
reads votes.csv, runs :func:`moderation.analysis.opinions.opinion_groups` with
default settings, and compares with the ``group-id`` column of
participants-votes.csv (adjusted Rand index over participants placed in a
group by both).  Statements moderated out in comments.csv are excluded, as
Polis does.  Prints ARI per conversation and the mean (target >= 0.6), for
the default settings and for documented variants, with seed 0 and then the
mean over seeds 0..4 (k-means on these weakly structured maps is
seed-sensitive, so a single seed can flatter or punish a setting).

Notes on the data (checked): participants-votes.csv's vote columns equal the
last vote per (participant, statement) in votes.csv, so either gives the
same matrix.  In 15-per-hour-seattle and vtaiwan.uberx the participants with
a group-id are exactly Polis's current "in-conv" rule (>= min(7, n) votes,
once in always in); in football-concussions, brexit-consensus and
scoop-hivemind.freshwater many grouped participants have fewer than 7 votes
(842 of 1434 in football, all of whom started voting before 2018), left over
from an older Polis rule, which is why min_votes=1 matches those exports.
"""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
POLIS = REPO / ".." / "shared" / "data" / "polis"


def load_votes(conv: Path) -> list[tuple[str, str, int]]:
    """Votes of one conversation in time order as (voter-id, comment-id, vote)."""
    with open(conv / "votes.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["timestamp"] or 0))
    return [(r["voter-id"], r["comment-id"], int(r["vote"])) for r in rows]


def load_polis_groups(conv: Path) -> dict[str, str]:
    with open(conv / "participants-votes.csv", encoding="utf-8") as f:
        return {r["participant"]: r["group-id"] for r in csv.DictReader(f) if (r.get("group-id") or "").strip()}


def load_moderated_out(conv: Path) -> set[str]:
    """Statements the facilitator moderated out (Polis leaves them out of its math)."""
    path = conv / "comments.csv"
    if not path.exists():
        return set()
    with open(path, encoding="utf-8") as f:
        return {r["comment-id"] for r in csv.DictReader(f) if (r.get("moderated") or "").strip() == "-1"}


def conversations() -> list[Path]:
    if not POLIS.exists():
        return []
    return sorted(p for p in POLIS.iterdir() if (p / "votes.csv").exists() and (p / "participants-votes.csv").exists())


def main() -> int:
    from sklearn.metrics import adjusted_rand_score

    from app.progress import track
    from moderation.analysis.opinions import opinion_groups

    convs = conversations()
    if not convs:
        print(f"SKIP: no Polis conversations under {POLIS.resolve()}", file=sys.stderr)
        return 0
    configs = [
        ("defaults (Polis-like: min_votes=7, sparsity scaling counting moderated-out statements)", {}),
        ("variant: min_votes=1 (place everyone who voted)", {"min_votes": 1}),
        ("variant: min_votes=1, no sparsity scaling", {"min_votes": 1, "sparsity_scaling": False}),
        ("variant: defaults but scaling over kept statements only (previous default)", {"scale_with_excluded": False}),
    ]
    data = [(conv, load_votes(conv), load_polis_groups(conv), load_moderated_out(conv))
            for conv in track(convs, "Loading Polis conversations")]
    for title, kwargs in configs:
        print(f"\n== {title}")
        report(data, kwargs, opinion_groups, adjusted_rand_score)
        seeds_report(data, kwargs, opinion_groups, adjusted_rand_score)
    return 0


SEEDS = range(5)


def _ari(res, polis, adjusted_rand_score) -> float:
    both = [p for p in polis if p in res.participant_group]
    return adjusted_rand_score([polis[p] for p in both], [res.participant_group[p] for p in both]) if both else float("nan")


def seeds_report(data, kwargs, opinion_groups, adjusted_rand_score) -> None:
    per = []
    for conv, votes, polis, moderated_out in data:
        per.append([_ari(opinion_groups(votes, exclude_comments=moderated_out, seed=s, **kwargs), polis,
                         adjusted_rand_score) for s in SEEDS])
    means = [sum(col) / len(col) for col in zip(*per)]
    print(f"seeds {SEEDS.start}..{SEEDS.stop - 1}: mean ARI per seed " + " ".join(f"{m:.3f}" for m in means)
          + f"; over seeds {sum(means) / len(means):.3f}")
    print("  per conversation over seeds: " + ", ".join(
        f"{conv.name} {sum(a) / len(a):.3f}" for (conv, *_), a in zip(data, per)))


def report(data, kwargs, opinion_groups, adjusted_rand_score) -> None:
    rows = []
    for conv, votes, polis, moderated_out in data:
        t0 = time.perf_counter()
        res = opinion_groups(votes, exclude_comments=moderated_out, **kwargs)
        dt = time.perf_counter() - t0
        both = [p for p in polis if p in res.participant_group]
        ari = adjusted_rand_score([polis[p] for p in both], [res.participant_group[p] for p in both]) if both else float("nan")
        n_rep = sum(len(v) for v in res.representative.values())
        rows.append((conv.name, len(votes), len(res.participant_group), len(polis), len(both),
                     len(set(polis.values())), len(res.groups), ari, n_rep, len(res.consensus), dt))
    print(f"{'conversation':28s} {'votes':>6s} {'placed':>6s} {'polis':>6s} {'both':>6s} {'k_polis':>7s} {'k_ours':>6s} {'ARI':>6s} {'repr':>5s} {'cons':>5s} {'time':>6s}")
    for r in rows:
        print(f"{r[0]:28s} {r[1]:6d} {r[2]:6d} {r[3]:6d} {r[4]:6d} {r[5]:7d} {r[6]:6d} {r[7]:6.3f} {r[8]:5d} {r[9]:5d} {r[10]:5.2f}s")
    mean = sum(r[7] for r in rows) / len(rows)
    print(f"mean ARI over {len(rows)} conversations: {mean:.3f}  (target >= 0.6: {'PASS' if mean >= 0.6 else 'FAIL'})")


if __name__ == "__main__":
    raise SystemExit(main())
