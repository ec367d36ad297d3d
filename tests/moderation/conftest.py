"""Shared fixture: a tiny abuse model trained once per test session from the shipped data (800 rows per split)."""
from __future__ import annotations

import pytest

from moderation.classifier import load_classifier, train_to_dir

TINY_SAMPLE = 800  # rows per dataset split


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("civic-data")
    train_to_dir(data_dir, sample=TINY_SAMPLE)
    return data_dir


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir):
    clf = load_classifier(tiny_model_dir)
    assert clf.available, getattr(clf, "reason", "")
    return clf
