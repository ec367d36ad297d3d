"""The abuse model: char n-gram + word n-gram TF-IDF, logistic regression,
Platt-calibrated on held-out data.

Training uses scikit-learn's vectorisers.  Scoring uses a small pure-Python
fast path (`AbuseModel.analyse`) that reproduces `TfidfVectorizer.transform`
exactly for one document: it avoids scikit-learn's per-call validation
overhead (single posts score in well under a millisecond) and yields the
per-feature contributions needed for explanations in the same pass.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .text import NUMBER_TOKEN, URL_TOKEN, USER_TOKEN

# Hyperparameters, chosen on the validation splits (see bench/classifier_quality.py
# and the module docstring of moderation.classifier.training).
CHAR_NGRAMS = (1, 4)
CHAR_MAX_FEATURES = 300_000
WORD_NGRAMS = (1, 2)
WORD_MAX_FEATURES = 100_000
WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"

EXPLANATION_TERMS = 8
_DISPLAY = {USER_TOKEN: "@user", URL_TOKEN: "<url>"}
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_STRIP = " \t\n.,!?;:\"'()[]{}<>*~`-_/\\|"


def make_vectorizers(min_df: int = 2) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    common = dict(sublinear_tf=True, min_df=min_df, lowercase=False, dtype=np.float64)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, max_features=CHAR_MAX_FEATURES, **common)
    word = TfidfVectorizer(
        analyzer="word", ngram_range=WORD_NGRAMS, max_features=WORD_MAX_FEATURES, token_pattern=WORD_TOKEN_PATTERN, **common
    )
    return char, word


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


class _Space:
    """One fitted TF-IDF feature space plus its slice of the model coefficients."""

    def __init__(self, vectorizer: TfidfVectorizer, coef: np.ndarray):
        self.vectorizer = vectorizer
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        self.idf = np.ascontiguousarray(vectorizer.idf_, dtype=np.float64)
        self._ready = False

    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_analyzer", "_vocab", "_names"):
            state.pop(k, None)
        state["_ready"] = False
        return state

    def prepare(self) -> None:
        if self._ready:
            return
        self._analyzer: Callable[[str], list[str]] = self.vectorizer.build_analyzer()
        self._vocab: dict[str, int] = self.vectorizer.vocabulary_
        names = [""] * len(self._vocab)
        for term, j in self._vocab.items():
            names[j] = term
        self._names = names
        self._ready = True

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, tf-idf values) for one already-normalised text."""
        vocab = self._vocab
        counts: dict[int, int] = {}
        for gram in self._analyzer(text):
            j = vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        val = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        val = (np.log(val) + 1.0) * self.idf[idx]
        norm = math.sqrt(float(val @ val))
        if norm > 0:
            val /= norm
        return idx, val

    def name(self, j: int) -> str:
        return self._names[j]


class AbuseModel:
    """Fitted model: two feature spaces, linear weights and Platt calibration."""

    def __init__(self, char_vec: TfidfVectorizer, word_vec: TfidfVectorizer, clf: LogisticRegression):
        coef = np.asarray(clf.coef_, dtype=np.float64).ravel()
        n_char = len(char_vec.vocabulary_)
        self.char = _Space(char_vec, coef[:n_char])
        self.word = _Space(word_vec, coef[n_char:])
        self.intercept = float(np.asarray(clf.intercept_).ravel()[0])
        self.platt_a = 1.0
        self.platt_b = 0.0

    @property
    def n_features(self) -> int:
        return len(self.char.coef) + len(self.word.coef)

    def prepare(self) -> "AbuseModel":
        self.char.prepare()
        self.word.prepare()
        return self

    # -- calibration -------------------------------------------------------
    def calibrate(self, logits: np.ndarray, labels: np.ndarray) -> None:
        """Platt scaling fitted on held-out logits."""
        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(np.asarray(logits, dtype=np.float64).reshape(-1, 1), np.asarray(labels))
        self.platt_a = float(lr.coef_[0, 0])
        self.platt_b = float(lr.intercept_[0])

    def calibrated(self, logit: float) -> float:
        return _sigmoid(self.platt_a * logit + self.platt_b)

    # -- scoring -----------------------------------------------------------
    def logit(self, norm_text: str) -> float:
        self.prepare()
        ci, cv = self.char.vector(norm_text)
        wi, wv = self.word.vector(norm_text)
        return self.intercept + float(self.char.coef[ci] @ cv) + float(self.word.coef[wi] @ wv)

    def logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.logit(t) for t in norm_texts), dtype=np.float64, count=len(norm_texts))

    def analyse(self, norm_text: str, explain: bool = True) -> Analysis:
        self.prepare()
        ci, cv = self.char.vector(norm_text)
        wi, wv = self.word.vector(norm_text)
        c_contrib = self.char.coef[ci] * cv
        w_contrib = self.word.coef[wi] * wv
        z = self.intercept + float(c_contrib.sum()) + float(w_contrib.sum())
        p = self.calibrated(z)
        expl: tuple[tuple[str, float], ...] = ()
        if explain:
            expl = self._explain(norm_text, ci, c_contrib, wi, w_contrib)
        return Analysis(z, p, expl)

    # -- explanations ------------------------------------------------------
    def _explain(self, text, ci, c_contrib, wi, w_contrib) -> tuple[tuple[str, float], ...]:
        totals: dict[str, float] = {}

        def add(term: str, w: float) -> None:
            term = _DISPLAY.get(term, term)
            if term == NUMBER_TOKEN:
                term = "<number>"
            totals[term] = totals.get(term, 0.0) + w

        # Word n-grams are readable as they are.
        pos = np.flatnonzero(w_contrib > 0)
        for k in pos[np.argsort(-w_contrib[pos])][:16]:
            add(self.word.name(int(wi[k])), float(w_contrib[k]))

        # Character n-grams are credited to the words of the post that contain
        # them (so "fuu" + "uck " + ... become "fuuck"); inside Chinese (no
        # spaces) or very long tokens the n-gram itself is shown.
        pos = np.flatnonzero(c_contrib > 0)
        if len(pos):
            words = []
            for w in dict.fromkeys(text.split()):
                words.append((w, bool(_HAN_RE.search(w)) or len(w) > 30))
            cjk_terms: dict[str, float] = {}
            for k in pos[np.argsort(-c_contrib[pos])][:24]:
                gram = self.char.name(int(ci[k]))
                weight = float(c_contrib[k])
                core = gram.strip(" ")
                if not core:
                    continue
                at_start, at_end = gram.startswith(" "), gram.endswith(" ")
                hits = []
                for w, raw in words:
                    if at_start and at_end:
                        ok = w == core
                    elif at_start:
                        ok = w.startswith(core)
                    elif at_end:
                        ok = w.endswith(core)
                    else:
                        ok = core in w
                    if ok:
                        hits.append((w, raw))
                if not hits:
                    continue
                share = weight / len(hits)
                for w, raw in hits:
                    if raw:
                        if len(core) >= 2 or _HAN_RE.match(core):
                            cjk_terms[core] = cjk_terms.get(core, 0.0) + share
                    else:
                        add(w.strip(_STRIP) or w, share)
            # Merge overlapping Chinese n-grams: keep the strongest, fold
            # substrings/superstrings of an already chosen term into it.
            chosen: list[str] = []
            for term, w in sorted(cjk_terms.items(), key=lambda kv: -kv[1]):
                for c in chosen:
                    if term in c or c in term:
                        totals[c] = totals.get(c, 0.0) + w
                        break
                else:
                    chosen.append(term)
                    add(term, w)
        ranked = sorted(((t, w) for t, w in totals.items() if w > 1e-6 and t.strip()), key=lambda kv: -kv[1])
        return tuple((t, round(w, 4)) for t, w in ranked[:EXPLANATION_TERMS])
