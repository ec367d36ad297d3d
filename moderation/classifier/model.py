"""The abuse model: one head per language (English, Chinese), each a hashed
char n-gram + word n-gram TF-IDF featuriser (see features.py; the English
head adds a few hand-written lexicon features, lexicon.py), NB-scaled
logistic-regression weights, and Platt calibration fitted on out-of-fold
validation scores (training.py).  Posts are routed to a head by
`detect_language`.

Batches are scored with sparse matrix algebra; a single post takes a
numpy-only path (`AbuseModel.analyse`) that computes exactly the same logit
and, in the same pass, each n-gram occurrence's contribution
(coefficient x tf-idf value) for the explanation.
"""
from __future__ import annotations

import math
import re
from operator import itemgetter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from .features import HashedTfidf, char_grams, word_grams
from .lexicon import lexicon_hits
from .text import NUMBER_TOKEN, URL_TOKEN, USER_TOKEN, detect_language

EXPLANATION_TERMS = 8
_by_weight = itemgetter(1)
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


def _block(doc: np.ndarray, bucket: np.ndarray, bits: int, n_docs: int, idf: np.ndarray, coef: np.ndarray):
    """One tf-idf block for a batch, computed per (document, bucket) without scipy.

    Returns (per-document sum of contributions, per-occurrence contribution);
    identical maths to HashedTfidf.transform followed by a dot product.
    """
    if len(doc) == 0:
        return np.zeros(n_docs), np.empty(0)
    key = (doc << bits) | bucket
    uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    ud = uniq >> bits
    ub = uniq & ((1 << bits) - 1)
    x = (np.log(cnt) + 1.0) * idf[ub]
    norms = np.sqrt(np.bincount(ud, weights=x * x, minlength=n_docs))
    norms[norms == 0] = 1.0
    x /= norms[ud]
    contrib = coef[ub] * x
    z = np.bincount(ud, weights=contrib, minlength=n_docs)
    return z, (contrib / cnt)[inv.ravel()]


def _presence_block(doc: np.ndarray, bucket: np.ndarray, bits: int, n_docs: int, scale: float, coef: np.ndarray):
    """Binary presence block: (per-document sum, per-occurrence share of each unique term's contribution)."""
    if len(doc) == 0:
        return np.zeros(n_docs), np.empty(0)
    key = (doc << bits) | bucket
    uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    ud = uniq >> bits
    contrib = coef[uniq & ((1 << bits) - 1)] * scale
    return np.bincount(ud, weights=contrib, minlength=n_docs), (contrib / cnt)[inv.ravel()]


class LinearHead:
    """One language's model: feature hasher with idf weights, linear weights, Platt calibration."""

    def __init__(self, features: HashedTfidf, coef: np.ndarray, intercept: float):
        self.features = features
        self.coef = np.ascontiguousarray(np.asarray(coef, dtype=np.float64).ravel())
        self.intercept = float(intercept)
        self.platt_a = 1.0
        self.platt_b = 0.0
        self._views()

    def _views(self) -> None:
        f = self.features
        self.coef_char = self.coef[: f.n_char]
        self.coef_word = self.coef[f.n_char : f.n_char + f.n_word]
        end = f.n_char + f.n_word + f.n_presence
        self.coef_presence = self.coef[f.n_char + f.n_word : end]
        self.coef_lexicon = self.coef[end : end + f.n_lexicon]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("coef_char", None)
        state.pop("coef_word", None)
        state.pop("coef_presence", None)
        state.pop("coef_lexicon", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._views()

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
        return self.analyse_many([norm_text], explain=explain)[0]

    def analyse_many(self, norm_texts: Sequence[str], explain: bool = True, chunk: int = 2000) -> list[Analysis]:
        out: list[Analysis] = []
        for i in range(0, len(norm_texts), chunk):
            out.extend(self._analyse_chunk(norm_texts[i : i + chunk], explain))
        return out

    def _analyse_chunk(self, texts: Sequence[str], explain: bool) -> list[Analysis]:
        f = self.features
        n = len(texts)
        cg = char_grams(texts, f.char_ngrams, f.char_bits)
        wd, wb, wterms, uni = word_grams(texts, f.word_ngrams, f.word_bits)
        zc, c_occ = _block(cg.doc, cg.bucket, f.char_bits, n, f.char_idf, self.coef_char)
        zw, w_occ = _block(wd, wb, f.word_bits, n, f.word_idf, self.coef_word)
        z = self.intercept + zc + zw
        if f.n_presence:
            zp, p_occ = _presence_block(
                wd[uni], wb[uni] & (f.n_presence - 1), f.presence_bits, n, f.presence_scale, self.coef_presence
            )
            z = z + zp
            # credit presence contributions to the unigram occurrences
            w_occ = w_occ.copy()
            w_occ[np.flatnonzero(uni)] += p_occ
        lex_hits: list = []
        if f.n_lexicon:
            values, lex_hits = lexicon_hits(texts)
            lex_contrib = values * (self.coef_lexicon * f.lexicon_scale)  # [n_docs, columns]
            z = z + lex_contrib.sum(axis=1)
        p = self.calibrated_many(z)
        if not explain:
            return [Analysis(float(a), float(b), ()) for a, b in zip(z, p)]
        totals: list[dict[str, float]] = [{} for _ in range(n)]

        # Lexicon columns: each column's contribution is shared equally by
        # the matched words (or phrases) behind it.
        if lex_hits:
            sharers: dict[tuple[int, int], int] = {}
            for d, _term, cols in lex_hits:
                for c in cols:
                    sharers[d, c] = sharers.get((d, c), 0) + 1
            for d, term, cols in lex_hits:
                w = sum(lex_contrib[d, c] / sharers[d, c] for c in cols)
                if w > 0:
                    tot = totals[d]
                    tot[term] = tot.get(term, 0.0) + float(w)

        # Word n-grams are readable as they are (only positive ones matter).
        pos = np.flatnonzero(w_occ > 0)
        if len(pos):
            flat_terms = [t for terms in wterms for t in terms]
            for k, d, w in zip(pos.tolist(), wd[pos].tolist(), w_occ[pos].tolist()):
                term = flat_terms[k]
                tot = totals[d]
                tot[term] = tot.get(term, 0.0) + w

        # Character n-grams: credited to the word containing them (so the
        # pieces of "fuuck" add up to "fuuck"); inside Chinese text (no
        # spaces) credited character by character and reported as the
        # strongest runs of characters.
        if len(c_occ):
            seg_score = np.bincount(cg.word, weights=c_occ, minlength=len(cg.seg_words))
            cjk: list[int] = []
            for seg in np.flatnonzero(seg_score > 0).tolist():
                w = cg.seg_words[seg]
                if w is None:
                    continue
                if _HAN_RE.search(w):
                    cjk.append(seg)
                else:
                    term = w.strip(_STRIP) or w
                    tot = totals[cg.seg_doc[seg]]
                    tot[term] = tot.get(term, 0.0) + float(seg_score[seg])
            if cjk:
                char_score = self._char_scores(cg, c_occ, np.isin(cg.word, cjk))
                for seg in cjk:
                    self._cjk_terms(cg, char_score, seg, totals[cg.seg_doc[seg]])

        out = []
        for d in range(n):
            merged: dict[str, float] = {}
            for t, w in totals[d].items():
                if w > 1e-6:
                    t = _DISPLAY.get(t, t)
                    merged[t] = merged.get(t, 0.0) + w
            top = sorted(merged.items(), key=_by_weight, reverse=True)[:EXPLANATION_TERMS]
            expl = tuple((t, round(w, 4)) for t, w in top if t.strip())
            out.append(Analysis(float(z[d]), float(p[d]), expl))
        return out

    @staticmethod
    def _char_scores(cg, c_occ: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Spread each (selected) n-gram's contribution evenly over its characters."""
        n = cg.length[mask]
        start = cg.start[mask]
        occ = c_occ[mask]
        pos = np.repeat(start, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        return np.bincount(pos, weights=np.repeat(occ / n, n), minlength=len(cg.codes))

    @staticmethod
    def _cjk_terms(cg, char_score: np.ndarray, seg: int, tot: dict[str, float]) -> None:
        lo, hi = int(cg.sep_pos[seg - 1]) + 1, int(cg.sep_pos[seg])
        idx_all = np.arange(lo, hi)
        idx_all = idx_all[cg.codes[lo:hi] != 32]
        if len(idx_all) == 0:
            return
        scores = char_score[idx_all]
        top = scores.max()
        if top <= 0:
            return
        keep = scores >= 0.3 * top
        # runs of kept, adjacent characters
        brk = np.r_[True, (np.diff(idx_all) != 1) | ~keep[:-1]]
        starts = np.flatnonzero(keep & brk)
        for a in starts.tolist():
            b = a
            while b + 1 < len(idx_all) and keep[b + 1] and idx_all[b + 1] == idx_all[b] + 1:
                b += 1
            idx = idx_all[a : b + 1]
            if len(idx) > _MAX_CJK_TERM:  # keep the strongest window
                sums = np.convolve(char_score[idx], np.ones(_MAX_CJK_TERM), mode="valid")
                s = int(np.argmax(sums))
                idx = idx[s : s + _MAX_CJK_TERM]
            term = "".join(map(chr, cg.codes[idx].tolist()))
            tot[term] = tot.get(term, 0.0) + float(char_score[idx].sum())


class AbuseModel:
    """The fitted model: one linear head per language, routed by `detect_language`.

    Chinese posts (as `detect_language` sees them) go to the "zh" head, all
    others to the default ("en") head.  Each head has its own featuriser,
    weights and Platt calibration, so a probability means the same thing in
    both languages.  Still one artifact, one `AbuseModel` object.
    """

    def __init__(self, heads: dict[str, LinearHead], default: str = "en"):
        if default not in heads:
            raise ValueError(f"default head {default!r} missing")
        self.heads = dict(heads)
        self.default = default

    @property
    def n_features(self) -> int:
        return sum(h.n_features for h in self.heads.values())

    def route(self, norm_text: str) -> str:
        # detect_language only says "zh" when there are Han characters: the
        # cheap search settles most (English) posts.
        if "zh" in self.heads and _HAN_RE.search(norm_text) and detect_language(norm_text) == "zh":
            return "zh"
        return self.default

    def group(self, norm_texts: Sequence[str]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(norm_texts):
            groups.setdefault(self.route(t), []).append(i)
        return groups

    def _per_head(self, norm_texts: Sequence[str], method: str) -> np.ndarray:
        """`LinearHead.<method>` of each text, each computed by the head of its language."""
        out = np.zeros(len(norm_texts))
        for key, idx in self.group(norm_texts).items():
            out[idx] = getattr(self.heads[key], method)([norm_texts[i] for i in idx])
        return out

    def logits(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self._per_head(norm_texts, "logits")

    def probabilities(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self._per_head(norm_texts, "probabilities")

    def analyse(self, norm_text: str, explain: bool = True) -> Analysis:
        return self.heads[self.route(norm_text)].analyse_many([norm_text], explain=explain)[0]

    def analyse_many(self, norm_texts: Sequence[str], explain: bool = True) -> list[Analysis]:
        groups = self.group(norm_texts)
        if len(groups) == 1:
            (key,) = groups
            return self.heads[key].analyse_many(norm_texts, explain=explain)
        out: list[Analysis | None] = [None] * len(norm_texts)
        for key, idx in groups.items():
            res = self.heads[key].analyse_many([norm_texts[i] for i in idx], explain=explain)
            for i, a in zip(idx, res):
                out[i] = a
        return out  # type: ignore[return-value]
