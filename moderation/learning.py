"""Learning from decisions: every human decision is a training label for the abuse model.

hide / redact -> 1 (the text needed action), approve -> 0 (it was fine). When an item was decided more than
once (an appeal, a later report), the latest decision is its label.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select, col

from moderation.models import ModerationDecision


@dataclass(frozen=True)
class LabelCounts:
    total: int
    positive: int
    negative: int
    by_language: dict


def decision_examples(session: Session) -> list[tuple[str, int]]:
    """(original text, label) per decided item, the latest decision winning."""
    rows = session.exec(select(col(ModerationDecision.item_pk), col(ModerationDecision.original_text), col(ModerationDecision.label))
                        .order_by(col(ModerationDecision.decided_at), col(ModerationDecision.id))).all()
    latest: dict[int, tuple[str, int]] = {}
    for item_pk, text, label in rows:
        if text and text.strip():
            latest[item_pk] = (text, int(label))
    return list(latest.values())


def label_counts(session: Session) -> LabelCounts:
    rows = session.exec(select(col(ModerationDecision.item_pk), col(ModerationDecision.label), col(ModerationDecision.language))
                        .order_by(col(ModerationDecision.decided_at), col(ModerationDecision.id))).all()
    latest = {pk: (label, lang) for pk, label, lang in rows}
    by_language: dict[str, int] = {}
    for _label, lang in latest.values():
        by_language[lang] = by_language.get(lang, 0) + 1
    positive = sum(1 for label, _ in latest.values() if label)
    return LabelCounts(len(latest), positive, len(latest) - positive, by_language)


def retrain(data_dir: Path, examples: Sequence[tuple[str, int]], *, progress=None, sample: int | None = None):
    """Train a candidate on shipped data plus `examples`; promote it only when it is not worse.

    Returns the classifier package's RetrainResult; old versions stay on disk and loadable.
    """
    from moderation.classifier import retrain_with_decisions  # deferred: numpy/scipy/sklearn; `civic --help` imports this module

    kwargs = {"progress": progress}
    if sample is not None:
        kwargs["sample"] = sample
    return retrain_with_decisions(Path(data_dir), list(examples), **kwargs)


# ----- `civic moderation retrain` (wired into moderation/cli.py) -----

def add_retrain_parser(subparsers) -> None:
    """Add `retrain` to the `civic moderation` sub-commands."""
    retrain_cmd = subparsers.add_parser(
        "retrain", help="train a candidate model on shipped data plus moderators' decisions; promote it if not worse")
    retrain_cmd.add_argument("--sample", type=int, default=None,
                             help="cap rows per dataset and split (quick trial runs; not for production models)")
    retrain_cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    retrain_cmd.set_defaults(handler=cmd_retrain)


def _metric(metrics: dict | None, key: str = "mean_roc_auc") -> str:
    value = (metrics or {}).get(key)
    return "n/a" if value is None else f"{value:.4f}"


def cmd_retrain(args, settings) -> int:
    """Collect every decision as a label, retrain, compare on the fixed held-out split, print the outcome."""
    # deferred: the classifier loads numpy/scipy/sklearn and `civic --help` imports this module (kept as one block)
    import json

    from app.db import make_engine, read_session
    from app.progress import Progress
    from moderation.classifier import load_classifier
    engine = make_engine(settings.database_url)
    try:
        with read_session(engine) as session:
            examples = decision_examples(session)
            counts = label_counts(session)
    finally:
        engine.dispose()
    old_version = load_classifier(settings.data_dir).version
    print(f"Decisions used as labels: {counts.total} ({counts.positive} removed, {counts.negative} approved)")
    with Progress("Retraining") as progress:
        result = retrain(settings.data_dir, examples, progress=progress, sample=getattr(args, "sample", None))
    new_version = result.candidate_version if result.promoted else old_version
    if getattr(args, "json", False):
        print(json.dumps({"old_version": old_version, "candidate_version": result.candidate_version,
                          "promoted": result.promoted, "current_version": new_version, "reason": result.reason,
                          "decisions": counts.total, "current_metrics": result.current_metrics,
                          "candidate_metrics": result.candidate_metrics}, indent=2, default=str))
        return 0
    print(f"Old version:       {old_version}")
    print(f"Candidate version: {result.candidate_version}")
    print(f"Mean ROC-AUC on the fixed held-out split: current {_metric(result.current_metrics)}, "
          f"candidate {_metric(result.candidate_metrics)}")
    for lang, metrics in sorted((result.candidate_metrics or {}).get("languages", {}).items()):
        old = ((result.current_metrics or {}).get("languages", {}) or {}).get(lang, {})
        review = metrics.get("review", {})
        old_review = old.get("review", {}) if old else {}
        print(f"  {lang}: ROC-AUC {_metric(old)} -> {_metric(metrics)}; at the review threshold precision "
              f"{old_review.get('precision', 'n/a')} -> {review.get('precision', 'n/a')}, recall "
              f"{old_review.get('recall', 'n/a')} -> {review.get('recall', 'n/a')}")
    if result.promoted:
        print(f"Promoted: {result.candidate_version} is now current ({result.reason}). "
              f"The previous version {old_version} stays on disk and can be restored.")
    else:
        print(f"Not promoted: {old_version} stays current ({result.reason}).")
    return 0
