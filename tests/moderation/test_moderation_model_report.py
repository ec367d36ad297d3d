from __future__ import annotations

import numpy as np

from moderation.classifier.scoring import ModelClassifier
from moderation.facade import ModerationSettings
from moderation.model_report import model_report


def test_model_page_shows_review_recall_on_posts_of_topics_the_model_never_saw():
    """The Chinese review threshold is chosen so that posts of unseen topics reach the recall target too; the
    model page shows that row beside the in-corpus one, so moderators see the recall the threshold was set for."""
    rng = np.random.default_rng(2)
    labels = np.r_[np.ones(300, dtype=int), np.zeros(700, dtype=int)]
    in_corpus = (np.r_[rng.beta(8, 2, 300), rng.beta(2, 8, 700)], labels)
    unseen = (np.r_[rng.beta(3, 3, 300), rng.beta(2, 6, 700)], labels)
    clf = ModelClassifier(model=None, version="abuse-test", thresholds={"review": 0.5, "hold": 0.9},  # type: ignore[arg-type]
                          validation={"en": [in_corpus], "zh": [in_corpus]}, shifted={"zh": [unseen]})
    report = model_report(clf, ModerationSettings())
    assert report is not None
    rows = {(r.language, r.point, r.unseen_topics): r for r in report.points}
    assert ("en", "review", True) not in rows
    zh_unseen, zh_review = rows[("zh", "review", True)], rows[("zh", "review", False)]
    assert zh_unseen.threshold == zh_review.threshold < rows[("en", "review", False)].threshold
    assert zh_unseen.recall is not None and zh_unseen.recall >= 0.85
    assert zh_review.recall is not None and zh_review.recall > zh_unseen.recall
