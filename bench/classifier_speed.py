"""Speed benchmark for the abuse classifier.

    python bench/classifier_speed.py [--data-dir ./var] [--posts 3000]

Loads the current model from `<data-dir>/models/abuse/` (training the full
model there first if none loads), then measures on real held-out texts
(HateXplain + Davidson + COLD test splits):

* single-post latency of `Classifier.score` (p50 / p99 / max, in ms), the
  inline path used when a petition or comment is submitted;
* batch throughput of `Classifier.score_many` (posts/s): scores and categories, as `civic moderation score`
  and bulk re-screening use it (no explanations), and, separately, with the explanation of every post a
  moderator would see (on these abuse-heavy test sets that is most of them; on civic traffic, few).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.classifier import ensure_model, load_classifier  # noqa: E402
from moderation.classifier.datasets import load_dataset  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("./var"))
    ap.add_argument("--posts", type=int, default=3000, help="texts per measurement (default 3000)")
    ap.add_argument("--rounds", type=int, default=5, help="batch rounds; the median is reported")
    args = ap.parse_args(argv)

    print(f"[speed] data dir: {args.data_dir}", file=sys.stderr)
    clf = load_classifier(args.data_dir)
    if not clf.available:
        print(f"[speed] no usable model ({clf.reason}); training the full model (about a minute)...", file=sys.stderr)
        if ensure_model(args.data_dir) is None:
            print("training failed", file=sys.stderr)
            return 1
        clf = load_classifier(args.data_dir)
    print(f"[speed] model {clf.version}", file=sys.stderr)

    texts: list[str] = []
    for name in ("hatexplain", "davidson", "cold"):
        texts.extend(load_dataset(name, "test").texts)
    rng = random.Random(0)
    rng.shuffle(texts)
    texts = texts[: args.posts]
    mean_len = statistics.mean(len(t) for t in texts)
    print(f"[speed] {len(texts)} real test posts (mean {mean_len:.0f} chars)", file=sys.stderr)

    for t in texts[:200]:  # warm-up
        clf.score(t)
    print("[speed] measuring single-post latency...", file=sys.stderr)
    lat = []
    for t in texts:
        t0 = time.perf_counter()
        clf.score(t)
        lat.append((time.perf_counter() - t0) * 1000)
    def batch(explain: bool) -> tuple[float, float, int]:
        rates, cpu_rates, explained = [], [], 0
        for r in range(args.rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            out = clf.score_many(texts, explain=explain)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            assert len(out) == len(texts)
            explained = sum(1 for s in out if s.explanation)
            rates.append(len(texts) / dt)
            cpu_rates.append(len(texts) / max(dc, 1e-9))
            print(f"[speed]   round {r + 1}/{args.rounds}: {rates[-1]:,.0f} posts/s (CPU time: {cpu_rates[-1]:,.0f}/s)", file=sys.stderr)
        return statistics.median(rates), statistics.median(cpu_rates), explained

    print("[speed] measuring batch throughput (scores and categories)...", file=sys.stderr)
    rate, cpu_rate, _ = batch(False)
    print("[speed] measuring batch throughput with explanations...", file=sys.stderr)
    rate_x, cpu_rate_x, explained = batch(True)

    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    print(f"model: {clf.version}")
    print(f"single-post latency over {len(lat)} posts (explained when a moderator would see it): "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(lat):.3f} ms")
    print(f"batch throughput, scores and categories (score_many, {len(texts)} posts, median of {args.rounds}): "
          f"{rate:,.0f} posts/s ({cpu_rate:,.0f} per CPU-second)")
    print(f"batch throughput with explanations ({explained} of {len(texts)} posts explained): "
          f"{rate_x:,.0f} posts/s ({cpu_rate_x:,.0f} per CPU-second)")
    print(f"  load average {os.getloadavg()[0]:.1f} (wall-clock figures are affected by other load on the machine)")
    ok = p99 < 5.0 and rate >= 3000
    print(f"targets (p99 < 5 ms, batches >= 3,000 posts/s): {'met' if ok else 'NOT met'}")
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
