"""Score objects and the two classifier implementations (real and fallback)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .model import AbuseModel
from .text import detect_language, normalise

log = logging.getLogger("civic.moderation")


@dataclass(frozen=True)
class AbuseScore:
    probability: float | None  # probability of abusive 0..1; None when no model is loaded (fallback)
    model_version: str  # "none" for the fallback
    language: str  # "en" | "zh" | "other"
    # up to 8 (term, weight) pairs that pushed the score UP, strongest first
    explanation: tuple[tuple[str, float], ...] = ()


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
        return AbuseScore(None, "none", detect_language(text), ())

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

    def score(self, text: str) -> AbuseScore:
        norm = normalise(text)
        analysis = self.model.analyse(norm)
        return AbuseScore(
            probability=round(analysis.probability, 6),
            model_version=self.version,
            language=detect_language(text),
            explanation=analysis.explanation,
        )

    def score_many(self, texts: Sequence[str]) -> list[AbuseScore]:
        texts = list(texts)
        analyses = self.model.analyse_many([normalise(t) for t in texts])
        return [
            AbuseScore(round(a.probability, 6), self.version, detect_language(t), a.explanation)
            for t, a in zip(texts, analyses)
        ]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """Probabilities only (no explanations), vectorised: for bulk evaluation."""
        return self.model.probabilities([normalise(t) for t in texts]).tolist()

    def __repr__(self) -> str:
        return f"ModelClassifier(version={self.version!r})"
