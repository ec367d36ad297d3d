"""The abuse model: hashed char n-gram + word n-gram TF-IDF (see features.py),
a logistic regression, and Platt calibration fitted on held-out data.

Batches are scored with sparse matrix algebra; a single post takes a
numpy-only path (`AbuseModel.analyse`) that computes exactly the same logit
and, in the same pass, each n-gram occurrence's contribution
(coefficient x tf-idf value) for the explanation.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from .features import HashedTfidf, char_grams, word_grams
from .text import NUMBER_TOKEN, URL_TOKEN, USER_TOKEN

EXPLANATION_TERMS = 8
_DISPLAY = {USER_TOKEN: "@user", URL_TOKEN: "<url>", NUMBER_TOKEN: "<number>"}
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_STRIP = " \t\n.,!?;:\"'()[]{}<>*~`-_/\\|"
_MAX_CJK_TERM = 6


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class Analysis:
    logit: float
    probability: float
    explanation: tuple[tuple[str, float], ...]


def _block(buckets: np.ndarray, idf: np.ndarray, coef: np.ndarray):
    """One tf-idf block of one document: (sum of contributions, per-occurrence contributions)."""
    if len(buckets) == 0:
        return 0.0, np.empty(0)
    uniq, inv, cnt = np.unique(buckets, return_inverse=True, return_counts=True)
    x = (np.log(cnt) + 1.0) * idf[uniq]
    norm = math.sqrt(float(x @ x))
    if norm > 0:
        x /= norm
    contrib = coef[uniq] * x
    per_occurrence = (contrib / cnt)[inv]
    return float(contrib.sum()), per_occurrence


class AbuseModel:
    """Fitted model: feature hasher with idf weights, linear weights, Platt calibration."""

    def __init__(self, features: HashedTfidf, clf: LogisticRegression):
        coef = np.asarray(clf.coef_, dtype=np.float64).ravel()
        self.features = features
        self.coef_char = np.ascontiguousarray(coef[: features.n_char])
        self.coef_word = np.ascontiguousarray(coef[features.n_char :])
        self.coef = np.ascontiguousarray(coef)
        self.intercept = float(np.asarray(clf.intercept_).ravel()[0])
        self.platt_a = 1.0
        self.platt_b = 0.0

    @property
    def n_features(self) -> int:
        return self.features.n_features

    # -- calibration -------------------------------------------------------
    def calibrate(self, logits: np.ndarray, labels: np.ndarray) -> None:
        """Platt scaling fitted on held-out logits."""
        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(np.asarray(logits, dtype=np.float64).reshape(-1, 1), np.asarray(labels))
        self.platt_a = float(lr.coef_[0, 0])
        self.platt_b = float(lr.intercept_[0])

    def calibrated(self, logit: float) -> float:
        return _sigmoid(self.platt_a * logit + self.platt_b)

    def calibrated_many(self, logits: np.ndarray) -> np.ndarray:
        z = np.clip(self.platt_a * np.asarray(logits, dtype=np.float64) + self.platt_b, -500, 500)
        return 1.0 / (1.0 + np.exp(-z))

    # -- scoring -----------------------------------------------------------
    def logits(self, norm_texts: Sequence[str], chunk: int = 5000) -> np.ndarray:
        out = []
        for i in range(0, len(norm_texts), chunk):
            X = self.features.transform(norm_texts[i : i + chunk])
            out.append(X @ self.coef + self.intercept)
        return np.concatenate(out) if out else np.empty(0)

    def probabilities(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self.calibrated_many(self.logits(norm_texts))

    def analyse(self, norm_text: str, explain: bool = True) -> Analysis:
        f = self.features
        cg = char_grams([norm_text], f.char_ngrams, f.char_bits)
        _wd, wb, wterms = word_grams([norm_text], f.word_ngrams, f.word_bits)
        zc, c_occ = _block(cg.bucket, f.char_idf, self.coef_char)
        zw, w_occ = _block(wb, f.word_idf, self.coef_word)
        z = self.intercept + zc + zw
        expl: tuple[tuple[str, float], ...] = ()
        if explain:
            expl = self._explain(norm_text, cg, c_occ, wterms[0], w_occ)
        return Analysis(z, self.calibrated(z), expl)

    # -- explanations ------------------------------------------------------
    def _explain(self, text: str, cg, c_occ: np.ndarray, wterms: list[str], w_occ: np.ndarray):
        totals: dict[str, float] = {}

        def add(term: str, w: float) -> None:
            term = _DISPLAY.get(term, term)
            totals[term] = totals.get(term, 0.0) + w

        # Word n-grams are readable as they are.
        if len(w_occ):
            for term, w in zip(wterms, w_occ.tolist()):
                if w > 0:
                    add(term, w)

        # Character n-grams: credited to the word containing them (so the
        # pieces of "fuuck" add up to "fuuck"); inside Chinese text (no
        # spaces) credited character by character and reported as the
        # strongest runs of characters.
        if len(c_occ):
            words = text.split()
            seg_score = np.bincount(cg.word, weights=c_occ)
            char_score = None
            for seg in np.flatnonzero(seg_score > 0).tolist():
                if seg - 1 >= len(words) or seg < 1:
                    continue
                w = words[seg - 1]
                if _HAN_RE.search(w):
                    if char_score is None:
                        char_score = self._char_scores(cg, c_occ)
                    self._cjk_terms(cg, char_score, seg, add)
                else:
                    add(w.strip(_STRIP) or w, float(seg_score[seg]))
        ranked = sorted(((t, w) for t, w in totals.items() if w > 1e-6 and t.strip()), key=lambda kv: -kv[1])
        return tuple((t, round(w, 4)) for t, w in ranked[:EXPLANATION_TERMS])

    @staticmethod
    def _char_scores(cg, c_occ: np.ndarray) -> np.ndarray:
        """Spread each n-gram's contribution evenly over its characters."""
        n = cg.length
        pos = np.repeat(cg.start, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        return np.bincount(pos, weights=np.repeat(c_occ / n, n), minlength=len(cg.codes))

    @staticmethod
    def _cjk_terms(cg, char_score: np.ndarray, seg: int, add) -> None:
        in_seg = np.flatnonzero((np.cumsum(cg.codes == 0) == seg) & (cg.codes != 0) & (cg.codes != 32))
        if len(in_seg) == 0:
            return
        scores = char_score[in_seg]
        top = scores.max()
        if top <= 0:
            return
        keep = scores >= 0.3 * top
        run: list[int] = []

        def flush() -> None:
            if not run:
                return
            idx = np.asarray(run)
            if len(idx) > _MAX_CJK_TERM:  # keep the strongest window
                sums = np.convolve(char_score[idx], np.ones(_MAX_CJK_TERM), mode="valid")
                s = int(np.argmax(sums))
                idx = idx[s : s + _MAX_CJK_TERM]
            term = "".join(chr(int(c)) for c in cg.codes[idx])
            add(term, float(char_score[idx].sum()))
            run.clear()

        prev = -2
        for p, k in zip(in_seg.tolist(), keep.tolist()):
            if k and p == prev + 1 and run:
                run.append(p)
            elif k:
                flush()
                run.append(p)
            else:
                flush()
            prev = p
        flush()
