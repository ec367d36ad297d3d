"""Benchmark: speed and memory of the feedback-analysis functions.

    .venv/bin/python bench/analysis_speed.py [--n 100000]

Each measurement runs in a fresh subprocess, which reports wall time of the
call (data loading excluded) and the process's peak RSS (resource.getrusage,
so it includes the interpreter, libraries and the corpus itself) plus the
process CPU time and the host's 1-minute load average (wall time on a busy,
shared 2-core host is much higher than the CPU time):

  * themes: find_themes on N real comments (default 100,000) built from AG
    News, Banking77, StackOverflow titles, UK petition titles, We the People
    2011-13 petitions and Davidson tweets (../shared/data), sampled without
    replacement as far as the corpus allows.  Target: < 15 s, < 1.5 GB.
  * near-duplicates: group_near_duplicates on the same N texts.
  * opinion groups: 10,000 participants x 1,000 statements, synthetic votes
    with 4 planted groups and sparse participation (each participant votes on
    2-15 % of statements).  Target: < 10 s.  Also prints the ARI of the
    recovered groups against the planted ones.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / ".." / "shared" / "data"

csv.field_size_limit(10**8)


def real_corpus(n: int, seed: int = 0) -> list[str]:
    """Up to ``n`` real texts (all distinct sources pooled, shuffled); repeats
    only when the pool is smaller than ``n``."""
    sys.path.insert(0, str(REPO / "bench"))
    from analysis_themes import load_agnews, load_banking, load_stackoverflow

    pool: list[str] = []
    for loader in (load_agnews, lambda: load_banking("train"), lambda: load_banking("test"), load_stackoverflow):
        try:
            pool += loader()[0]
        except FileNotFoundError:
            pass
    uk = DATA / "petitions" / "uk-petitions-titles"
    for f in sorted(uk.glob("*.csv")) if uk.exists() else []:
        with open(f, encoding="utf-8", errors="replace") as fh:
            pool += [r["Petition"] for r in csv.DictReader(fh) if r.get("Petition")]
    wtp = DATA / "petitions" / "wtp-petitions-2011-2013" / "petitions_clean.csv"
    if wtp.exists():
        with open(wtp, encoding="utf-8", errors="replace") as fh:
            pool += [f"{r['title']}. {r['body']}" for r in csv.DictReader(fh)]
    dav = DATA / "abuse-en" / "davidson-hsol" / "labeled_data.csv"
    if dav.exists():
        with open(dav, encoding="utf-8", errors="replace") as fh:
            pool += [r["tweet"] for r in csv.DictReader(fh)]
    if not pool:
        return []
    rng = random.Random(seed)
    rng.shuffle(pool)
    out = pool[:n]
    while len(out) < n:
        out.append(rng.choice(pool))
    return out


def synthetic_votes(n_participants: int, n_statements: int, n_groups: int = 4, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_groups, n_participants)
    # each group has a preferred stance per statement; 30 % of statements are consensus
    stance = rng.choice([-1, 1], size=(n_groups, n_statements))
    consensus = rng.random(n_statements) < 0.3
    stance[:, consensus] = 1
    votes = []
    for p in range(n_participants):
        rate = rng.uniform(0.02, 0.15)
        cs = np.nonzero(rng.random(n_statements) < rate)[0]
        r = rng.random(len(cs))
        v = np.where(r < 0.8, stance[truth[p], cs], np.where(r < 0.9, -stance[truth[p], cs], 0))
        votes.extend(zip([p] * len(cs), cs.tolist(), v.tolist()))
    return votes, truth


def child(task: str, n: int) -> dict:
    if task == "themes" or task == "duplicates":
        texts = real_corpus(n)
        if not texts:
            return {"skip": f"no text corpora under {DATA.resolve()}"}
        distinct = len(set(texts))
        from moderation.analysis.duplicates import group_near_duplicates
        from moderation.analysis.themes import find_themes

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        c0 = time.process_time()
        t0 = time.perf_counter()
        if task == "themes":
            res = find_themes(texts)
            extra = {"k": res.k, "campaigns": len(res.campaigns)}
        else:
            ids = group_near_duplicates(texts)
            extra = {"groups": len(set(ids))}
        dt = time.perf_counter() - t0
        return {"n": len(texts), "distinct": distinct, "seconds": dt, "cpu": time.process_time() - c0,
                "load": os.getloadavg()[0], "rss_before_mb": rss0 / 1024,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}
    if task == "opinions":
        from sklearn.metrics import adjusted_rand_score

        from moderation.analysis.opinions import opinion_groups

        votes, truth = synthetic_votes(10_000, 1_000)
        c0 = time.process_time()
        t0 = time.perf_counter()
        res = opinion_groups(votes)
        dt = time.perf_counter() - t0
        placed = list(res.participant_group)
        ari = adjusted_rand_score([truth[p] for p in placed], [res.participant_group[p] for p in placed])
        return {"votes": len(votes), "placed": len(placed), "groups": len(res.groups), "ari_vs_planted": ari,
                "seconds": dt, "cpu": time.process_time() - c0, "load": os.getloadavg()[0], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    raise SystemExit(f"unknown task {task}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of comments for themes/duplicates")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return 0

    from app.progress import Progress

    results = {}
    tasks = ["duplicates", "themes", "opinions"]
    with Progress("Speed benchmark", total=len(tasks)) as prog:
        for task in tasks:
            prog.step(f"{task} (subprocess)")
            out = subprocess.run([sys.executable, __file__, "--child", task, "--n", str(args.n)],
                                 capture_output=True, text=True, cwd=REPO)
            if out.returncode != 0:
                print(f"{task}: FAILED\n{out.stderr[-2000:]}", file=sys.stderr)
                prog.advance()
                continue
            results[task] = json.loads(out.stdout.strip().splitlines()[-1])
            prog.advance(note=task)

    for task, r in results.items():
        if "skip" in r:
            print(f"{task}: SKIP ({r['skip']})")
            continue
        if task == "duplicates":
            print(f"near-duplicates: {r['n']} texts ({r['distinct']} distinct) -> {r['groups']} groups in "
                  f"{r['seconds']:.2f} s wall ({r['cpu']:.2f} s CPU, load avg {r['load']:.1f}), peak RSS {r['peak_rss_mb']:.0f} MB")
        elif task == "themes":
            ok = r["seconds"] < 15 and r["peak_rss_mb"] < 1536
            print(f"themes: {r['n']} comments ({r['distinct']} distinct), k={r['k']} (auto), {r['campaigns']} duplicate groups: "
                  f"{r['seconds']:.2f} s wall ({r['cpu']:.2f} s CPU, load avg {r['load']:.1f}), peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(before call {r['rss_before_mb']:.0f} MB) "
                  f"target <15 s & <1.5 GB: {'PASS' if ok else 'FAIL'}")
        else:
            print(f"opinion groups: 10000 participants x 1000 statements, {r['votes']} votes -> {r['groups']} groups, "
                  f"{r['placed']} placed, ARI vs planted {r['ari_vs_planted']:.3f}: {r['seconds']:.2f} s wall "
                  f"({r['cpu']:.2f} s CPU, load avg {r['load']:.1f}), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB; target <10 s: {'PASS' if r['seconds'] < 10 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
