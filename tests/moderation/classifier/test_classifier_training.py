from __future__ import annotations

import random

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.classifier.training import (
    FOLDS,
    HEADS,
    fit_head,
    fold_of,
    operating_points,
    out_of_topic_scores,
    recall_threshold,
)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(9))


def test_validation_posts_are_scored_by_a_model_that_never_saw_them():
    """Each validation post carries a unique made-up word that gives its label away.

    A model trained on a post memorises that word, so in-sample scores separate
    the labels almost perfectly; the out-of-fold scores used for calibration,
    thresholds and the validation metrics must not.
    """
    rng = random.Random(7)
    common = [_word(rng) for _ in range(30)]
    train_texts = [" ".join(rng.sample(common, 6)) for _ in range(300)]
    train_labels = [rng.randint(0, 1) for _ in train_texts]
    valid_texts = [" ".join(rng.sample(common, 6) + [_word(rng)]) for _ in range(300)]
    valid_labels = [rng.randint(0, 1) for _ in valid_texts]
    hp = {**HEADS["en"], "lexicon": False}
    head, oof, info = fit_head(
        hp,
        (train_texts, train_labels, [1.0] * len(train_texts)),
        {"hatexplain": (valid_texts, valid_labels)},
        {"hatexplain": 16.0},
    )
    assert info["fits"] == FOLDS and info["validation_corpora_in_training"] == ["hatexplain"]
    in_sample = head.logits(valid_texts)
    assert roc_auc_score(valid_labels, in_sample) > 0.9
    assert roc_auc_score(valid_labels, oof["hatexplain"]) < 0.7


def test_corpus_with_zero_validation_weight_is_only_scored():
    texts = ["you are an idiot", "have a nice day", "shut up moron", "thanks for the help"] * 10
    labels = [1, 0, 1, 0] * 10
    head, oof, info = fit_head(
        HEADS["en"], (texts, labels, [1.0] * len(texts)), {"davidson": (texts[:8], labels[:8])}, {"davidson": 0.0}
    )
    assert info["fits"] == 1 and info["validation_corpora_in_training"] == []
    assert np.allclose(oof["davidson"], head.logits(texts[:8]))


def test_folds_are_stable_and_balanced():
    texts = [f"post number {i}" for i in range(2000)]
    folds = [fold_of(t) for t in texts]
    assert folds == [fold_of(t) for t in texts]
    assert set(folds) == set(range(FOLDS))
    assert abs(folds.count(0) - 1000) < 100


def test_review_threshold_is_chosen_for_recall_and_hold_for_precision():
    rng = np.random.default_rng(3)
    labels = np.r_[np.ones(400, dtype=int), np.zeros(1600, dtype=int)]
    scores = np.r_[rng.beta(5, 2, 400), rng.beta(2, 5, 1600)]
    review = recall_threshold([(scores, labels)], 0.85)
    assert abs(float(np.mean(scores[labels == 1] >= review)) - 0.85) < 0.01
    assert float(np.mean(scores[labels == 1] >= review + 0.02)) < 0.85   # the highest threshold that reaches it
    points = operating_points({"en": [(scores, labels)]}, review_recall=0.85, hold_precision=0.9, prevalence=0.05)
    # stored rounded down (to the 6 decimals of stored scores): the stored threshold still catches the target share
    assert 0 <= review - points["review:en"] < 1e-6 and points["review"] == points["review:en"]
    assert np.mean(scores[labels == 1] >= points["review:en"]) >= 0.85
    assert points["hold:en"] >= points["review:en"]
    # with two corpora, the harder one decides: each reaches the target
    hard = (np.r_[rng.beta(3, 3, 400), rng.beta(2, 5, 1600)], labels)
    both = recall_threshold([(scores, labels), hard], 0.85)
    assert both < review and all(np.mean(p[y == 1] >= both) >= 0.85 for p, y in ((scores, labels), hard))
    held = scores >= points["hold:en"]
    tpr, fpr = held[labels == 1].mean(), held[labels == 0].mean()
    assert 0.05 * tpr / (0.05 * tpr + 0.95 * fpr) >= 0.9


def test_each_topics_validation_posts_are_scored_by_a_model_that_never_saw_the_topic():
    """In each topic, two made-up words give the label away. A model that saw the topic (in training rows or
    the other fold's validation rows) separates that topic's validation posts; the out-of-topic scores, which
    the review threshold must also reach its recall on, come from models that never saw the topic's words."""
    rng = random.Random(11)
    common = [_word(rng) for _ in range(30)]
    topics = ("race", "region", "gender")
    markers = {t: (_word(rng), _word(rng)) for t in topics}

    def posts(n):
        rows = []
        for _ in range(n):
            topic, label = rng.choice(topics), rng.randint(0, 1)
            rows.append((" ".join(rng.sample(common, 5) + [markers[topic][label]]), label, topic))
        return rows

    train, valid = posts(600), posts(300)
    hp = {**HEADS["zh"], "nb_alpha": 0}
    t_texts, t_labels = [t for t, _, _ in train], [y for _, y, _ in train]
    v_texts, v_labels, v_topics = [t for t, _, _ in valid], [y for _, y, _ in valid], [g for _, _, g in valid]
    head, oof, _ = fit_head(hp, (t_texts, t_labels, [1.0] * len(train)), {"cold": (v_texts, v_labels)}, {"cold": 1.0})
    assert roc_auc_score(v_labels, oof["cold"]) > 0.9
    shifted = out_of_topic_scores(hp, (t_texts, t_labels, [1.0] * len(train)), [f"cold:{g}" for _, _, g in train],
                                  {"cold": (v_texts, v_labels)}, {"cold": v_topics}, {"cold": 1.0})
    assert set(shifted) == {"cold"} and len(shifted["cold"]) == len(valid)
    for topic in topics:
        m = np.asarray(v_topics) == topic
        assert roc_auc_score(np.asarray(v_labels)[m], shifted["cold"][m]) < 0.7, topic


def test_review_reaches_its_recall_on_out_of_topic_scores_and_hold_ignores_them():
    rng = np.random.default_rng(5)
    labels = np.r_[np.ones(400, dtype=int), np.zeros(1600, dtype=int)]
    in_corpus = (np.r_[rng.beta(6, 2, 400), rng.beta(2, 6, 1600)], labels)
    out_of_topic = (np.r_[rng.beta(3, 3, 400), rng.beta(2, 5, 1600)], labels)
    plain = operating_points({"zh": [in_corpus]})
    shifted = operating_points({"zh": [in_corpus]}, shifted={"zh": [out_of_topic]})
    assert shifted["review:zh"] < plain["review:zh"]
    p, y = out_of_topic
    assert np.mean(p[y == 1] >= shifted["review:zh"]) >= 0.85
    assert shifted["hold:zh"] == plain["hold:zh"]
    # another language's shifted groups leave this one alone
    assert operating_points({"zh": [in_corpus]}, shifted={"en": [out_of_topic]}) == plain
