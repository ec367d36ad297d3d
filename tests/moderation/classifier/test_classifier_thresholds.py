from __future__ import annotations

import numpy as np

from moderation.classifier.training import choose_threshold, macro_precision_curve


def test_precision_curve_counts_items_at_or_above_threshold():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    y = np.array([0, 1, 0, 1, 1])
    curve = macro_precision_curve([(p, y)], np.array([0.1, 0.3, 0.4, 0.95]))
    assert np.allclose(curve[:3], [3 / 5, 2 / 3, 1.0])
    assert np.isnan(curve[3])  # nothing flagged


def test_lowest_threshold_reaching_target_and_review_below_hold():
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    y = np.array([0, 1, 0, 1, 1])
    assert choose_threshold([(p, y)], 0.6) == 0.1
    assert choose_threshold([(p, y)], 0.9) == 0.4
    assert choose_threshold([(p, y)], 0.6) <= choose_threshold([(p, y)], 0.9)


def test_corpora_count_equally():
    big_clean = (np.linspace(0.0, 0.5, 1000), np.zeros(1000, dtype=int))  # never above 0.5
    small = (np.array([0.6, 0.7, 0.8]), np.array([0, 1, 1]))
    # the big corpus flags nothing above 0.5 and is skipped; the small one decides
    assert choose_threshold([big_clean, small], 0.9) == 0.7


def test_unreachable_target_returns_one():
    assert choose_threshold([(np.array([0.2, 0.8]), np.array([0, 0]))], 0.9) == 1.0


def test_precision_at_the_platforms_prevalence_not_the_corpus_base_rate():
    # a corpus that is 80 % abusive: flagging everything looks 80 % "precise"
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    assert choose_threshold([(p, y)], 0.6) == 0.05
    # where 5 % of posts are abusive, a threshold passing a benign post is far less precise
    curve = macro_precision_curve([(p, y)], np.array([0.1, 0.2]), prevalence=0.05)
    tpr, fpr = 1.0, 0.5  # at 0.1: every abusive post, one of the two benign ones
    assert np.isclose(curve[0], 0.05 * tpr / (0.05 * tpr + 0.95 * fpr))
    assert np.isclose(curve[1], 1.0)  # no benign post passes 0.2
    assert choose_threshold([(p, y)], 0.6, prevalence=0.05) == 0.2
