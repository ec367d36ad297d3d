"""Local abuse scoring for petitions, comments and responses (English + Chinese).

One scikit-learn model scores every post; moderators see the probability and
an explanation, humans decide.  Public API::

    clf = load_classifier(settings.data_dir)      # NullClassifier if no valid model
    s = clf.score("some text")                    # AbuseScore
    s.probability, s.model_version, s.language, s.explanation
    clf.thresholds                                # {"review": t1, "hold": t2, "review:en": ..., "hold:zh": ...}

    train_to_dir(data_dir)                        # train on shipped data, set CURRENT
    ensure_model(data_dir)                        # train only if nothing loadable
    retrain_with_decisions(data_dir, [(text, 0/1), ...])
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import artifacts
from .datasets import data_sha256
from .scoring import AbuseScore, Classifier, ModelClassifier, NullClassifier
from .text import detect_language, normalise
from .training import evaluate_sets, fixed_test_sets, report, train_model

__all__ = [
    "AbuseScore",
    "Classifier",
    "ModelClassifier",
    "NullClassifier",
    "RetrainResult",
    "detect_language",
    "ensure_model",
    "load_classifier",
    "load_version",
    "normalise",
    "retrain_with_decisions",
    "train_to_dir",
]

log = logging.getLogger("civic.moderation")

# A retrained candidate is promoted unless its mean test ROC-AUC is more than
# this much below the current model's on the same fixed held-out split.
PROMOTION_TOLERANCE = 0.005

_train_lock = threading.RLock()  # re-entrant: ensure_model holds it while calling train_to_dir


@dataclass(frozen=True)
class RetrainResult:
    candidate_version: str
    promoted: bool
    current_metrics: dict[str, Any] | None
    candidate_metrics: dict[str, Any]
    reason: str = field(default="")


def load_classifier(data_dir: Path) -> Classifier:
    """The model named by `<data_dir>/models/abuse/CURRENT`, or NullClassifier(reason)."""
    try:
        return artifacts.load_current(Path(data_dir))
    except Exception as exc:  # noqa: BLE001 - the app must keep running without a model
        log.exception("unexpected error loading abuse model")
        return NullClassifier(f"unexpected error loading model: {exc}")


def load_version(data_dir: Path, version: str) -> Classifier:
    """A specific stored version, or NullClassifier(reason)."""
    try:
        return artifacts.load_version(Path(data_dir), version)
    except Exception as exc:  # noqa: BLE001
        log.exception("unexpected error loading abuse model %s", version)
        return NullClassifier(f"unexpected error loading model {version}: {exc}")


def _train_and_save(data_dir: Path, extra_examples, sample, progress, seed) -> tuple[str, dict[str, Any]]:
    model, info = train_model(extra_examples=extra_examples, sample=sample, seed=seed, progress=progress)
    report(progress, "saving artifact")
    version = artifacts.save_model(Path(data_dir), model, info, training_data_sha256=data_sha256())
    return version, info


def train_to_dir(
    data_dir: Path,
    *,
    extra_examples: Sequence[tuple[str, int]] = (),
    sample: int | None = None,
    progress=None,
    seed: int = 0,
) -> str:
    """Train on the shipped data (+ extra examples), save a new version, make it CURRENT.

    `sample` caps the rows taken from each dataset split (train, valid and
    test alike), e.g. 500 -> 1,500 training rows, a few seconds; None = all
    (about 56k training rows plus 13k validation rows, cross-fitted: about
    30-40 s on 2 cores).  `progress` may be an
    `app.progress.Progress` (its `step()` gets phase messages), any callable
    taking a message string, or None.  Returns the new version string.
    """
    with _train_lock:
        version, _info = _train_and_save(data_dir, extra_examples, sample, progress, seed)
        artifacts.set_current(Path(data_dir), version)
    return version


def ensure_model(data_dir: Path) -> str | None:
    """Return the current model version, training the full model first if none loads."""
    clf = load_classifier(data_dir)
    if clf.available:
        return clf.version
    with _train_lock:
        clf = load_classifier(data_dir)  # another thread may have trained meanwhile
        if clf.available:
            return clf.version
        log.info("no usable abuse model (%s); training one", getattr(clf, "reason", ""))
        try:
            return train_to_dir(data_dir)
        except Exception:  # noqa: BLE001 - called from a background job
            log.exception("training the abuse model failed")
            return None


def _mean_auc(metrics: dict[str, Any] | None) -> float | None:
    return None if not metrics else metrics.get("mean_roc_auc")


def retrain_with_decisions(
    data_dir: Path,
    examples: Sequence[tuple[str, int]],
    *,
    progress=None,
    sample: int | None = None,
    seed: int = 0,
) -> RetrainResult:
    """Train a candidate on shipped data + human decisions; promote it if not worse.

    Both the current model and the candidate are evaluated on the same fixed
    held-out split (the shipped test splits, capped by `sample` if given).
    The candidate becomes CURRENT if its mean ROC-AUC is at least the current
    model's minus PROMOTION_TOLERANCE, or if there is no usable current model.
    Old versions are always kept.
    """
    data_dir = Path(data_dir)
    with _train_lock:
        current = load_classifier(data_dir)
        version, _info = _train_and_save(data_dir, list(examples), sample, progress, seed)
        candidate = load_version(data_dir, version)
        if isinstance(candidate, NullClassifier):  # what load_version returns when the artifact does not load
            raise RuntimeError(f"freshly trained model {version} does not load: {candidate.reason}")
        assert isinstance(candidate, ModelClassifier)
        report(progress, "comparing candidate with current model on the fixed held-out split")
        test_sets = fixed_test_sets(sample, seed)
        cand_metrics = evaluate_sets(candidate.model, test_sets, candidate.thresholds)
        cur_metrics = None
        if isinstance(current, ModelClassifier) and current.available:
            cur_metrics = evaluate_sets(current.model, test_sets, current.thresholds)
        cand_auc, cur_auc = _mean_auc(cand_metrics), _mean_auc(cur_metrics)
        if cur_metrics is None:
            promoted, reason = True, "no usable current model"
        elif cand_auc is None or cur_auc is None:
            promoted, reason = False, "ROC-AUC undefined on the comparison split"
        else:
            promoted = cand_auc >= cur_auc - PROMOTION_TOLERANCE
            reason = f"mean ROC-AUC candidate {cand_auc:.4f} vs current {cur_auc:.4f} (tolerance {PROMOTION_TOLERANCE})"
        if promoted:
            artifacts.set_current(data_dir, version)
        log.info("retrain: candidate %s %s; %s", version, "promoted" if promoted else "not promoted", reason)
        return RetrainResult(version, promoted, cur_metrics, cand_metrics, reason)
