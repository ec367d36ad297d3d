"""Learning from decisions: every human decision is a training label for the abuse model.

hide / redact -> 1 (the text needed action), approve -> 0 (it was fine). When an item was decided more than
once (an appeal, a later report), the latest decision is its label.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from moderation.models import ModerationDecision


@dataclass(frozen=True)
class LabelCounts:
    total: int
    positive: int
    negative: int
    by_language: dict


def decision_examples(session: Session) -> list[tuple[str, int]]:
    """(original text, label) per decided item, the latest decision winning."""
    rows = session.exec(select(ModerationDecision.item_pk, ModerationDecision.original_text, ModerationDecision.label)
                        .order_by(ModerationDecision.decided_at, ModerationDecision.id)).all()
    latest: dict[int, tuple[str, int]] = {}
    for item_pk, text, label in rows:
        if text and text.strip():
            latest[item_pk] = (text, int(label))
    return list(latest.values())


def label_counts(session: Session) -> LabelCounts:
    rows = session.exec(select(ModerationDecision.item_pk, ModerationDecision.label, ModerationDecision.language)
                        .order_by(ModerationDecision.decided_at, ModerationDecision.id)).all()
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
    from moderation.classifier import retrain_with_decisions

    kwargs = {"progress": progress}
    if sample is not None:
        kwargs["sample"] = sample
    return retrain_with_decisions(Path(data_dir), list(examples), **kwargs)
