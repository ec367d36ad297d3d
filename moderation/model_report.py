"""What the moderators' model page shows about the model itself: both operating points (review and hold),
with precision and recall per language on validation data and per category on the independent civic
held-out set, at the thresholds the live settings give (not only those saved at training)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moderation import policy
from moderation.classifier.heldout import table


@dataclass(frozen=True)
class PointRow:
    language: str
    point: str                      # "review" | "hold"
    threshold: float
    precision: float | None         # at the validation corpora's own share of abusive posts
    precision_at_prevalence: float | None
    recall: float | None
    unseen_topics: bool = False     # on validation posts scored by a model fitted without their topic


@dataclass(frozen=True)
class CategoryRow:
    language: str
    category: str
    posts: int
    review_recall: float
    hold_recall: float
    category_precision: float | None


@dataclass(frozen=True)
class ModelReport:
    points: tuple[PointRow, ...]
    categories: tuple[CategoryRow, ...]
    acceptable_flagged: tuple[tuple[str, float | None, float | None], ...]   # (language, at review, at hold)
    review_recall_target: float
    hold_precision_target: float
    prevalence: float
    held_categories: tuple[str, ...]


def _point(scores: np.ndarray, labels: np.ndarray, threshold: float, prevalence: float):
    sel = scores >= threshold
    pos, neg = labels == 1, labels == 0
    tp, fp = int((sel & pos).sum()), int((sel & neg).sum())
    recall = tp / int(pos.sum()) if pos.sum() else None
    precision = tp / (tp + fp) if tp + fp else None
    fpr = fp / int(neg.sum()) if neg.sum() else None
    adjusted = None
    if recall is not None and fpr is not None and (recall or fpr):
        adjusted = prevalence * recall / (prevalence * recall + (1 - prevalence) * fpr)
    return precision, adjusted, recall


def _pooled(groups) -> tuple[np.ndarray, np.ndarray]:
    """The scores and labels of a language's (scores, labels) groups, joined."""
    return (np.concatenate([np.asarray(s) for s, _ in groups]), np.concatenate([np.asarray(y) for _, y in groups]))


def model_report(classifier, cfg) -> ModelReport | None:
    """None when no model (or a model without stored validation scores) is loaded."""
    validation = getattr(classifier, "validation", None) or {}
    if not getattr(classifier, "available", False) or not validation:
        return None
    thresholds = policy.model_operating_points(cfg, classifier)
    points = []
    for lang in sorted(validation):
        scores, labels = _pooled(validation[lang])
        t = policy.effective_thresholds(cfg, thresholds, lang)
        for name, value in (("review", t.review), ("hold", t.hold)):
            precision, adjusted, recall = _point(scores, labels, value, cfg.expected_prevalence)
            points.append(PointRow(lang, name, value, precision, adjusted, recall))
        shifted = (getattr(classifier, "shifted", None) or {}).get(lang)
        if shifted:  # the review threshold must also reach its recall target on these (training.operating_points)
            precision, adjusted, recall = _point(*_pooled(shifted), t.review, cfg.expected_prevalence)
            points.append(PointRow(lang, "review", t.review, precision, adjusted, recall, unseen_topics=True))
    categories, flagged = [], []
    held = getattr(classifier, "heldout", None) or {}
    if held:
        for lang, row in table(held, policy.router(cfg, classifier)).items():
            for cat, c in row["categories"].items():
                categories.append(CategoryRow(lang, cat, c["posts"], c["review_recall"], c["hold_recall"],
                                              c["category_precision"]))
            flagged.append((lang, row["review"]["acceptable_flagged"], row["hold"]["acceptable_flagged"]))
    return ModelReport(tuple(points), tuple(categories), tuple(flagged), cfg.review_recall, cfg.hold_precision,
                       cfg.expected_prevalence, tuple(cfg.held_categories))
