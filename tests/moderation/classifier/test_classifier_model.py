from __future__ import annotations

import json

import numpy as np
import pytest

from moderation.classifier import AbuseScore, Classifier
from moderation.classifier.artifacts import current_version, models_root, read_metadata
from moderation.classifier.text import normalise

EN_ABUSIVE = ["you are a fucking idiot", "shut up you stupid bitch", "fuck you asshole"]
EN_BENIGN = ["thank you for organising the park cleanup", "the meeting is on tuesday at the library", "i support more bike lanes in the city"]
ZH_ABUSIVE = ["你这个傻逼", "黑人都是垃圾，滚出中国", "地域黑真恶心，河南人都是骗子"]
ZH_BENIGN = ["谢谢大家的支持，我们一起努力", "今天的会议在图书馆举行", "我支持在城市里修更多的自行车道"]


def _mean(clf, texts):
    return float(np.mean([clf.score(t).probability for t in texts]))


def test_loaded_classifier_satisfies_protocol(tiny_classifier):
    assert isinstance(tiny_classifier, Classifier)
    assert tiny_classifier.available is True
    assert tiny_classifier.version.startswith("abuse-")
    t = tiny_classifier.thresholds
    assert {"review", "hold"} <= set(t)
    assert 0.0 <= t["review"] <= t["hold"] <= 1.0
    for lang in ("en", "zh"):  # per-language operating points chosen on validation data
        assert 0.0 <= t[f"review:{lang}"] <= t[f"hold:{lang}"] <= 1.0


def test_english_abuse_scores_higher_than_benign(tiny_classifier):
    assert _mean(tiny_classifier, EN_ABUSIVE) > _mean(tiny_classifier, EN_BENIGN) + 0.1
    s = tiny_classifier.score(EN_ABUSIVE[0])
    assert isinstance(s, AbuseScore)
    assert s.language == "en" and s.model_version == tiny_classifier.version
    assert 0.0 <= s.probability <= 1.0


def test_chinese_abuse_scores_higher_than_benign(tiny_classifier):
    assert _mean(tiny_classifier, ZH_ABUSIVE) > _mean(tiny_classifier, ZH_BENIGN)
    assert tiny_classifier.score(ZH_ABUSIVE[0]).language == "zh"


@pytest.mark.parametrize(
    ("plain", "obfuscated"),
    [("fuck you", "f u c k you"), ("fuck you", "f.u.c.k you"), ("shit head", "sh1t head"), ("shit head", "$hit head"), ("bitch", "b!tch")],
)
def test_obfuscated_variants_get_the_same_features_and_score(tiny_classifier, plain, obfuscated):
    assert normalise(plain) == normalise(obfuscated)
    assert tiny_classifier.score(plain).probability == tiny_classifier.score(obfuscated).probability


def test_repeated_letters_collapse_to_the_same_features(tiny_classifier):
    assert normalise("fuuuuuuck you") == normalise("fuuuck you")
    assert tiny_classifier.score("fuuuuuuck you").probability == tiny_classifier.score("fuuuck you").probability
    # and the stretched spelling is still scored as abusive, well above a benign sentence
    assert tiny_classifier.score("fuuuuuuck you").probability > tiny_classifier.score(EN_BENIGN[0]).probability


def test_explanation_names_the_abusive_term(tiny_classifier):
    s = tiny_classifier.score("you are a fucking idiot")
    terms = [t for t, _w, _c in s.explanation]
    assert any("fucking" in t for t in terms), terms
    assert len(s.explanation) <= 8
    # the category's phrases come first, with their category; then the model's terms, strongest first
    ruled = [e for e in s.explanation if e[2]]
    plain = [w for _t, w, c in s.explanation if not c]
    assert ruled and all(c == "insult" for _t, _w, c in ruled) and s.explanation[: len(ruled)] == tuple(ruled)
    assert all(w > 0 for w in plain) and plain == sorted(plain, reverse=True)
    # obfuscated input is explained with the readable (normalised) word
    terms = [t for t, _w, _c in tiny_classifier.score("f u c k you").explanation]
    assert any("fuck" in t for t in terms), terms


def test_chinese_explanation_is_a_substring_of_the_post(tiny_classifier):
    text = "黑人都是垃圾，滚出中国"
    s = tiny_classifier.score(text)
    assert s.explanation
    norm = normalise(text)
    assert all(t in norm for t, _w, _c in s.explanation)


def test_score_many_matches_score(tiny_classifier):
    texts = EN_ABUSIVE + EN_BENIGN + ZH_ABUSIVE + ZH_BENIGN + ["", "   ", "x" * 20_000]
    batch = tiny_classifier.score_many(texts)
    assert batch == [tiny_classifier.score(t) for t in texts]
    assert tiny_classifier.score_many([]) == []


def test_scoring_path_computes_the_scikit_learn_pipelines_logit(tiny_classifier):
    texts = [normalise(t) for t in EN_ABUSIVE + ZH_BENIGN + ["", "a b c", "I will find where you live"]]
    for head in tiny_classifier.model.heads.values():
        reference = head.pipeline_logits(texts)  # Pipeline(FeatureUnion(...), LogisticRegression)
        assert np.allclose(head.logits(texts), reference, atol=1e-9)
        assert np.allclose([head.analyse_many([t])[0].logit for t in texts], reference, atol=1e-9)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "\x00\x01\x02\x03",
        "x" * 1_000_000,
        "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
        "'; DROP TABLE petitions; --",
        "Это просто текст на русском языке",
        "مرحبا بالعالم",
        "mixed 混合 текст עברית 😀🔥",
        "\ud800\udfff broken surrogates",
        "🔥" * 5000,
        "a\u0301\u0301\u0301\u0301" * 100,
    ],
)
def test_bad_input_scores_without_error(tiny_classifier, bad):
    s = tiny_classifier.score(bad)
    assert 0.0 <= s.probability <= 1.0
    assert s.language in {"en", "zh", "other"}
    assert len(s.explanation) <= 8


def test_metadata_records_versions_checksums_counts_and_metrics(tiny_model_dir, tiny_classifier):
    version = current_version(tiny_model_dir)
    assert version == tiny_classifier.version
    meta = read_metadata(tiny_model_dir, version)
    assert meta["version"] == version
    assert set(meta["versions"]) == {"sklearn", "numpy", "python"}
    assert len(meta["model_sha256"]) == 64 and len(meta["training_data_sha256"]) == 64
    assert meta["training_rows"]["davidson"] == 800 and meta["training_rows"]["cold"] == 800
    assert set(meta["metrics"]["test"]["languages"]) == {"en", "zh"}
    for lang in ("en", "zh"):
        assert 0.5 < meta["metrics"]["test"]["languages"][lang]["roc_auc"] <= 1.0
    assert meta["thresholds"] == tiny_classifier.thresholds
    files = sorted(p.name for p in (models_root(tiny_model_dir) / version).iterdir())
    assert files == ["arrays.npz", "metadata.json"]
    assert meta["format"] == "civic-abuse/2" and set(meta["heads"]) == {"en", "zh"}
    json.dumps(meta)  # plain JSON
