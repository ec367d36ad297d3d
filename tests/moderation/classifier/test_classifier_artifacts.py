from __future__ import annotations

import json
import logging
import shutil

import pytest

from moderation.classifier import (
    NullClassifier,
    ensure_model,
    load_classifier,
    load_version,
    retrain_with_decisions,
)
from moderation.classifier.artifacts import current_version, list_versions, models_root


@pytest.fixture()
def model_copy(tiny_model_dir, tmp_path):
    """A private copy of the tiny model's data dir that a test may damage."""
    shutil.copytree(models_root(tiny_model_dir), models_root(tmp_path))
    return tmp_path, current_version(tmp_path)


def test_missing_model_gives_null_classifier_with_reason(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="civic.moderation"):
        clf = load_classifier(tmp_path)
    assert isinstance(clf, NullClassifier)
    assert clf.available is False and clf.version == "none"
    assert "no current abuse model" in clf.reason
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    s = clf.score("you are an idiot")
    assert s.probability is None and s.model_version == "none"
    # the category rules still run without a model, so a moderator sees why a post was queued
    assert s.category == "insult" and s.explanation == (("you are an idiot", 0.0, "insult"),)
    assert s.language == "en"
    assert [x.probability for x in clf.score_many(["a", "b"])] == [None, None]


def test_corrupt_model_file_gives_null_classifier(model_copy, caplog):
    data_dir, version = model_copy
    model_file = models_root(data_dir) / version / "arrays.npz"
    blob = bytearray(model_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    model_file.write_bytes(bytes(blob))
    with caplog.at_level(logging.WARNING, logger="civic.moderation"):
        clf = load_classifier(data_dir)
    assert not clf.available
    assert "checksum mismatch" in clf.reason
    assert any("checksum mismatch" in r.getMessage() for r in caplog.records)


def test_truncated_model_with_matching_checksum_still_fails_safely(model_copy):
    data_dir, version = model_copy
    vdir = models_root(data_dir) / version
    (vdir / "arrays.npz").write_bytes(b"not an npz file")
    meta = json.loads((vdir / "metadata.json").read_text())
    import hashlib

    meta["model_sha256"] = hashlib.sha256(b"not an npz file").hexdigest()
    (vdir / "metadata.json").write_text(json.dumps(meta))
    clf = load_classifier(data_dir)
    assert not clf.available and "cannot load model" in clf.reason


def test_another_sklearn_version_still_loads_the_plain_arrays(model_copy):
    data_dir, version = model_copy
    meta_file = models_root(data_dir) / version / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta["versions"]["sklearn"] = "0.24.2"
    meta_file.write_text(json.dumps(meta))
    assert load_classifier(data_dir).available  # no pickle: the arrays do not depend on the library version


def test_a_model_of_the_earlier_pickled_format_is_refused_with_a_logged_reason(model_copy, caplog):
    data_dir, version = model_copy
    vdir = models_root(data_dir) / version
    meta = json.loads((vdir / "metadata.json").read_text())
    meta.pop("format")
    meta["model_file"] = "model.joblib"
    (vdir / "metadata.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger="civic.moderation"):
        clf = load_classifier(data_dir)
    assert not clf.available and "older format" in clf.reason
    assert "human review" in caplog.text


@pytest.mark.parametrize("content", ["", "abuse-20990101-000000-deadbeef", "../../etc/passwd"])
def test_bad_current_pointer_gives_null_classifier(model_copy, content):
    data_dir, _version = model_copy
    (models_root(data_dir) / "CURRENT").write_text(content)
    clf = load_classifier(data_dir)
    assert not clf.available and clf.reason


def test_malformed_metadata_gives_null_classifier(model_copy):
    data_dir, version = model_copy
    (models_root(data_dir) / version / "metadata.json").write_text("{not json")
    assert not load_classifier(data_dir).available


def test_ensure_model_keeps_a_loadable_model(model_copy):
    data_dir, version = model_copy
    assert ensure_model(data_dir) == version  # nothing retrained
    assert list_versions(data_dir) == [version]


def test_retrain_with_decisions_creates_new_version_and_keeps_old(model_copy):
    data_dir, old = model_copy
    decisions = [("you people are vermin and should leave", 1), ("please fix the potholes on elm street", 0)] * 20
    result = retrain_with_decisions(data_dir, decisions, sample=800)
    assert result.candidate_version != old
    assert sorted(list_versions(data_dir)) == sorted([old, result.candidate_version])
    assert result.current_metrics is not None and result.candidate_metrics["mean_roc_auc"] is not None
    # same shipped data + a few decisions: candidate is not worse, so it is promoted
    assert result.promoted is True
    assert current_version(data_dir) == result.candidate_version
    assert load_classifier(data_dir).version == result.candidate_version
    # the old version remains loadable
    old_clf = load_version(data_dir, old)
    assert old_clf.available and old_clf.version == old
    meta = json.loads((models_root(data_dir) / result.candidate_version / "metadata.json").read_text())
    assert meta["training_rows"]["extra"] == len(decisions)


def test_retrain_is_not_promoted_when_candidate_is_worse(model_copy, monkeypatch):
    data_dir, old = model_copy
    import moderation.classifier as mc

    monkeypatch.setattr(mc, "PROMOTION_TOLERANCE", -1.0)  # demand an impossible improvement
    result = retrain_with_decisions(data_dir, [("some decision", 0)], sample=300)
    assert result.promoted is False
    assert current_version(data_dir) == old
    assert load_version(data_dir, result.candidate_version).available  # candidate kept for inspection
