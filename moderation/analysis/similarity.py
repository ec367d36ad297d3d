"""Find texts similar to a new one, e.g. "similar open petitions" before someone
starts a duplicate petition.

TF-IDF over word uni+bigrams and character 3-5-grams (within word boundaries)
of the shared normalisation, so it works for English, Chinese (character
tokens) and typos; scores are cosine similarities in [0, 1].
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from ._text import CJK_STOP_CHARS, cjk_bigrams, normalise

__all__ = ["SimilarityIndex"]


class SimilarityIndex:
    """An in-memory TF-IDF index over ``texts``.

    >>> idx = SimilarityIndex(["Build a new bike lane on Main Street", "Lower bus fares"])
    >>> idx.query("bike lanes on main street")[0][0]
    0

    The index is immutable; rebuild it when the set of texts changes (building
    is fast: tens of thousands of petitions per second).
    """

    def __init__(self, texts: Sequence[str]):
        self.size = len(texts)
        docs = [cjk_bigrams(normalise(t)) for t in texts]
        self._word = TfidfVectorizer(
            token_pattern=r"(?u)\b\w+\b", ngram_range=(1, 2), sublinear_tf=True, lowercase=False,
            stop_words=sorted(set(ENGLISH_STOP_WORDS) | CJK_STOP_CHARS), dtype=np.float32,
        )
        self._char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=False, dtype=np.float32,
        )
        self._parts = []
        mats = []
        for vec in (self._word, self._char):
            try:
                mats.append(vec.fit_transform(docs))
                self._parts.append(vec)
            except ValueError:  # empty vocabulary (no texts, or nothing but stop words)
                pass
        self._matrix = self._combine(mats) if mats else None

    def _combine(self, mats: list[sp.csr_matrix]) -> sp.csr_matrix:
        w = 1.0 / np.sqrt(len(mats))
        X = sp.hstack([m * w for m in mats]).tocsr()
        return l2_normalize(X)

    def scores(self, text: str) -> np.ndarray:
        """Cosine similarity of ``text`` to every indexed text (zeros if nothing indexed)."""
        if self._matrix is None or not text:
            return np.zeros(self.size, dtype=np.float32)
        doc = [cjk_bigrams(normalise(text))]
        q = self._combine([vec.transform(doc) for vec in self._parts])
        return np.asarray((self._matrix @ q.T).todense()).ravel()

    def query(self, text: str, k: int = 5, min_score: float = 0.2) -> list[tuple[int, float]]:
        """Up to ``k`` ``(index, score)`` pairs with score >= ``min_score``, best first.

        Indices refer to the ``texts`` given to the constructor; ties are broken
        by index.  Empty text or an empty index returns ``[]``.
        """
        if k <= 0:
            return []
        s = self.scores(text)
        if s.size == 0:
            return []
        cand = np.nonzero(s >= min_score)[0]
        if cand.size == 0:
            return []
        order = cand[np.lexsort((cand, -s[cand]))][:k]
        return [(int(i), float(round(s[i], 6))) for i in order]
