"""Training and evaluation of the abuse model.

Protocol (kept honest so the reported test figures mean something):

* the model (vectorisers + logistic regression) is fitted on the *train*
  splits plus the *valid* splits (plus any human-decision examples), by
  2-fold cross-fitting over the valid splits (see `cross_fit_head`): each
  validation post is scored by a model fitted without it, and the shipped
  model averages the two fold models;
* Platt calibration, the operating thresholds and the validation metrics
  in the metadata use those *out-of-fold* validation scores only;
* metrics stored in the artifact metadata are computed on the *test* splits,
  which are never used for fitting or tuning.

Hyperparameters are chosen on the *valid* splits only (Davidson valid,
HateXplain valid, COLD dev); OLID and the test splits are never looked at
for a choice.  History of the single joint model (mean validation ROC-AUC
over the three splits): char n-grams 1-4 (vs 1-3, 2-4), min_df 3, word
tokens skip Han characters, a binary word-unigram presence block (value 0.3)
-> 0.8897 at C=4 with HateXplain and COLD weighted 2.

Now one linear head per language (routed by `detect_language`, one artifact;
see model.AbuseModel), so each language gets its own n-gram range,
regularisation and Platt calibration, with NB-SVM feature scaling (each
column multiplied by its log-count ratio, Wang & Manning 2012; the scaling
is folded into the stored weights, so scoring costs nothing extra):

* English head (Davidson + HateXplain train), judged by the mean of the
  Davidson and HateXplain validation AUCs: joint LR baseline 0.8522;
  NB-SVM alpha 1, C 1: 0.8589; HateXplain weight 4 instead of 2 with NB:
  0.8607; alpha 4, C 0.5: 0.8623 (kept; C 0.25/1, alpha 0.25, weight 8 were
  no better).  NB also helps leave-one-corpus-out validation (train on one
  English corpus, score the other's valid split): 0.7089 -> 0.7358.
  Tried and not kept: per-corpus class balancing (0.8522, no change),
  corpus-indicator features absorbing corpus priors (0.8451), averaging LR
  and NB-SVM (0.8601), dropping the @user/url placeholder tokens (0.8632 in
  domain but lower leave-one-corpus-out, 0.7345).
* Chinese head (COLD train), judged by COLD dev AUC: joint baseline 0.9596;
  char 1-3 beats 1-4 and 1-5 for both LR and NB-SVM; NB-SVM char 1-3,
  alpha 4, C 16: 0.9664 (kept; LR+NB average 0.9655).

Then (2026-11-27), aiming at English posts unlike either training corpus
(the bench's OLID test, which is never used for a choice).  Judged by the
out-of-fold validation AUCs (mean of Davidson and HateXplain) and, as a
proxy for unseen corpora, leave-one-corpus-out AUCs (train on Davidson,
score HateXplain valid, "D->H"; the reverse, "H->D"):

* Validation data joins the training data by cross-fitting.  HateXplain's
  re-split has a toxic-heavy train split (85 % abusive) but normal-heavy
  valid/test splits (26 %), so its valid split holds most of the examples of
  ordinary posts on the same topics.  In a scikit-learn prototype (char_wb
  1-4 + word 1-2 tf-idf + lexicon, C 0.5), HateXplain out-of-fold AUC
  without / with its valid split at weight 4, 8, 16, 32: 0.714 / 0.806,
  0.827, 0.839, 0.843 (Davidson 0.981 / 0.980, 0.977, 0.974, 0.970; mean
  0.893 at 4 ... 0.906 at 16, 0.907 at 32: a plateau).  Kept weight 16;
  here: HateXplain 0.749 -> 0.847, Davidson 0.985 -> 0.975.  COLD dev in
  training (weight 1): dev out-of-fold 0.9662 -> 0.9668 (kept).
* A hand-written lexicon block (lexicon.py: category counts of profanity,
  insults, slurs and threats, an insult addressed to "you", hostile phrases):
  in domain about equal (0.9086 -> 0.9110), across corpora clearly better
  (D->H 0.612 -> 0.648, H->D 0.876 -> 0.898).  Kept; its scale (0.3, 1, 3)
  makes no difference.
* Then C 0.25 (0.9114; D->H 0.647, H->D 0.907) over 0.5 (0.9110) and 1
  (0.9094); char n-grams 2-4 as good as 1-4 (0.9113) and faster to score;
  HateXplain train weight 4 over 2 (0.9102); camel-case hashtags split into
  words ("#BuildTheWall" -> "build the wall"; Davidson 0.9735 -> 0.9739).
  No better: NB alpha 1 (0.9077), presence block off (0.9087) or at 1.0
  (0.9023), min_df 10 (0.9084), word unigrams only (0.9043), leaving the
  @user/url placeholders out of the char n-grams (no change).
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from .datasets import DATASETS, SPLITS, Rows, load_all, language_of
from .features import HashedTfidf
from .model import AbuseModel, LinearHead
from .text import detect_language, normalise

log = logging.getLogger("civic.moderation")

# One linear head per language (see model.AbuseModel); each corpus belongs
# to the head of its language.
HEADS: dict[str, dict[str, Any]] = {
    "en": {
        "datasets": ("davidson", "hatexplain"),
        "char_ngrams": (2, 4),
        "char_bits": 21,
        "word_ngrams": (1, 2),
        "word_bits": 19,
        "min_df": 3,
        "presence_scale": 0.3,
        "lexicon_scale": 1.0,
        "nb_alpha": 4.0,
        "C": 0.25,
    },
    "zh": {
        "datasets": ("cold",),
        "char_ngrams": (1, 3),
        "char_bits": 21,
        "word_ngrams": (1, 2),
        "word_bits": 19,
        "min_df": 3,
        "presence_scale": 0.3,
        "nb_alpha": 4.0,
        "C": 16.0,
    },
}
DATASET_WEIGHTS = {"davidson": 1.0, "hatexplain": 4.0, "cold": 1.0}
# Weights of each corpus's *validation* rows when they join the training data
# (cross-fitting, see cross_fit_head); 0 keeps a corpus's validation split
# for scoring only.
VALID_WEIGHTS = {"davidson": 1.0, "hatexplain": 16.0, "cold": 1.0}
FOLDS = 2
EXTRA_WEIGHT = 2.0
# Operating points: "hold" = lowest threshold whose validation precision
# (macro-averaged over the validation corpora) reaches HOLD_PRECISION;
# "review" the same for REVIEW_PRECISION.
REVIEW_PRECISION = 0.6
HOLD_PRECISION = 0.9
# The precisions above are the ones moderators would see on a civic platform, where few posts are abusive:
# the validation corpora are 26-85 % abusive, and at their own base rates a "60 % precise" threshold sent
# 96 % of ordinary petition titles to review. So precision is computed at this share of abusive posts.
EXPECTED_PREVALENCE = 0.05


def report(progress: Any, message: str) -> None:
    """Send a phase message to `progress` (an app.progress.Progress, a callable, or None)."""
    log.info("abuse model: %s", message)
    if progress is None:
        return
    step = getattr(progress, "step", None)
    if callable(step):
        step(message)
    elif callable(progress):
        progress(message)


def _subsample(rows: Rows, cap: int | None, rng: random.Random) -> Rows:
    if cap is None or len(rows) <= cap:
        return rows
    idx = sorted(rng.sample(range(len(rows)), cap))
    return Rows([rows.texts[i] for i in idx], [rows.labels[i] for i in idx])


def load_splits(sample: int | None = None, seed: int = 0) -> dict[str, dict[str, Rows]]:
    data = load_all()
    out: dict[str, dict[str, Rows]] = {}
    for name in DATASETS:
        out[name] = {}
        for split in SPLITS:
            rng = random.Random(f"{seed}:{name}:{split}")
            out[name][split] = _subsample(data[name][split], sample, rng)
    return out


def macro_precision_curve(groups: list[tuple[np.ndarray, np.ndarray]], thresholds: np.ndarray,
                          prevalence: float | None = None) -> np.ndarray:
    """Mean over groups of precision(prob >= t) for each t; groups flagging nothing are skipped.

    With `prevalence`, each group's precision is the one it would have if that share of posts were abusive
    (from its true- and false-positive rates), instead of the group's own share.
    """
    precs = np.zeros(len(thresholds))
    counts = np.zeros(len(thresholds))
    for probs, labels in groups:
        order = np.argsort(probs, kind="mergesort")
        p, y = probs[order], labels[order]
        # number flagged / true positives among those with prob >= t
        first = np.searchsorted(p, thresholds, side="left")
        flagged = len(p) - first
        tp_suffix = np.r_[np.cumsum(y[::-1])[::-1], 0]
        tp = tp_suffix[first]
        has = flagged > 0
        if prevalence is None:
            precs[has] += tp[has] / flagged[has]
        else:
            positives, negatives = max(int(y.sum()), 1), max(int(len(y) - y.sum()), 1)
            tpr, fpr = tp / positives, (flagged - tp) / negatives
            with np.errstate(invalid="ignore", divide="ignore"):
                adjusted = prevalence * tpr / (prevalence * tpr + (1 - prevalence) * fpr)
            has &= (tp > 0)
            precs[has] += adjusted[has]
        counts[has] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, precs / np.maximum(counts, 1), np.nan)


def choose_threshold(groups: list[tuple[np.ndarray, np.ndarray]], target_precision: float,
                     prevalence: float | None = None) -> float:
    """Lowest threshold whose macro-averaged validation precision reaches the target.

    Each validation corpus counts equally (so the large, abuse-heavy English
    tweet corpora do not decide the operating point for Chinese, and vice
    versa).  Returns 1.0 if the target is never reached.
    """
    pooled = np.unique(np.concatenate([g[0] for g in groups])) if groups else np.empty(0)
    if len(pooled) == 0:
        return 1.0
    curve = macro_precision_curve(groups, pooled, prevalence)
    ok = np.flatnonzero(np.nan_to_num(curve, nan=0.0) >= target_precision)
    return float(pooled[ok[0]]) if len(ok) else 1.0


def threshold_metrics(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    pred = (probs >= threshold).astype(int)
    return {
        "threshold": round(float(threshold), 4),
        "precision": round(float(precision_score(labels, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(labels, pred, zero_division=0)), 4),
    }


def safe_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    if len(set(np.asarray(labels).tolist())) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def probability_metrics(
    sets: dict[str, tuple[np.ndarray, np.ndarray]], thresholds: dict[str, float]
) -> dict[str, Any]:
    """Metrics per named set of (probabilities, labels), per language and overall mean AUC."""
    metrics: dict[str, Any] = {"datasets": {}, "languages": {}}
    by_lang: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    aucs = []
    for name, (probs, labels) in sets.items():
        y = np.asarray(labels)
        probs = np.asarray(probs)
        m = {"rows": len(y), "roc_auc": safe_auc(y, probs)}
        for level, t in thresholds.items():
            m[level] = threshold_metrics(probs, y, t)
        metrics["datasets"][name] = m
        if m["roc_auc"] is not None:
            aucs.append(m["roc_auc"])
        lang = language_of(name) if name in DATASETS else "other"
        ps, ys = by_lang.setdefault(lang, ([], []))
        ps.append(probs)
        ys.append(y)
    for lang, (ps, ys) in by_lang.items():
        p, y = np.concatenate(ps), np.concatenate(ys)
        m = {"rows": len(y), "roc_auc": safe_auc(y, p)}
        for level, t in thresholds.items():
            m[level] = threshold_metrics(p, y, t)
        metrics["languages"][lang] = m
    metrics["mean_roc_auc"] = round(float(np.mean(aucs)), 4) if aucs else None
    return metrics


def evaluate_sets(
    model: AbuseModel, sets: dict[str, tuple[list[str], list[int]]], thresholds: dict[str, float]
) -> dict[str, Any]:
    """Metrics per named set of (normalised texts, labels), per language and overall mean AUC."""
    return probability_metrics(
        {name: (model.probabilities(texts), np.asarray(labels)) for name, (texts, labels) in sets.items()}, thresholds
    )


def normalised_split(splits: dict[str, dict[str, Rows]], split: str) -> dict[str, tuple[list[str], list[int]]]:
    return {name: ([normalise(t) for t in per[split].texts], list(per[split].labels)) for name, per in splits.items()}


def nb_ratio(X: sparse.csr_matrix, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """NB-SVM log-count ratio r = log((p/|p|1) / (q/|q|1)) over binarised features (Wang & Manning 2012).

    p / q are the (sample-weighted) document frequencies of each column in
    positive / negative training documents plus the smoothing `alpha`.
    """
    Xb = X.copy()
    Xb.data[:] = 1.0
    pos, neg = y == 1, y == 0
    p = alpha + np.asarray(Xb[pos].T @ w[pos]).ravel()
    q = alpha + np.asarray(Xb[neg].T @ w[neg]).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def make_features(texts: list[str], hp: dict[str, Any]) -> tuple[HashedTfidf, sparse.csr_matrix]:
    """The head's featuriser with idf fitted on `texts` (no labels involved), and their matrix."""
    min_df = hp["min_df"] if len(texts) >= 5000 else 1
    features = HashedTfidf(
        char_ngrams=hp["char_ngrams"],
        char_bits=hp["char_bits"],
        word_ngrams=hp["word_ngrams"],
        word_bits=hp["word_bits"],
        min_df=min_df,
        presence_scale=hp["presence_scale"],
        lexicon_scale=hp.get("lexicon_scale", 0.0),
    )
    return features, features.fit_transform(texts)


def fit_linear(X: sparse.csr_matrix, y: np.ndarray, w: np.ndarray, hp: dict[str, Any], seed: int = 0):
    """NB-scaled logistic regression on X; returns (coef with the NB scaling folded in, intercept, used columns)."""
    y = np.asarray(y)
    w = np.asarray(w, dtype=np.float64)
    if len(set(y.tolist())) < 2:  # degenerate (tiny samples): a constant head
        return np.zeros(X.shape[1]), 0.0, 0
    r = nb_ratio(X, y, w, hp["nb_alpha"]) if hp.get("nb_alpha") else np.ones(X.shape[1])
    # Fit on the columns that actually occur (the hashed space is mostly
    # empty); unused columns keep a zero weight, exactly as with L2 they would.
    used = np.unique(X.indices)
    Xr = X[:, used] @ sparse.diags(r[used])
    clf = LogisticRegression(C=hp["C"], solver="liblinear", max_iter=2000, random_state=seed)
    clf.fit(sparse.csr_matrix(Xr), y, sample_weight=w)
    coef = np.zeros(X.shape[1])
    coef[used] = clf.coef_.ravel() * r[used]  # fold the NB scaling into the weights
    return coef, float(clf.intercept_[0]), int(len(used))


def fold_of(text: str) -> int:
    """Cross-fitting fold (0 or 1) of a validation post: a stable hash of its text."""
    return int(hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % FOLDS


def cross_fit_head(
    train: tuple[list[str], list[int], list[float]],
    valid: dict[str, tuple[list[str], list[int]]],
    hp: dict[str, Any],
    valid_weights: dict[str, float],
    seed: int = 0,
) -> tuple[LinearHead, dict[str, np.ndarray], dict[str, Any]]:
    """Fit one head on train + validation data, with out-of-fold validation scores.

    Each validation corpus is cut into FOLDS folds (by a hash of the text).
    Model k is fitted on the train rows plus the validation rows *outside*
    fold k (weighted by `valid_weights`) and scores fold k, so every
    validation post gets a logit from a model that never saw it: those
    out-of-fold logits are what calibration, thresholds and the validation
    metrics use.  The head's weights are the average of the FOLDS models
    (one linear model, so scoring costs the same as one fit; the featuriser
    and its idf are shared, fitted without labels on all the texts).
    Corpora with a validation weight of 0 are only scored (one fit).

    Returns (head, {corpus: out-of-fold logits}, info).
    """
    t_texts, t_labels, t_weights = train
    names = list(valid)
    texts = list(t_texts) + [t for n in names for t in valid[n][0]]
    features, X = make_features(texts, hp)
    n_train = len(t_texts)
    offsets, start = {}, n_train
    for n in names:
        offsets[n] = (start, start + len(valid[n][0]))
        start += len(valid[n][0])
    folds = {n: np.asarray([fold_of(t) for t in valid[n][0]], dtype=np.int64) for n in names}
    used_valid = [n for n in names if valid_weights.get(n, 0.0) > 0]
    n_fits = FOLDS if used_valid else 1
    coefs, intercepts, used_cols = [], [], []
    oof = {n: np.zeros(len(valid[n][0])) for n in names}
    for k in range(n_fits):
        rows = [np.arange(n_train)]
        ys = [np.asarray(t_labels, dtype=np.int64)]
        ws = [np.asarray(t_weights, dtype=np.float64)]
        for n in used_valid:
            a, _b = offsets[n]
            keep = np.flatnonzero(folds[n] != k)
            rows.append(a + keep)
            ys.append(np.asarray(valid[n][1], dtype=np.int64)[keep])
            ws.append(np.full(len(keep), valid_weights[n]))
        idx = np.concatenate(rows)
        coef, intercept, used = fit_linear(X[idx], np.concatenate(ys), np.concatenate(ws), hp, seed)
        coefs.append(coef)
        intercepts.append(intercept)
        used_cols.append(used)
        for n in names:
            a, b = offsets[n]
            held = np.flatnonzero(folds[n] == k) if n_fits > 1 else np.arange(b - a)
            if len(held):
                oof[n][held] = X[a + held] @ coef + intercept
    head = LinearHead(features, np.mean(coefs, axis=0), float(np.mean(intercepts)))
    info = {
        "min_df": features.min_df,
        "used_features": max(used_cols),
        "fits": n_fits,
        "validation_corpora_in_training": used_valid,
    }
    return head, oof, info


def train_model(
    *,
    extra_examples: Sequence[tuple[str, int]] = (),
    sample: int | None = None,
    seed: int = 0,
    progress: Any = None,
) -> tuple[AbuseModel, dict[str, Any]]:
    """Fit, calibrate and evaluate a model. Returns (model, info for metadata)."""
    started = time.monotonic()
    report(progress, "loading shipped data")
    splits = load_splits(sample, seed)

    report(progress, "normalising text")
    per_head: dict[str, tuple[list[str], list[int], list[float]]] = {k: ([], [], []) for k in HEADS}
    head_of = {name: key for key, hp in HEADS.items() for name in hp["datasets"]}
    rows: dict[str, int] = {}
    for name, per in splits.items():
        tr = per["train"]
        ts, ls, ws = per_head[head_of[name]]
        ts.extend(normalise(t) for t in tr.texts)
        ls.extend(tr.labels)
        ws.extend([DATASET_WEIGHTS.get(name, 1.0)] * len(tr))
        rows[name] = len(tr)
    n_extra = 0
    for text, label in extra_examples:
        norm = normalise(text)
        key = "zh" if detect_language(norm) == "zh" else "en"  # as AbuseModel.route
        ts, ls, ws = per_head[key]
        ts.append(norm)
        ls.append(1 if int(label) else 0)
        ws.append(EXTRA_WEIGHT)
        n_extra += 1
    rows["extra"] = n_extra
    valid = normalised_split(splits, "valid")
    test = normalised_split(splits, "test")

    heads: dict[str, LinearHead] = {}
    head_info: dict[str, Any] = {}
    oof_logits: dict[str, np.ndarray] = {}
    for key, hp in HEADS.items():
        ts, ls, ws = per_head[key]
        head_valid = {n: valid[n] for n in hp["datasets"]}
        report(progress, f"fitting the {key} head on {len(ts)} + {sum(len(v[0]) for v in head_valid.values())} texts")
        heads[key], oof, head_info[key] = cross_fit_head((ts, ls, ws), head_valid, hp, VALID_WEIGHTS, seed)
        oof_logits.update(oof)
    model = AbuseModel(heads, default="en")

    report(progress, "calibrating on out-of-fold validation scores")
    # Platt scaling per head, on the out-of-fold logits of its validation corpora.
    v_names = list(valid)
    for key, head in heads.items():
        names = [n for n in v_names if head_of[n] == key]
        lg = np.concatenate([oof_logits[n] for n in names])
        lb = np.concatenate([np.asarray(valid[n][1]) for n in names])
        if len(lb) and len(set(lb.tolist())) == 2:
            head.calibrate(lg, lb)
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = {
        n: (heads[head_of[n]].calibrated_many(oof_logits[n]), np.asarray(valid[n][1])) for n in v_names
    }
    hold = choose_threshold(list(groups.values()), HOLD_PRECISION, EXPECTED_PREVALENCE)
    review = min(choose_threshold(list(groups.values()), REVIEW_PRECISION, EXPECTED_PREVALENCE), hold)
    thresholds = {"review": round(review, 4), "hold": round(hold, 4)}
    # Per-language operating points, from that language's validation corpora.
    for lang in sorted({language_of(n) for n in v_names}):
        g = [groups[n] for n in v_names if language_of(n) == lang]
        l_hold = choose_threshold(g, HOLD_PRECISION, EXPECTED_PREVALENCE)
        l_review = min(choose_threshold(g, REVIEW_PRECISION, EXPECTED_PREVALENCE), l_hold)
        thresholds[f"review:{lang}"] = round(l_review, 4)
        thresholds[f"hold:{lang}"] = round(l_hold, 4)

    report(progress, "evaluating on held-out test data")
    test_metrics = evaluate_sets(model, test, thresholds)
    valid_metrics = probability_metrics(groups, thresholds)
    info = {
        "training_rows": rows,
        "validation_rows": {k: len(v[0]) for k, v in valid.items()},
        "test_rows": {k: len(v[0]) for k, v in test.items()},
        "sample": sample,
        "seed": seed,
        "thresholds": thresholds,
        "threshold_targets": {
            "review_precision": REVIEW_PRECISION,
            "hold_precision": HOLD_PRECISION,
            "at_prevalence": EXPECTED_PREVALENCE,
            "averaging": "macro over validation corpora (all corpora for review/hold; "
            "that language's corpora for review:<lang>/hold:<lang>)",
            "scores": f"out-of-fold ({FOLDS}-fold cross-fitting over the validation splits)",
        },
        "metrics": {"test": test_metrics, "valid": valid_metrics},
        "hyperparameters": {
            "heads": {
                k: {**{a: (list(b) if isinstance(b, tuple) else b) for a, b in hp.items()}, **head_info[k]}
                for k, hp in HEADS.items()
            },
            "dataset_weights": DATASET_WEIGHTS,
            "validation_weights": VALID_WEIGHTS,
            "cross_fitting_folds": FOLDS,
            "extra_weight": EXTRA_WEIGHT,
            "n_features": model.n_features,
        },
        "training_seconds": round(time.monotonic() - started, 1),
    }
    return model, info


def fixed_test_sets(sample: int | None, seed: int = 0) -> dict[str, tuple[list[str], list[int]]]:
    """The fixed held-out comparison set (shipped test splits) used to decide promotion."""
    return normalised_split(load_splits(sample, seed), "test")
