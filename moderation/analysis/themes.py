"""Themes in free-text feedback (English, Chinese, mixed), locally with scikit-learn.

Pipeline of :func:`find_themes`:

1. **Campaign collapsing** - exact and near-duplicate comments are grouped
   (:mod:`moderation.analysis.duplicates`) and each group is clustered as ONE
   point with weight ``1 + ln(copies)``, so a 5,000-copy campaign is one theme
   member instead of 5,000 and cannot take over the themes.  Sizes and member
   lists still count every copy.
2. **Features** - word uni+bigram TF-IDF plus character 4-gram TF-IDF
   (within word boundaries), both sublinear, on the shared normalisation;
   Chinese runs become overlapping character bigrams (the usual indexing unit
   without a word segmenter).
3. **LSA** - TruncatedSVD to 50 dimensions (the first, frequency-dominated
   component dropped), rows L2-normalised; then each vector is averaged with
   its 10 nearest neighbours (:func:`_neighbour_smoothed`), which keeps a small
   subject of short comments together instead of lumping it into a
   "miscellaneous" theme.
4. **Clustering** - k-means on the smoothed LSA vectors, then a few spherical
   k-means refinement steps on the full TF-IDF vectors (measurably better
   NMI/ARI than either alone on the benchmark sets), joined from 100 comments
   up with word vectors learnt from the corpus itself (:func:`_word_vectors`:
   PPMI of words in the same comment, SVD to 300 dimensions, each comment the
   TF-IDF-weighted mean of its words), so comments on one subject in different
   words come together.
5. **k** - if not given (:func:`_choose_k`): k-means on a sample of at most
   2,000 smoothed vectors for k on a grid (every k to 10, then ~10 % apart) from
   a floor that grows with the corpus (2 below 1,000 comments, 3 from 1,000,
   7 from 20,000) to sqrt(n/2) for small inputs, about 1.5 sqrt(n) from a few hundred
   comments (at most 60), each scored by the cosine
   silhouette of its clusters on the plain LSA vectors; the first local peak
   that beats the silhouette of shuffled, structureless vectors (else the best k),
   then the fewest themes within 5 % of that peak's silhouette.
6. **Explanations** - distinctive terms from class-based TF-IDF (the terms
   most distinctive of the theme versus the other themes); a readable label,
   a phrase that occurs in the theme's comments (see :func:`_phrase_labels`:
   2-6 words, or 4-12 Chinese characters, scored by frequency in the theme x
   distinctiveness against the other themes), else the most central comment
   trimmed at a word boundary, always short enough for the dashboard's bar
   label column (``LABEL_MAX_EM``); up to five
   representative comments closest to the theme centre (distinct wordings),
   optional trend of counts per day/week/month.

Large inputs: above ``FIT_SAMPLE`` (20,000) distinct comments, steps 2-5 run
on a random sample of that size (always including the largest duplicate
groups) and every other comment joins the theme whose centroid is closest in
the (IDF-weighted) word uni+bigram space already built by the duplicate finder,
which keeps 100,000 comments within seconds and ~0.4 GB.  Measured on
StackOverflow titles with the sample forced to 5,000 of 20,000: NMI 0.737
versus 0.749 when fitting on everything.

Everything is traceable: each theme carries its member indices, and
``ThemeResult.assignments`` maps every input to its theme (or -1 when empty).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize as l2_normalize

from app.clock import naive_utc
from app.periods import period_start, period_starts

from ._text import _CJK_CHARS, _HAS_CJK, CJK_STOP_CHARS, EXTRA_STOP_WORDS, cjk_bigrams, display_term, with_thread_limit
from .duplicates import DuplicateGroup, dedupe

__all__ = ["Theme", "ThemeResult", "find_themes"]

MAX_AUTO_K = 60
#: nearest neighbours averaged into each comment's vector before clustering
_NEIGHBOURS = 10
#: above this many comments the neighbours are sought among a random sample of this size
_NEIGHBOUR_POOL = 10_000
_SVD_DIMS = 50
#: dimensions of the word vectors learnt from the corpus (:func:`_word_vectors`); with the true k (mean of seeds
#: 0-2) 100 / 200 / 300 gave pooled Polis 0.620 / 0.634 / 0.640 and StackOverflow 0.763 / 0.769 / 0.771,
#: Banking77 0.684 / 0.681 / 0.679, AG News and WtP within 0.003
_WORD_DIMS = 300
#: weight of the word-vector part against the TF-IDF part in the spherical k-means steps (squared norms 1 : 0.5)
_WORD_WEIGHT = 0.5
#: fewer comments than this teach nothing about words (24 comments in three clear groups came out mixed with them)
_WORD_MIN_COMMENTS = 100
_SVD_FIT_SAMPLE = 20_000
_ASSIGN = "shingles"  # or "tfidf": how comments outside the fit sample join a theme
#: above this many distinct comments the model is fitted on a random sample of
#: this size and the other comments join the nearest theme (word TF-IDF centroids)
FIT_SAMPLE = 20_000
_K_SAMPLE = 2_000
#: k-means runs averaged per k when choosing k automatically
_K_RUNS = 3
# Up to this many distinct comments clustering starts from the full vectors as well as from LSA (_best_spherical).
_SMALL_K = 300
#: below this many distinct comments automatic k keeps the rule of one k-means run per k (_choose_small_k)
_FEW_K = 100
#: automatic k (_choose_k): the fewest themes whose silhouette is within this fraction of the peak's
_K_TOLERANCE = 0.05
#: k values tried when choosing automatically (every k up to 10, then about 10 % apart)
_K_GRID = (2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26, 30, 35, 40, 45, 50, 60)
_STOP = sorted(set(ENGLISH_STOP_WORDS) | EXTRA_STOP_WORDS | CJK_STOP_CHARS)


@dataclass
class Theme:
    """One theme.

    Attributes:
        id: theme id (0 = largest theme); the value used in ``assignments``.
        label: human-readable label that occurs verbatim (case-insensitively,
            whitespace-normalised) in at least one member comment: a phrase of
            2-6 words (4-12 characters in Chinese), else the most central
            comment trimmed at a word boundary; at most ``LABEL_MAX_EM`` wide.
        terms: up to 8 distinctive terms, best first (c-TF-IDF); shown as a
            secondary line under the label.
        size: number of comments in the theme, every campaign copy counted.
        share: ``size`` divided by the number of non-empty comments.
        distinct: number of distinct comments after collapsing near-duplicates.
        members: indices of all member comments (ascending).
        representatives: up to 5 member indices closest to the theme centre,
            each a different wording (never two copies of one campaign).
        trend: when timestamps were given, ``[(bucket_start, count), ...]`` over
            every bucket of the whole time range (zeros included).
    """

    id: int
    label: str
    terms: list[str]
    size: int
    share: float
    distinct: int
    members: list[int] = field(repr=False)
    representatives: list[int]
    trend: list[tuple[datetime, int]] | None = field(default=None, repr=False)


@dataclass
class ThemeResult:
    """Result of :func:`find_themes`.

    Attributes:
        themes: themes sorted by size (largest first); ``themes[i].id == i``.
        assignments: theme id per input text, -1 for empty/blank texts.
        k: number of themes returned.
        k_requested: the ``k`` argument (None = chosen automatically).
        silhouette: cosine silhouette of the final clustering in LSA space
            (on a sample); None when undefined (fewer than 2 themes).
        n_texts: number of inputs; n_empty: how many were empty.
        campaigns: near-duplicate groups of size >= 2, largest first; each was
            clustered as one weighted point.
        trend_bucket: "day", "week" or "month" when timestamps were given.
        note: plain-language remark for trivial inputs (e.g. "no text"), else "".
        note_code: stable code of ``note`` for translation: "no_input", "empty",
            "identical", "no_words", "one_per_comment", "few", "similar" or "".
    """

    themes: list[Theme]
    assignments: list[int]
    k: int
    k_requested: int | None
    silhouette: float | None
    n_texts: int
    n_empty: int
    campaigns: list[DuplicateGroup] = field(repr=False)
    trend_bucket: str | None = None
    note: str = ""
    note_code: str = ""


# --------------------------------------------------------------------------- features


def _vectorizers(n_docs: int) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    small = n_docs < 50
    common = dict(
        min_df=1 if small else 2,
        max_df=1.0 if n_docs < 20 else 0.5,
        sublinear_tf=True,
        dtype=np.float32,
        lowercase=False,
    )
    word = TfidfVectorizer(
        token_pattern=r"(?u)\b\w+\b", ngram_range=(1, 2), stop_words=_STOP, **common
    )
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), **common)
    return word, char


def _features(docs: list[str]):
    """Combined (word+char) TF-IDF, the word part alone, its vocabulary and the
    fitted word vectorizer (None when there are no usable words)."""
    word_vec, char_vec = _vectorizers(len(docs))
    parts = []
    Xw = vocab = None
    try:
        Xw = word_vec.fit_transform(docs)
        vocab = word_vec.get_feature_names_out()
        parts.append(Xw * math.sqrt(0.5))
    except ValueError:  # empty vocabulary (e.g. only stop words)
        word_vec = None
    try:
        parts.append(char_vec.fit_transform(docs) * math.sqrt(0.5))
    except ValueError:
        pass
    if not parts:
        return sp.csr_matrix((len(docs), 0), dtype=np.float32), None, None, None
    X = sp.hstack(parts).tocsr() if len(parts) > 1 else parts[0].tocsr()
    return l2_normalize(X), Xw, vocab, word_vec


def _lsa(X: sp.csr_matrix, seed: int) -> np.ndarray:
    n, d = X.shape
    dims = min(_SVD_DIMS + 1, d - 1, n - 1)
    if dims < 3:
        Z = X.toarray()
    else:
        svd = TruncatedSVD(dims, random_state=seed, n_iter=4)
        if n > _SVD_FIT_SAMPLE:
            rng = np.random.default_rng(seed)
            svd.fit(X[rng.choice(n, _SVD_FIT_SAMPLE, replace=False)])
            Z = svd.transform(X)
        else:
            Z = svd.fit_transform(X)
        Z = Z[:, 1:]  # first component mostly tracks document length/frequency
    Z = l2_normalize(np.asarray(Z, dtype=np.float64))
    return Z


def _word_vectors(Xw: sp.csr_matrix | None, vocab, seed: int) -> np.ndarray | None:
    """Each comment as the TF-IDF-weighted mean of word vectors learnt from the corpus itself (rows L2-normalised),
    or None below ``_WORD_MIN_COMMENTS`` comments or when there are too few words to learn them.

    The word vectors: positive PMI of two words occurring in the same comment (the context distribution smoothed
    with exponent 0.75), truncated SVD to ``_WORD_DIMS`` dimensions, singular values weighted by their square root,
    rows normalised.  "Words" are the word vectorizer's single tokens (Chinese: its character bigrams).  Two
    comments on one subject in different words ("wage" and "pay") come out close, which the TF-IDF vectors alone
    do not see; see :func:`_spherical_refine` for how they are used."""
    if Xw is None or vocab is None or Xw.shape[0] < _WORD_MIN_COMMENTS:
        return None
    uni = np.fromiter((" " not in t for t in vocab), dtype=bool, count=len(vocab))
    Xu = Xw[:, np.nonzero(uni)[0]].tocsr()
    if Xu.shape[1] < 4:
        return None
    Bn = Xu.copy()
    Bn.data[:] = 1.0
    C = (Bn.T @ Bn).tocsr()  # comments in which both words occur
    C.setdiag(0)
    C.eliminate_zeros()
    if C.nnz == 0:
        return None
    Cc = C.tocoo()
    total = float(Cc.data.sum())
    p_word = np.asarray(C.sum(axis=1)).ravel() / total
    p_ctx = np.asarray(C.sum(axis=0)).ravel() ** 0.75
    p_ctx /= p_ctx.sum()
    pmi = np.log(Cc.data / total / (p_word[Cc.row] * p_ctx[Cc.col]))
    keep = pmi > 0
    if not keep.any():
        return None
    P = sp.csr_matrix((pmi[keep].astype(np.float32), (Cc.row[keep], Cc.col[keep])), shape=C.shape)
    dims = min(_WORD_DIMS, P.shape[0] - 1)
    svd = TruncatedSVD(dims, random_state=seed, n_iter=2)  # 2 power iterations: as good here as 5, 0.5 s less at 100,000
    US = svd.fit_transform(P)
    s = np.maximum(svd.singular_values_, 1e-12)
    W = l2_normalize(US / np.sqrt(s))  # U * sqrt(S)
    return l2_normalize(np.asarray(Xu @ W, dtype=np.float32))


# --------------------------------------------------------------------------- clustering


def _neighbour_smoothed(Z: np.ndarray, seed: int) -> np.ndarray:
    """Each LSA vector averaged with its nearest neighbours (cosine; ``_NEIGHBOURS``, 5-9 for 100-199
    comments so a neighbourhood stays a small part of a theme, none below 100), rows re-normalised.

    Short comments share few words even within one subject, so k-means on them alone
    tends to split the biggest subject and lump the small ones into a "miscellaneous"
    theme; averaging with the nearest comments pulls each comment towards its
    subject.  Measured with the true k (NMI, seeds 0-2): pooled Polis 0.558 -> 0.611,
    WtP 0.356 -> 0.394, Banking77 0.659 -> 0.683, AG News 0.506 -> 0.502.  Above
    ``_NEIGHBOUR_POOL`` comments the neighbours are sought among a random sample of
    that size, which keeps the search linear in n."""
    n = Z.shape[0]
    neighbours = min(_NEIGHBOURS, n // 20)
    if neighbours < 5:
        return Z
    Zf = Z.astype(np.float32)
    ref = np.sort(np.random.default_rng(seed).choice(n, _NEIGHBOUR_POOL, replace=False)) if n > _NEIGHBOUR_POOL else None
    R = Zf if ref is None else Zf[ref]
    out = np.empty_like(Zf)
    for a in range(0, n, 1_000):  # blocks keep the similarity matrix at 1,000 x pool
        block = Zf[a:a + 1_000]
        # the comment itself is its own nearest neighbour, unless it is outside the sample
        take = neighbours + 1 if ref is None else neighbours
        idx = np.argpartition(-(block @ R.T), take - 1, axis=1)[:, :take]
        near = R[idx].sum(axis=1)
        out[a:a + 1_000] = near if ref is None else near + block
    return l2_normalize(out.astype(np.float64))


def _k_range(n: int) -> tuple[int, int]:
    """Smallest and largest k considered automatically for ``n`` distinct comments.

    The floor grows slowly with the corpus (2 below 1,000 comments, 3 from 1,000,
    4 at ~6,000, 7 from 20,000): two themes for thousands of comments tell an
    official nothing, while a large corpus may still have only a few broad subjects
    (AG News: 4 in 7,600 items).  The
    ceiling is sqrt(n/2) for up to 100 comments (a handful of comments per theme
    at least) rising to about 1.5 sqrt(n) from 212 comments, at most
    ``MAX_AUTO_K``: room for corpora with many fine subjects (77 intents in 3,000
    banking queries)."""
    k_lo = int(min(7, max(2 if n < 1_000 else 3, round(math.sqrt(n) / 20))))
    k_hi = int(min(MAX_AUTO_K, max(2, round(math.sqrt(n / 2) * min(1.5 * math.sqrt(2), max(1.0, n / 100)))), n - 1))
    return min(k_lo, k_hi), k_hi


def _choose_k(Z: np.ndarray, Zs: np.ndarray, w: np.ndarray, seed: int) -> tuple[int, float | None]:
    """Automatic k: k-means on the neighbour-smoothed vectors ``Zs`` of a sample, scored by the
    cosine silhouette of those clusters on the plain LSA vectors ``Z`` (mean of ``_K_RUNS``
    runs) for k on the grid from the floor of :func:`_k_range` up, then

    1. the peak: the first local peak whose silhouette beats that of as many clusters of
       structureless data (:func:`_null_reference`: the same vectors with each dimension shuffled
       on its own), else the best k.  A bump no better than noise is not a peak: 264 petitions on
       18 subjects had one at k = 2 (silhouette 0.036 against 0.043 for shuffled vectors).  Nor is
       k = 2 when it is the first k tried (it has no smaller neighbour to rise from; a larger floor
       is kept as a peak): one distinct conversation among others (football among Polis
       conversations) makes the curve fall from 2 to 3 before it climbs, and taking that as a peak
       gave 2 themes in 10 of 42 pools of 3 to 6 real Polis conversations (mean NMI 0.49; 0.55 and
       none with 2 themes without it);
    2. the fewest themes down the peak's flat top: the smaller k as long as the silhouette stays
       within ``_K_TOLERANCE`` below the peak's.  The curve is
       flat around its peak (StackOverflow: 0.391 at 23, 0.406 at 30 and 35 themes for 20 tags);
       among about equally well separated clusterings the one with fewer themes is easier to read,
       as the one-standard-error rule does in cross-validation.

    In LSA space the silhouette creeps up with k, so its maximum is usually the largest k tried;
    the first peak, not the maximum, is the choice, and larger k are not tried once it is found.
    Fewer than ``_FEW_K`` distinct comments keep the rule of :func:`_choose_small_k`: on a
    21-comment consultation with three clear subjects this one chose two themes for 7 of 8 seeds
    (that one 4 of 8)."""
    n = Z.shape[0]
    if n < _FEW_K:
        return _choose_small_k(Z, w, seed)
    k_lo, k_max = _k_range(n)
    if k_max < 2:
        return 1, None
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, _K_SAMPLE, replace=False)) if n > _K_SAMPLE else np.arange(n)
    Zp, Zc, ws = Z[idx], Zs[idx], w[idx]
    if len(np.unique(Zp.round(6), axis=0)) < 2:
        return 1, None
    null: tuple[np.ndarray, np.ndarray] | None = None

    def chosen(peak: int) -> tuple[int, float]:
        i = peak  # down the flat top of the peak, not past a dip to an earlier bump
        while i > 0 and sils[peak] * (1.0 - _K_TOLERANCE) <= sils[i - 1] <= sils[peak]:
            i -= 1
        return ks[i], sils[i]

    ks: list[int] = []
    sils: list[float] = []
    for k in [k for k in _K_GRID if k_lo <= k <= k_max] or [k_max]:
        ks.append(k)
        sils.append(_mean_silhouette(Zp, Zc, ws, k, seed))
        i = len(sils) - 2
        if i >= 0 and sils[i] > sils[i + 1] and (sils[i] >= sils[i - 1] if i else ks[i] > 2):
            null = null or _null_reference(Zp, seed)
            if sils[i] > _mean_silhouette(null[0], null[1], ws, ks[i], seed):
                return chosen(i)
    return chosen(int(np.argmax(sils)))


def _mean_silhouette(Zp: np.ndarray, Zc: np.ndarray, w: np.ndarray, k: int, seed: int) -> float:
    """Mean over ``_K_RUNS`` k-means runs on ``Zc`` of the cosine silhouette of their clusters on ``Zp`` (one
    run's silhouette jitters by more than the differences between neighbouring k); -1 when no run found two
    clusters."""
    runs = []
    for r in range(_K_RUNS):
        labels = KMeans(k, n_init=1, random_state=seed * 100 + r).fit(Zc, sample_weight=w).labels_
        if len(np.unique(labels)) >= 2:
            runs.append(float(silhouette_score(Zp, labels, metric="cosine")))
    return float(np.mean(runs)) if runs else -1.0


def _choose_small_k(Z: np.ndarray, w: np.ndarray, seed: int) -> tuple[int, float | None]:
    """Automatic k for a small consultation (fewer than ``_FEW_K`` distinct comments): the cosine
    silhouette of one k-means run in LSA space for k = 2 .. sqrt(n/2), and the first local peak
    that reaches half of the best silhouette, else the best k."""
    n = Z.shape[0]
    k_max = min(MAX_AUTO_K, max(2, int(math.sqrt(n / 2))), n - 1)
    if k_max < 2 or len(np.unique(Z.round(6), axis=0)) < 2:
        return 1, None
    ks: list[int] = []
    sils: list[float] = []
    for k in [k for k in _K_GRID if k <= k_max]:
        labels = KMeans(k, n_init=1, random_state=seed).fit(Z, sample_weight=w).labels_
        if len(np.unique(labels)) < 2:
            continue
        ks.append(k)
        sils.append(float(silhouette_score(Z, labels, metric="cosine")))
    if not ks:
        return 1, None
    top = max(sils)
    for i in range(len(ks) - 1):
        if sils[i] > sils[i + 1] and sils[i] >= 0.5 * top:
            return ks[i], sils[i]
    i = int(np.argmax(sils))
    return ks[i], sils[i]


def _null_reference(Zp: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Structureless data like ``Zp``: each column shuffled on its own (the same values in every dimension, no
    subjects), rows normalised; and its neighbour-smoothed version, as the real vectors are clustered."""
    rng = np.random.default_rng(seed + 7)
    Zn = l2_normalize(np.column_stack([rng.permutation(Zp[:, j]) for j in range(Zp.shape[1])]))
    return Zn, _neighbour_smoothed(Zn, seed)


def _best_spherical(X: sp.csr_matrix, E: np.ndarray | None, Zs: np.ndarray, w: np.ndarray, k: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Several k-means starts in LSA space, each refined on the full vectors (the TF-IDF vectors ``X`` joined with
    the word-vector comment vectors ``E`` when there are some, see :func:`_spherical_refine`); the one with the
    best spherical objective (weighted cosine to its centre). Returns (labels, centres in the TF-IDF space)."""
    n = X.shape[0]
    # A small consultation is cheap to cluster from the full vectors too, with more starts: from its coarse
    # LSA space alone, 21 comments on three subjects came out as two of them merged and one split.
    starts = [(Zs, r) for r in range(2 if n > 20_000 else 5)]
    joined = None
    if n <= _SMALL_K:
        joined = _joined(X, E)
        starts += [(joined, 100 + r) for r in range(10)]
    best = None
    for space, r in starts:
        km = KMeans(k, n_init=2, random_state=seed * 1000 + r).fit(space, sample_weight=w)
        lab_r, C_r, own = _spherical_refine(X, E, km.labels_.astype(np.int64), w, k, iters=10 if n <= 20_000 else 5)
        if joined is not None:
            # few vectors: judge a start by how well its themes separate (silhouette), which the spherical
            # objective alone does not (it can prefer splitting a subject in two and merging two others)
            obj = (float(silhouette_score(joined, lab_r, metric="cosine")) if len(np.unique(lab_r)) > 1 else -1.0)
        else:
            obj = float((own * w).sum())
        if best is None or obj > best[0]:
            best = (obj, lab_r, C_r)
    assert best is not None  # at least two k-means starts ran
    return best[1], best[2]


def _joined(X: sp.csr_matrix, E: np.ndarray | None) -> sp.csr_matrix:
    """The TF-IDF vectors joined with the word-vector comment vectors (weight ``_WORD_WEIGHT``), rows normalised."""
    if E is None:
        return X
    return l2_normalize(sp.hstack([X, sp.csr_matrix(E * np.float32(math.sqrt(_WORD_WEIGHT)))]).tocsr())


def _spherical_refine(X: sp.csr_matrix, E: np.ndarray | None, labels: np.ndarray, w: np.ndarray, k: int,
                      iters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spherical k-means steps starting from ``labels`` on the full TF-IDF vectors ``X``, joined (when given) with
    the comments' word-vector means ``E`` at weight ``_WORD_WEIGHT`` (:func:`_word_vectors`).

    Measured with the true k (NMI, mean of seeds 0-2), against the TF-IDF vectors alone: StackOverflow 0.740 ->
    0.773, Banking77 0.677 -> 0.680, AG News 0.486 -> 0.566, pooled Polis 0.617 -> 0.639, WtP 0.400 -> 0.398;
    with automatic k 0.622 -> 0.661, 0.654 -> 0.657, 0.433 -> 0.536, 0.580 -> 0.606, 0.212 -> 0.213.  Joining them
    to the LSA vectors as well (before the neighbour smoothing, 100 dimensions) moved the automatic k on small
    corpora and lost on pooled Polis (0.604 with the true k); the weight 0.25 or 1.0 instead of 0.5 was no better.

    Returns (labels, centres in the TF-IDF space (normalised), each comment's similarity to its own centre)."""
    n = X.shape[0]
    Ew = None if E is None else E * np.float32(math.sqrt(_WORD_WEIGHT))

    def centres(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        M = sp.csr_matrix((w, (labels, np.arange(n))), shape=(k, n))
        Cx = np.asarray((M @ X).todense(), dtype=np.float32)
        Ce = None if Ew is None else np.asarray(M @ Ew, dtype=np.float32)
        norm = np.sqrt((Cx**2).sum(axis=1) + (0.0 if Ce is None else (Ce**2).sum(axis=1)))
        alive = norm > 0
        scale = np.where(alive, 1.0 / np.where(alive, norm, 1.0), 0.0).astype(np.float32)[:, None]
        return Cx * scale, None if Ce is None else Ce * scale, alive

    def sims(Cx: np.ndarray, Ce: np.ndarray | None) -> np.ndarray:
        S = np.asarray(X @ Cx.T)
        return S if Ce is None or Ew is None else S + Ew @ Ce.T

    for _ in range(iters):
        Cx, Ce, alive = centres(labels)
        S = sims(Cx, Ce)
        S[:, ~alive] = -np.inf
        new = S.argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    Cx, Ce, _alive = centres(labels)
    own = sims(Cx, Ce)[np.arange(n), labels]
    return labels, l2_normalize(Cx), own


# --------------------------------------------------------------------------- labels & trends


def _label_terms(Xw: sp.csr_matrix | None, vocab, labels: np.ndarray, w_count: np.ndarray, k: int, top: int = 8) -> list[list[str]]:
    if Xw is None or Xw.shape[1] == 0:
        return [[] for _ in range(k)]
    n = Xw.shape[0]
    M = sp.csr_matrix((w_count, (labels, np.arange(n))), shape=(k, n))
    T = np.asarray((M @ Xw).todense(), dtype=np.float64)  # class x term mass
    tf = T / np.maximum(T.sum(axis=1, keepdims=True), 1e-12)
    f_t = T.sum(axis=0)
    avg = T.sum() / max(k, 1)
    idf = np.log1p(avg / np.maximum(f_t, 1e-12))
    scores = tf * idf
    out = []
    for c in range(k):
        order = np.argsort(-scores[c])
        chosen: list[str] = []
        chosen_tokens: set[str] = set()
        for j in order[: 200]:
            if scores[c, j] <= 0:
                break
            term = vocab[j]
            toks = set(term.split())
            shown = display_term(term)
            if len(shown) < 2 or shown.isdigit():
                continue
            if toks <= chosen_tokens:
                continue
            # a bigram absorbs a chosen unigram it contains ("card" -> "card arrive")
            chosen = [t for t in chosen if not (len(t.split()) == 1 and t in toks)]
            chosen.append(term)
            chosen_tokens |= toks
            if len(chosen) >= top:
                break
        out.append([display_term(t) for t in chosen])
    return out


def _trends(times: list[datetime | None], themes_members: list[list[int]]) -> tuple[str | None, list[list[tuple[datetime, int]]]]:
    valid = [t for t in times if t is not None]
    if not valid:
        return None, [[] for _ in themes_members]
    lo, hi = min(valid), max(valid)
    span = hi - lo
    unit = "day" if span <= timedelta(days=45) else "week" if span <= timedelta(days=26 * 7) else "month"
    starts = period_starts(lo.date(), hi.date(), unit)
    buckets = [datetime(d.year, d.month, d.day) for d in starts]
    pos = {d: i for i, d in enumerate(starts)}
    out = []
    for members in themes_members:
        counts = [0] * len(buckets)
        for i in members:
            t = times[i]
            if t is not None:
                counts[pos[period_start(t.date(), unit)]] += 1
        out.append(list(zip(buckets, counts)))
    return unit, out


# --------------------------------------------------------------------------- main entry point


@with_thread_limit
def find_themes(
    texts: Sequence[str],
    *,
    k: int | None = None,
    seed: int = 0,
    timestamps: Sequence[datetime | None] | None = None,
    duplicate_threshold: float = 0.8,
    progress: Callable[[str], None] | None = None,
) -> ThemeResult:
    """Find themes in ``texts``.

    Args:
        texts: the comments (any mix of English and Chinese; None/"" allowed).
        k: number of themes; None chooses it automatically (2 to 60, see
            :func:`_choose_k`).
            When there are fewer distinct comments than ``k``, each distinct
            comment becomes its own theme.
        seed: random seed (results are deterministic for a given seed).
        timestamps: optional creation time per text (None entries allowed);
            adds ``Theme.trend`` with counts per day/week/month.
        duplicate_threshold: cosine threshold for collapsing near-duplicates
            before clustering (see :func:`moderation.analysis.duplicates.group_near_duplicates`);
            1.0 collapses exact (normalised) copies only.
        progress: optional callback receiving short phase descriptions.

    Returns:
        A :class:`ThemeResult`.  Trivial inputs give a clear trivial result:
        no non-empty text -> no themes (all assignments -1); a single distinct
        comment (e.g. all identical) -> one theme.
    """
    say = progress or (lambda _msg: None)
    n = len(texts)
    if k is not None and k < 1:
        raise ValueError("k must be >= 1 (or None for automatic)")
    if timestamps is not None and len(timestamps) != n:
        raise ValueError("timestamps must have one entry per text")
    times = [naive_utc(t) for t in timestamps] if timestamps is not None else None

    say("grouping near-duplicates")
    d = dedupe(texts, threshold=duplicate_threshold, seed=seed)
    n_empty = int((d.group_of < 0).sum())
    campaigns = [
        DuplicateGroup(
            id=g, size=len(m), members=list(m), representative=d.representative[g],
            text=texts[d.representative[g]], variants=d.variants[g],
        )
        for g, m in enumerate(d.groups)
        if len(m) >= 2
    ]
    campaigns.sort(key=lambda c: (-c.size, c.id))
    G = len(d.groups)
    counts = np.array([len(m) for m in d.groups], dtype=np.float64)
    n_nonempty = n - n_empty

    def result(group_label: np.ndarray, n_themes: int, terms, reps, sil, note="") -> ThemeResult:
        assignments = np.full(n, -1, dtype=np.int64)
        nz = d.group_of >= 0
        assignments[nz] = group_label[d.group_of[nz]]
        members = [np.nonzero(assignments == c)[0].tolist() for c in range(n_themes)]
        unit, trends = (None, None)
        labels = _phrase_labels(texts, d, group_label, n_themes, reps)
        if times is not None:
            unit, trends = _trends(times, members)
        themes = [
            Theme(
                id=c,
                label=labels[c],
                terms=terms[c],
                size=len(members[c]),
                share=len(members[c]) / n_nonempty if n_nonempty else 0.0,
                distinct=int((group_label == c).sum()),
                members=members[c],
                representatives=reps[c],
                trend=trends[c] if trends is not None else None,
            )
            for c in range(n_themes)
        ]
        return ThemeResult(
            themes=themes, assignments=assignments.tolist(), k=n_themes, k_requested=k,
            silhouette=sil, n_texts=n, n_empty=n_empty, campaigns=campaigns,
            trend_bucket=unit, note=note, note_code=_note_code(note),
        )

    if G == 0:
        return result(np.zeros(0, dtype=np.int64), 0, [], [], None,
                      note="no non-empty text: nothing to group" if n else "no input")

    assert d.u_index is not None  # dedupe() returns the wording index whenever some text is not empty
    docs_all = [cjk_bigrams(d.norm[d.u_index[r]]) for r in d.representative]
    if G > FIT_SAMPLE:
        # Always include the biggest groups (campaigns), then a random sample.
        rng = np.random.default_rng(seed)
        big = np.argsort(-counts, kind="stable")[: FIT_SAMPLE // 10]
        rest_pool = np.setdiff1d(np.arange(G), big)
        fit_idx = np.sort(np.concatenate([big, rng.choice(rest_pool, FIT_SAMPLE - len(big), replace=False)]))
    else:
        fit_idx = np.arange(G)
    Gf = len(fit_idx)
    docs = [docs_all[i] for i in fit_idx]
    counts_f = counts[fit_idx]
    say(f"vectorising {Gf} distinct comments" + (f" (sample of {G})" if Gf < G else ""))
    X, Xw, vocab, word_vec = _features(docs)

    def single_theme(note: str) -> ThemeResult:
        lab = np.zeros(G, dtype=np.int64)
        terms = _label_terms(Xw, vocab, lab[fit_idx], counts_f, 1)
        order = np.argsort(-counts, kind="stable")[:5]
        return result(lab, 1, terms, [[d.representative[g] for g in order]], None, note=note)

    if G == 1:
        return single_theme("all comments are (near-)identical: one theme")
    if X.shape[1] == 0:
        return single_theme("no usable words in the comments: one theme")

    w_cluster = 1.0 + np.log(counts_f)
    if k is not None and k >= G:
        lab = np.arange(G)
        order = np.argsort(-counts, kind="stable")
        lab[order] = np.arange(G)
        terms = _label_terms(Xw, vocab, lab, counts, G) if Gf == G else [[] for _ in range(G)]
        reps = [[d.representative[g]] for g in order]
        return result(lab, G, terms, reps, None,
                      note=f"only {G} distinct comments: one theme per distinct comment")

    say("reducing dimensions (LSA)")
    Z = _lsa(X, seed)
    E = _word_vectors(Xw, vocab, seed)
    Zs = _neighbour_smoothed(Z, seed)
    if k is None:
        say("choosing the number of themes")
        k_use, _ = _choose_k(Z, Zs, w_cluster, seed)
        if k_use == 1:
            return single_theme("too few distinct comments to split into themes: one theme" if G <= 3
                                else "comments are too similar to split into themes: one theme")
    else:
        k_use = min(k, Gf)
    if k_use == 1:
        return single_theme("")

    say(f"clustering into {k_use} themes")
    labels_f, C = _best_spherical(X, E, Zs, w_cluster, k_use, seed)

    labels = np.zeros(G, dtype=np.int64)
    labels[fit_idx] = labels_f
    Xw_all = Xw
    if Gf < G:
        say(f"assigning the other {G - Gf} comments to the nearest theme")
        rest = np.setdiff1d(np.arange(G), fit_idx)
        largest = int(np.argmax(np.bincount(labels_f, weights=counts_f, minlength=k_use)))
        if d.shingles is not None and _ASSIGN == "shingles":
            # Reuse the duplicate finder's word uni+bigram shingles (IDF-weighted):
            # no second pass of tokenisation over the other comments.
            S = d.shingles[d.u_index[np.asarray(d.representative)]]
            used, inv = np.unique(S.indices, return_inverse=True)
            df = np.bincount(inv, minlength=len(used))
            idf = (np.log((1.0 + G) / (1.0 + df)) + 1.0).astype(np.float32)
            S = l2_normalize(sp.csr_matrix((idf[inv], inv, S.indptr), shape=(G, len(used))))
            M = sp.csr_matrix((w_cluster, (labels_f, np.arange(Gf))), shape=(k_use, Gf))
            Cs = l2_normalize(np.asarray((M @ S[fit_idx]).todense(), dtype=np.float32))
            S_rest = S[rest]
            sims = np.asarray(S_rest @ Cs.T)
            labels[rest] = np.where(np.diff(S_rest.indptr) > 0, sims.argmax(axis=1), largest)
        elif word_vec is not None:
            M = sp.csr_matrix((w_cluster, (labels_f, np.arange(Gf))), shape=(k_use, Gf))
            Cw = l2_normalize(np.asarray((M @ Xw).todense(), dtype=np.float32))
            Xw_rest = word_vec.transform([docs_all[i] for i in rest])
            sims = np.asarray(Xw_rest @ Cw.T)
            has_words = np.diff(Xw_rest.indptr) > 0
            labels[rest] = np.where(has_words, sims.argmax(axis=1), largest)
            Xw_all = sp.vstack([Xw, Xw_rest]).tocsr()[np.argsort(np.concatenate([fit_idx, rest]))]
        else:
            labels[rest] = largest

    # Renumber by size (all copies counted), dropping emptied clusters.
    size = np.bincount(labels, weights=counts, minlength=k_use)
    kept = [c for c in np.argsort(-size, kind="stable") if size[c] > 0]
    remap = np.full(k_use, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    labels = remap[labels]
    labels_f = labels[fit_idx]
    C = C[kept]
    k_final = len(kept)

    say("describing themes")
    sim = np.asarray(X @ C.T)[np.arange(Gf), labels_f]  # cosine to own centre
    reps = []
    for c in range(k_final):
        idx = np.nonzero(labels_f == c)[0]
        top = idx[np.argsort(-sim[idx], kind="stable")[:5]]
        reps.append([d.representative[fit_idx[g]] for g in top])
    if Xw_all is not None and Xw_all.shape[0] == G:
        terms = _label_terms(Xw_all, vocab, labels, counts, k_final)
    else:
        terms = _label_terms(Xw, vocab, labels_f, counts_f, k_final)

    sil = None
    if k_final >= 2:
        rng = np.random.default_rng(seed)
        sidx = rng.choice(Gf, _K_SAMPLE, replace=False) if Gf > _K_SAMPLE else np.arange(Gf)
        if len(np.unique(labels_f[sidx])) >= 2 and len(sidx) > len(np.unique(labels_f[sidx])):
            sil = float(silhouette_score(Z[sidx], labels_f[sidx], metric="cosine"))
    return result(labels, k_final, terms, reps, sil)


_NOTE_CODES = (
    ("no input", "no_input"), ("no non-empty text", "empty"), ("all comments are (near-)identical", "identical"),
    ("no usable words", "no_words"), ("only ", "one_per_comment"), ("too few distinct", "few"),
    ("comments are too similar", "similar"),
)


def _note_code(note: str) -> str:
    return next((code for prefix, code in _NOTE_CODES if note.startswith(prefix)), "")


# --------------------------------------------------------------------------- readable labels

#: Widest automatic label, in em (a wide/CJK character counts 1 em, any other
#: 0.6 em, as app/charts.py measures text): the dashboard's theme bars give
#: their labels 188 px at 13 px, about 14.5 em, so an automatic label is drawn
#: whole, never shortened.
LABEL_MAX_EM = 14.0
_LABEL_SAMPLE = 600  # distinct comments per theme read when choosing its label
_LABEL_TEXT_CHARS = 2_000  # of each, the beginning read (long petitions stay quick)
_EDGE_STOP = frozenset(_STOP) | {"http", "https", "www", "com"}
_CJK_STOP_WORDS = tuple(w for w in CJK_STOP_CHARS if len(w) > 1)
_LATIN_WORD = re.compile(r"(?:(?![" + _CJK_CHARS + r"])[^\W_])+(?:['’](?:(?![" + _CJK_CHARS + r"])[^\W_])+)*")
_CJK_RUN_RAW = re.compile(f"[{_CJK_CHARS}]+")
_CLAUSE_END = re.compile(r"[.!?;:,。！？；：，、]")


def _edge_stop(word: str) -> bool:
    """A lower-cased word that may not start or end a label: a stop word, a number, or a contraction of a stop
    word ("it's", "don't")."""
    if word in _EDGE_STOP or word.isdigit():
        return True
    if "'" in word or "’" in word:
        plain = word.replace("’", "'")
        return plain.split("'")[0] in _EDGE_STOP or plain.replace("'", "") in _EDGE_STOP
    return False


def _em_width(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def _phrases(text: str) -> dict[str, tuple[str, str]]:
    """Candidate label phrases of one comment, {key (lower-cased): (surface form, next word)}: runs of 2-6 words
    with only spaces between them (no punctuation inside) that neither start nor end with a stop word, and
    contiguous runs of 4-12 Chinese characters that do not start or end with a function character/word.  The
    next word is the (non-stop) word that follows the phrase directly, else ""."""
    out: dict[str, tuple[str, str]] = {}
    for run in _CJK_RUN_RAW.findall(text):
        for n in range(4, min(12, len(run)) + 1):
            for a in range(len(run) - n + 1):
                sub = run[a:a + n]
                if (sub[0] in CJK_STOP_CHARS or sub[-1] in CJK_STOP_CHARS or sub.startswith(_CJK_STOP_WORDS)
                        or sub.endswith(_CJK_STOP_WORDS)):
                    continue
                out.setdefault(sub, (sub, ""))
    words = list(_LATIN_WORD.finditer(text))
    chunk: list[str] = []
    chunks = [chunk]
    for j, m in enumerate(words):
        if j and text[words[j - 1].end():m.start()].strip():  # punctuation (or CJK) between the words
            chunk = []
            chunks.append(chunk)
        chunk.append(m.group(0))
    for chunk in chunks:
        low = [w.lower() for w in chunk]
        for a in range(len(chunk)):
            if _edge_stop(low[a]):
                continue
            for b in range(a + 2, min(a + 6, len(chunk)) + 1):
                if _edge_stop(low[b - 1]):
                    continue
                surface = " ".join(chunk[a:b])
                if _em_width(surface) > LABEL_MAX_EM:
                    break
                after = low[b] if b < len(low) and not _edge_stop(low[b]) else ""
                out.setdefault(" ".join(low[a:b]), (surface, after))
    return out


def _phrase_words(phrase: str) -> float:
    """Length of a phrase in words (two Chinese characters count as about one word)."""
    cjk = sum(len(run) for run in _CJK_RUN_RAW.findall(phrase))
    return len(_LATIN_WORD.findall(phrase)) + cjk / 2


def _trimmed(text: str) -> str:
    """A comment trimmed at a word boundary (or, in Chinese, between characters) to at most ``LABEL_MAX_EM``:
    its first clause when that fits, else its first words; never ends on a stop word when it can avoid it."""
    t = " ".join(str(text).split()).rstrip(" .,;:!?。，；：！？")
    if _em_width(t) <= LABEL_MAX_EM:
        return t
    first = _CLAUSE_END.split(t, maxsplit=1)[0].strip()
    if _em_width(first) <= LABEL_MAX_EM and (len(first.split()) >= 2 or _HAS_CJK.search(first) and len(first) >= 4):
        return first
    words = t.split(" ")
    out: list[str] = []
    for w in words:
        if _em_width(" ".join(out + [w])) > LABEL_MAX_EM:
            if not out:  # one long word or an unspaced Chinese sentence: cut between characters
                cut = ""
                for ch in w:
                    if _em_width(cut + ch) > LABEL_MAX_EM:
                        break
                    cut += ch
                out = [cut]
            break
        out.append(w)
    while len(out) > 2 and _edge_stop(out[-1].lower().strip(".,;:!?")):
        out.pop()
    return " ".join(out).rstrip(" ,;:")


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:] if label[:1].islower() else label


def _phrase_labels(texts: Sequence[str], d, group_label: np.ndarray, k: int, reps: list[list[int]]) -> list[str]:
    """One readable label per theme (see :class:`Theme`); never changes the themes themselves.

    Candidates are the phrases of the theme's distinct comments (a campaign counts once, weighted
    ``1 + ln(copies)`` as in clustering) occurring in at least two of them; each scores its share of the theme's
    comments times ``log(1 + share in theme / share in the other themes)`` (frequency x distinctiveness), with a
    small bonus per extra word so a longer phrase wins when it is about as frequent.  Without such a phrase the
    label is the theme's most central comment, trimmed."""
    if k == 0:
        return []
    rng = np.random.default_rng(0)
    counts = np.array([len(m) for m in d.groups], dtype=np.float64)
    weight = 1.0 + np.log(np.maximum(counts, 1.0))
    df: list[dict[str, float]] = []
    surface: dict[str, str] = {}
    cut: set[tuple[int, str]] = set()
    mass = np.zeros(k)
    for c in range(k):
        groups = np.nonzero(group_label == c)[0]
        if len(groups) > _LABEL_SAMPLE:
            groups = np.sort(rng.choice(groups, _LABEL_SAMPLE, replace=False))
        seen: dict[str, float] = {}
        followed: dict[tuple[str, str], float] = {}
        for g in groups:
            for key, (surf, after) in _phrases(str(texts[d.representative[g]] or "")[:_LABEL_TEXT_CHARS]).items():
                seen[key] = seen.get(key, 0.0) + weight[g]
                if key not in surface or surface[key].isupper() and not surf.isupper():  # not SHOUTED if avoidable
                    surface[key] = surf
                if after:
                    followed[key, after] = followed.get((key, after), 0.0) + weight[g]
        # a phrase nearly always followed by the same word is cut short ("President of the United")
        for (key, _after), v in followed.items():
            if v >= 0.9 * seen[key]:
                cut.add((c, key))
        df.append(seen)
        mass[c] = weight[groups].sum() if len(groups) else 0.0
    total: dict[str, float] = {}
    for seen in df:
        for key, v in seen.items():
            total[key] = total.get(key, 0.0) + v
    ranked: list[list[tuple[float, str]]] = []
    for c in range(k):
        n_in, n_out = mass[c] or 1.0, (mass.sum() - mass[c])
        eps = 1.0 / (n_out + 1.0)
        scored = []
        for key, v in df[c].items():
            if v < 2.0 - 1e-9 or (c, key) in cut:  # must occur in at least two distinct comments, whole
                continue
            p_in = v / n_in
            p_out = (total[key] - v) / n_out if n_out else 0.0
            bonus = 1.0 + 0.15 * (_phrase_words(surface[key]) - 2)
            scored.append((p_in * math.log1p(p_in / (p_out + eps)) * bonus, key))
        scored.sort(key=lambda x: (-x[0], x[1]))
        ranked.append(scored[:50])
    # Two themes never share a label: the theme with the strongest phrase chooses first.
    labels = [""] * k
    taken: set[str] = set()
    for c in sorted(range(k), key=lambda c: -(ranked[c][0][0] if ranked[c] else 0.0)):
        chosen = next((key for _, key in ranked[c] if key not in taken), None)
        if chosen is not None:
            taken.add(chosen)
            labels[c] = _capitalised(surface[chosen])
        elif reps[c]:
            labels[c] = _capitalised(_trimmed(texts[reps[c][0]]))
    return labels
