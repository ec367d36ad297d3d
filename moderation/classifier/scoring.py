"""Score objects and the two classifier implementations (real and fallback)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .model import AbuseModel
from .rules import hits, top_category
from .text import detect_language, normalise
from .training import operating_points

log = logging.getLogger("civic.moderation")


@dataclass(frozen=True)
class AbuseScore:
    probability: float | None  # probability of abusive 0..1; None when no model is loaded (fallback)
    model_version: str  # "none" for the fallback
    language: str  # "en" | "zh" | "other"
    # up to 8 (term, weight, category) triples that pushed the score UP: the category rules' phrases first
    # (with their category), then the model's strongest terms (category "")
    explanation: tuple[tuple[str, float, str], ...] = ()
    category: str = ""  # the top matched category (lexicons.CATEGORIES order), "" when no rule matched


@runtime_checkable
class Classifier(Protocol):
    version: str
    available: bool
    thresholds: dict[str, float]

    def score(self, text: str) -> AbuseScore: ...

    def score_many(self, texts: Sequence[str]) -> list[AbuseScore]: ...


class NullClassifier:
    """Fallback used when no valid model can be loaded: every score is None."""

    version = "none"
    available = False

    def __init__(self, reason: str = "no model loaded"):
        self.reason = reason
        self.thresholds: dict[str, float] = {"review": 0.5, "hold": 0.9}
        self.metadata: dict[str, Any] = {}

    def score(self, text: str) -> AbuseScore:
        # The category rules still run without a model: a threat is held even before the first training.
        found = hits(normalise(text))
        expl = tuple((h.term, 0.0, h.category) for h in found[:8])
        return AbuseScore(None, "none", detect_language(text), expl, top_category(found))

    def score_many(self, texts: Sequence[str]) -> list[AbuseScore]:
        return [self.score(t) for t in texts]

    def __repr__(self) -> str:
        return f"NullClassifier(reason={self.reason!r})"


@dataclass
class ModelClassifier:
    """A loaded, verified model artifact."""

    model: AbuseModel
    version: str
    thresholds: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    available: bool = True
    # {language: [(out-of-fold validation scores, labels) per corpus]}: operating points for any targets
    validation: dict[str, list] = field(default_factory=dict)
    # scores of the independent civic held-out set (heldout.py), for per-category figures at live thresholds
    heldout: dict[str, Any] = field(default_factory=dict)
    # {language: [(out-of-topic validation scores, labels)]}: the review threshold reaches its recall there too
    shifted: dict[str, list] = field(default_factory=dict)

    def operating_points(self, *, review_recall: float, hold_precision: float, prevalence: float) -> dict[str, float]:
        """Thresholds for these targets from the stored validation scores (the trained ones when none are stored)."""
        key = (round(review_recall, 6), round(hold_precision, 6), round(prevalence, 6))
        cache = self.__dict__.setdefault("_points", {})
        if key not in cache:
            if not self.validation:
                cache[key] = dict(self.thresholds)
            else:
                cache[key] = operating_points(self.validation, review_recall=review_recall,
                                              hold_precision=hold_precision, prevalence=prevalence,
                                              shifted=self.shifted)
        return cache[key]

    @property
    def explain_from(self) -> float:
        """Posts scoring below every review threshold (and matching no category) are published without a
        moderator ever reading them, so they are not explained: explanations cost more than scoring."""
        reviews = [v for k, v in self.thresholds.items() if k.startswith("review")]
        return 0.5 * min(reviews) if reviews else 0.0

    def score(self, text: str, *, explain: bool = True) -> AbuseScore:
        norm = normalise(text)
        a = self.model.analyse(norm, explain=self.explain_from if explain else False)
        return AbuseScore(round(a.probability, 6), self.version, detect_language(text), a.explanation, a.category)

    def score_many(self, texts: Sequence[str], *, explain: bool = True) -> list[AbuseScore]:
        texts = list(texts)
        analyses = self.model.analyse_many([normalise(t) for t in texts],
                                           explain=self.explain_from if explain else False)
        return [
            AbuseScore(round(a.probability, 6), self.version, detect_language(t), a.explanation, a.category)
            for t, a in zip(texts, analyses)
        ]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """Probabilities only (no explanations), vectorised: for bulk evaluation."""
        return self.model.probabilities([normalise(t) for t in texts]).tolist()

    def __repr__(self) -> str:
        return f"ModelClassifier(version={self.version!r})"
