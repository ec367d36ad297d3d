"""The independent civic held-out set (`data/civic_heldout_<lang>.tsv`): measuring the categories.

These posts were written by someone who had not seen the rules or the lexicons (see
`data/CIVIC_HELDOUT.md`), so they measure the category rules on text the rules were not written from. They
are never trained on or used to choose a threshold: training scores them once and stores the scores with
the model, and the model page turns those into precision and recall per category and language at the live
operating points.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

import numpy as np

from .lexicons import CATEGORIES, DATA_DIR, LANGUAGES


@dataclass(frozen=True)
class HeldOut:
    languages: np.ndarray   # "en" | "zh"
    labels: np.ndarray      # 1 abusive, 0 acceptable
    categories: np.ndarray  # true category ("none" for acceptable posts)
    texts: list[str]


def load() -> HeldOut:
    langs, labels, cats, texts = [], [], [], []
    for lang in LANGUAGES:
        path = DATA_DIR / f"civic_heldout_{lang}.tsv"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                langs.append(lang)
                labels.append(int(row["label"]))
                cats.append(row["category"].strip())
                texts.append(row["text"])
    return HeldOut(np.asarray(langs, dtype="<U2"), np.asarray(labels, dtype=np.int8),
                   np.asarray(cats, dtype="<U12"), texts)


def table(held: dict, route_of) -> dict:
    """Per language and category: posts, share routed to review or hold ("review recall"), share held
    ("hold recall"); per language the precision and recall of review and hold, and the share of acceptable
    posts flagged. `held` holds the stored arrays (languages, labels, categories, scores, predicted);
    `route_of(score, predicted_category, language)` returns "publish" | "review" | "hold"."""
    langs, labels, cats = held["languages"], held["labels"], held["categories"]
    routes = np.asarray([route_of(float(s), str(c), str(lang))
                         for s, c, lang in zip(held["scores"], held["predicted"], langs)])
    flagged, holds = routes != "publish", routes == "hold"
    out: dict = {}
    for lang in sorted(set(langs.tolist())):
        m = langs == lang
        pos, neg = m & (labels == 1), m & (labels == 0)
        row: dict[str, Any] = {"categories": {}}
        for point, sel in (("review", flagged), ("hold", holds)):
            tp, fp = int((sel & pos).sum()), int((sel & neg).sum())
            row[point] = {"precision": tp / (tp + fp) if tp + fp else None,
                          "recall": tp / int(pos.sum()) if pos.sum() else None,
                          "acceptable_flagged": fp / int(neg.sum()) if neg.sum() else None}
        for cat in CATEGORIES:
            c = m & (cats == cat)
            n = int(c.sum())
            if not n:
                continue
            predicted_here = m & flagged & (held["predicted"] == cat)
            row["categories"][cat] = {
                "posts": n,
                "review_recall": float((flagged & c).sum()) / n,
                "hold_recall": float((holds & c).sum()) / n,
                "category_precision": (float((predicted_here & c).sum()) / int(predicted_here.sum())
                                       if predicted_here.sum() else None),
            }
        row["posts"], row["acceptable"] = int(pos.sum()), int(neg.sum())
        out[lang] = row
    return out
