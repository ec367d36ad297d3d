"""Benchmark: theme quality (NMI / ARI against known labels).

    .venv/bin/python bench/analysis_themes.py [--only so,banking,...] [--seeds 0,1,2]
    .venv/bin/python bench/analysis_themes.py --polis-pools   # every pool of 3 to 6 Polis conversations

Datasets (read-only, from ../shared/data relative to the repository):
  * StackOverflow titles (20,000 titles, 20 tags)
  * Banking77 test split (3,080 queries, 77 intents)
  * AG News test split (7,600 news items, 4 classes)
  * We the People 1k: petitions with exactly one issue tag (title + body)
  * Polis statements of all conversations pooled, label = conversation (the issue's figure: every
    statement, including those Polis's moderators removed, such as ~160 "test"/"asdf" lines)
  * the same, published statements only (moderated != -1): what Civic itself analyses, since hidden
    comments never reach the themes; an extra row, not a replacement for the one above

For each: automatic k and the true k, for each seed of ``--seeds`` (default 0;
with several, the comparison table gives the mean NMI and the k of every
seed).  The hyper-parameters are the library defaults, identical for every
dataset (no per-dataset tuning on labels).
Progress (dataset, mode and the phase find_themes is in) goes to stderr; the
tables go to stdout: every run, then one line per dataset comparing NMI with
``BEFORE`` (the figures of the previous pipeline, measured with this script
on commit 4264b61) and the automatic k against the true k.
``--polis-pools`` pools the published statements of every subset of 3 to 6 of the Polis conversations
(label = conversation; 42 pools with the six shipped in ../shared/data) and prints, per pool, the automatic k
and its NMI beside the true k's, then how often automatic k gave two themes: a pool of several conversations
is the issue's own example of an official told "2 themes", so it is measured across many pools, not one.
Missing data is skipped with a message.  The data loaders here are reused by
bench/analysis_speed.py.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / ".." / "shared" / "data"
CLUSTERING = DATA / "clustering"
POLIS = DATA / "polis"

csv.field_size_limit(10**8)


def load_stackoverflow():
    rows = list(csv.DictReader(open(CLUSTERING / "stackoverflow-titles" / "stackoverflow_titles.csv", encoding="utf-8")))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def load_banking(split: str = "test"):
    rows = list(csv.DictReader(open(CLUSTERING / "banking77" / f"{split}.csv", encoding="utf-8")))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def load_agnews():
    rows = list(csv.reader(open(CLUSTERING / "ag-news-test" / "test.csv", encoding="utf-8")))
    return [f"{r[1]}. {r[2]}".replace("\\", " ") for r in rows], [r[0] for r in rows]


def load_wtp():
    texts, labels = [], []
    with open(CLUSTERING / "wtp-petitions-1k" / "WTP_dataset_1K.csv", encoding="latin-1") as f:
        for r in csv.DictReader(f):
            tags = [t.strip() for t in (r.get("tags") or "").split(",") if t.strip()]
            if len(tags) == 1:
                texts.append(f"{r['title']}. {r['content']}")
                labels.append(tags[0])
    return texts, labels


def load_polis_statements(published_only: bool = False):
    texts, labels = [], []
    for conv in sorted(p for p in POLIS.iterdir() if (p / "comments.csv").exists()):
        with open(conv / "comments.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                body = (r.get("comment-body") or "").strip()
                if body and not (published_only and r.get("moderated") == "-1"):
                    texts.append(body)
                    labels.append(conv.name)
    return texts, labels


#: NMI (true k, automatic k) and automatic k of the pipeline before issue #15's
#: automatic-k work (commit 4264b61), for the comparison table.
BEFORE = {
    "stackoverflow": (0.749, 0.749, 20),
    "banking77": (0.659, 0.420, 7),
    "agnews": (0.506, 0.506, 4),
    "wtp": (0.361, 0.136, 2),
    "polis": (0.574, 0.546, 3),
}

DATASETS = {
    "stackoverflow": ("StackOverflow titles", load_stackoverflow),
    "banking77": ("Banking77 (test)", load_banking),
    "agnews": ("AG News (test)", load_agnews),
    "wtp": ("We the People 1k (single-tag)", load_wtp),
    "polis": ("Polis statements pooled (label=conversation)", load_polis_statements),
    "polis-published": ("Polis published statements pooled",
                        lambda: load_polis_statements(published_only=True)),
}


def polis_pools(seed: int = 0) -> int:
    """Automatic k against the true k on every pool of 3 to 6 Polis conversations (published statements)."""
    import itertools

    from sklearn.metrics import normalized_mutual_info_score

    from app.progress import Progress
    from moderation.analysis.themes import find_themes

    convs: dict[str, list[str]] = {}
    for text, conv in zip(*load_polis_statements(published_only=True)):
        convs.setdefault(conv, []).append(text)
    pools = [c for size in range(3, min(6, len(convs)) + 1) for c in itertools.combinations(sorted(convs), size)]
    rows = []
    with Progress("Polis pools", total=len(pools)) as prog:
        for combo in pools:
            texts = [t for c in combo for t in convs[c]]
            labels = [c for c in combo for _ in convs[c]]
            auto = find_themes(texts, seed=seed)
            true = find_themes(texts, k=len(combo), seed=seed)
            rows.append((combo, len(texts), auto.k, normalized_mutual_info_score(labels, auto.assignments),
                         normalized_mutual_info_score(labels, true.assignments)))
            prog.advance(note="+".join(c[:8] for c in combo))
    print(f"{'pool':60s} {'n':>4s} {'true k':>6s} {'auto k':>6s} {'NMI auto':>8s} {'NMI true':>8s}")
    for combo, n, k, a, t in rows:
        print(f"{'+'.join(c[:10] for c in combo):60s} {n:4d} {len(combo):6d} {k:6d} {a:8.3f} {t:8.3f}")
    if rows:
        print(f"\n{len(rows)} pools (seed {seed}): automatic k = 2 in {sum(r[2] == 2 for r in rows)}; "
              f"mean NMI automatic k {sum(r[3] for r in rows) / len(rows):.3f}, true k {sum(r[4] for r in rows) / len(rows):.3f}; "
              f"automatic within 0.05 of true in {sum(r[3] >= r[4] - 0.05 for r in rows)}")
    return 0


def main(argv=None) -> int:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from app.progress import Progress
    from moderation.analysis.themes import find_themes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(DATASETS))
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0); the summary averages them")
    ap.add_argument("--polis-pools", action="store_true",
                    help="automatic k on every pool of 3 to 6 Polis conversations (first seed only)")
    args = ap.parse_args(argv)
    if args.polis_pools:
        if not POLIS.exists():
            print(f"SKIP: {POLIS.resolve()} not found", file=sys.stderr)
            return 0
        return polis_pools(int(args.seeds.split(",")[0]))
    seeds = [int(x) for x in args.seeds.split(",")]
    names = [n for n in DATASETS if not args.only or n in args.only.split(",")]
    if not CLUSTERING.exists() and not POLIS.exists():
        print(f"SKIP: data directory {DATA.resolve()} not found", file=sys.stderr)
        return 0

    rows = []
    with Progress("Themes benchmark", total=2 * len(names) * len(seeds)) as prog:
        for key in names:
            title, loader = DATASETS[key]
            try:
                texts, labels = loader()
            except FileNotFoundError as e:
                print(f"SKIP {title}: {e.filename} not found", file=sys.stderr)
                prog.advance(2 * len(seeds))
                continue
            true_k = len(set(labels))
            for mode, k in (("auto", None), ("true", true_k)):
                for seed in seeds:
                    prog.step(f"{key} k={mode} seed={seed}")
                    t0 = time.perf_counter()
                    res = find_themes(texts, k=k, seed=seed,
                                      progress=lambda phase, key=key, mode=mode: prog.step(f"{key} k={mode}: {phase}"))
                    dt = time.perf_counter() - t0
                    pred = res.assignments
                    rows.append((title, len(texts), true_k, mode, res.k,
                                 normalized_mutual_info_score(labels, pred),
                                 adjusted_rand_score(labels, pred), dt, seed))
                    prog.advance(note=f"{key} k={mode} seed={seed}")

    print(f"{'dataset':46s} {'n':>6s} {'true k':>6s} {'mode':>5s} {'seed':>4s} {'k':>3s} {'NMI':>6s} {'ARI':>6s} {'time':>7s}")
    for title, n, tk, mode, k, nmi, ari, dt, seed in rows:
        print(f"{title:46s} {n:6d} {tk:6d} {mode:>5s} {seed:4d} {k:3d} {nmi:6.3f} {ari:6.3f} {dt:6.1f}s")
    print()
    mean = "" if len(seeds) == 1 else f" (NMI: mean of seeds {args.seeds})"
    print(f"{'dataset':14s} {'true-k NMI before':>17s} {'after':>6s} {'auto-k NMI before':>17s} {'after':>6s} "
          f"{'auto k before':>13s} {'auto k after':>12s} {'true k':>6s}{mean}")
    for key in names:
        title = DATASETS[key][0]
        tr = [r for r in rows if r[0] == title and r[3] == "true"]
        au = [r for r in rows if r[0] == title and r[3] == "auto"]
        if not tr or not au:
            continue
        b_true, b_auto, b_k = BEFORE.get(key, (float("nan"), float("nan"), 0))
        ks = "/".join(str(r[4]) for r in au)
        print(f"{key:14s} {b_true:17.3f} {sum(r[5] for r in tr) / len(tr):6.3f} {b_auto:17.3f} "
              f"{sum(r[5] for r in au) / len(au):6.3f} {b_k:13d} {ks:>12s} {tr[0][2]:6d}")
    so = [r for r in rows if r[0].startswith("StackOverflow") and r[3] == "true" and r[8] == seeds[0]]
    if so:
        ok = so[0][5] >= 0.72
        print(f"target: StackOverflow NMI with true k >= 0.72: {'PASS' if ok else 'FAIL'} ({so[0][5]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
