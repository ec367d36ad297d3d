"""Hashed character + word n-gram TF-IDF features, vectorised with numpy.

Why not `TfidfVectorizer`?  Its n-gram generation and vocabulary lookups are
per-character Python loops, which cap scoring at roughly 1,300 posts/s.  Here
character n-grams of the whole batch are hashed with vectorised numpy
arithmetic over the UTF-32 code points, so the feature space is bounded
(2**CHAR_BITS + 2**WORD_BITS columns) and a batch of tweets featurises at
tens of thousands of posts per second.

Semantics follow scikit-learn's `char_wb` analyser: n-grams are taken inside
each whitespace-separated word padded with one space on either side (so they
never cross words; Chinese runs without spaces are one "word", which is what
we want: no segmentation).  Word n-grams are `\\w+` tokens without Han
characters (unigrams and bigrams).  Both blocks use sublinear tf, smooth idf, and L2 normalisation per
block, like a `FeatureUnion` of two `TfidfVectorizer`s.  An optional third
block holds binary word-unigram presence at a fixed value, and an optional
fourth block the few hand-written lexicon features of `lexicon.py` (counts
of profanities, insults, slurs and threats, scaled by a fixed value).
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .lexicon import N_COLUMNS as N_LEXICON, lexicon_hits

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_P = np.uint64(0x100000001B3)  # FNV prime, used as polynomial base
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
# Word tokens: runs of word characters *excluding* Han characters.  Chinese is
# written without spaces, so `\w+` would make every clause one "word" (pure
# memorisation); Chinese is covered by the character n-grams instead.
_WORD_RE = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads polynomial hashes over all 64 bits."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


@dataclass
class CharGrams:
    """Every character n-gram occurrence of a batch."""

    doc: np.ndarray  # document index of each occurrence
    bucket: np.ndarray  # hashed column
    start: np.ndarray  # start offset in `codes`
    length: np.ndarray  # n
    word: np.ndarray  # global word (segment) index
    codes: np.ndarray  # the concatenated padded code points (0 = separator)
    seg_words: list  # segment index -> the word (None for document separators)
    seg_doc: list  # segment index -> document index (-1 for none)
    sep_pos: np.ndarray  # positions of the separators; segment s spans (sep_pos[s-1], sep_pos[s])


def char_grams(texts: Sequence[str], ngrams: tuple[int, int], bits: int) -> CharGrams:
    lo, hi = ngrams
    pieces = []
    seg_words: list = [None]
    seg_doc: list = [-1]
    for d, t in enumerate(texts):
        # " w1 \0 w2 \0" ... and a separator after every document.
        words = t.split()
        pieces.append("\x00".join(f" {w} " for w in words) + "\x00")
        if words:
            seg_words.extend(words)
            seg_doc.extend([d] * len(words))
        else:
            seg_words.append(None)
            seg_doc.append(-1)
    joined = "\x00" + "".join(pieces) + "\x00" * hi
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    sep = codes == 0
    # document of each position: documents are delimited by their trailing separator.
    doc_lens = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    pos_doc = np.empty(len(codes), dtype=np.int64)
    pos_doc[0] = -1
    ends = 1 + np.cumsum(doc_lens)
    pos_doc[1 : ends[-1] if len(ends) else 1] = np.repeat(np.arange(len(pieces)), doc_lens)
    pos_doc[ends[-1] if len(ends) else 1 :] = -1
    word = np.cumsum(sep)

    L = len(codes)
    h = codes.copy()
    valid = ~sep
    docs, buckets, starts, lengths = [], [], [], []
    shift = np.uint64(64 - bits)
    for n in range(1, hi + 1):
        if n > 1:
            m = L - n + 1
            h = h[:m] * _P + codes[n - 1 : n - 1 + m]
            valid = valid[:m] & ~sep[n - 1 : n - 1 + m]
        if n < lo:
            continue
        idx = np.flatnonzero(valid)
        if len(idx) == 0:
            continue
        hb = _mix(h[idx] ^ np.uint64(n * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)) >> shift
        docs.append(pos_doc[idx])
        buckets.append(hb.astype(np.int64))
        starts.append(idx)
        lengths.append(np.full(len(idx), n, dtype=np.int64))
    if docs:
        cat = np.concatenate
        st = cat(starts)
        return CharGrams(cat(docs), cat(buckets), st, cat(lengths), word[st], codes, seg_words, seg_doc, np.flatnonzero(sep))
    e = np.empty(0, dtype=np.int64)
    return CharGrams(e, e, e, e, e, codes, seg_words, seg_doc, np.flatnonzero(sep))


def _stable_hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8", "surrogatepass"))


def word_grams(
    texts: Sequence[str], ngrams: tuple[int, int], bits: int
) -> tuple[np.ndarray, np.ndarray, list[list[str]], np.ndarray]:
    """(doc indices, buckets, per-doc lists of n-gram strings in bucket order, unigram mask)."""
    lo, hi = ngrams
    mask = (1 << bits) - 1
    docs: list[int] = []
    buckets: list[int] = []
    terms: list[list[str]] = []
    uni: list[bool] = []
    for d, t in enumerate(texts):
        toks = _WORD_RE.findall(t)
        grams: list[str] = []
        for n in range(lo, hi + 1):
            if n == 1:
                grams.extend(toks)
                uni.extend([True] * len(toks))
            else:
                more = [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
                grams.extend(more)
                uni.extend([False] * len(more))
        terms.append(grams)
        docs.extend([d] * len(grams))
        buckets.extend((_stable_hash(g) * 0x9E3779B1 >> 7) & mask for g in grams)
    return (
        np.asarray(docs, dtype=np.int64),
        np.asarray(buckets, dtype=np.int64),
        terms,
        np.asarray(uni, dtype=bool),
    )


class HashedTfidf:
    """Fit idf weights over hashed char + word n-grams; transform to a CSR matrix."""

    def __init__(
        self,
        char_ngrams: tuple[int, int] = (1, 4),
        char_bits: int = 21,
        word_ngrams: tuple[int, int] = (1, 2),
        word_bits: int = 19,
        min_df: int = 2,
        presence_bits: int = 18,
        presence_scale: float = 0.0,
        lexicon_scale: float = 0.0,
    ):
        self.char_ngrams = tuple(char_ngrams)
        self.char_bits = char_bits
        self.word_ngrams = tuple(word_ngrams)
        self.word_bits = word_bits
        self.min_df = min_df
        # Optional third block: binary presence of word unigrams with a fixed
        # value `presence_scale` (no length normalisation, so one slur in a
        # long post still counts fully).  0 disables the block.
        self.presence_bits = presence_bits
        self.presence_scale = presence_scale
        # Optional fourth block: lexicon.N_COLUMNS hand-written lexicon
        # features times `lexicon_scale`.  0 disables the block.
        self.lexicon_scale = lexicon_scale
        self.char_idf: np.ndarray | None = None
        self.word_idf: np.ndarray | None = None

    @property
    def n_char(self) -> int:
        return 1 << self.char_bits

    @property
    def n_word(self) -> int:
        return 1 << self.word_bits

    @property
    def n_presence(self) -> int:
        return (1 << self.presence_bits) if self.presence_scale else 0

    @property
    def n_lexicon(self) -> int:
        # getattr: artifacts pickled before the lexicon block existed lack the attribute.
        return N_LEXICON if getattr(self, "lexicon_scale", 0.0) else 0

    @property
    def n_features(self) -> int:
        return self.n_char + self.n_word + self.n_presence + self.n_lexicon

    def lexicon(self, texts: Sequence[str]) -> sparse.csr_matrix | None:
        if not self.n_lexicon:
            return None
        values, _hits = lexicon_hits(texts)
        return sparse.csr_matrix(values * self.lexicon_scale)

    def presence(self, texts: Sequence[str]) -> sparse.csr_matrix | None:
        if not self.presence_scale:
            return None
        wd, wb, _, uni = word_grams(texts, (1, 1), self.word_bits)
        pb = wb & ((1 << self.presence_bits) - 1)
        m = sparse.csr_matrix((np.ones(len(wd)), (wd, pb)), shape=(len(texts), self.n_presence))
        m.sum_duplicates()
        m.data[:] = self.presence_scale
        return m

    def counts(self, texts: Sequence[str]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        n = len(texts)
        cg = char_grams(texts, self.char_ngrams, self.char_bits)
        c = sparse.csr_matrix(
            (np.ones(len(cg.doc), dtype=np.float64), (cg.doc, cg.bucket)), shape=(n, 1 << self.char_bits)
        )
        wd, wb, _, _ = word_grams(texts, self.word_ngrams, self.word_bits)
        w = sparse.csr_matrix((np.ones(len(wd), dtype=np.float64), (wd, wb)), shape=(n, 1 << self.word_bits))
        c.sum_duplicates()
        w.sum_duplicates()
        return c, w

    def _idf(self, X: sparse.csr_matrix) -> np.ndarray:
        n = X.shape[0]
        df = np.bincount(X.indices, minlength=X.shape[1])
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[df < self.min_df] = 0.0
        return idf

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        c, w = self.counts(texts)
        self.char_idf = self._idf(c)
        self.word_idf = self._idf(w)
        return self._weight(c, w, self.presence(texts), self.lexicon(texts))

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._weight(*self.counts(texts), self.presence(texts), self.lexicon(texts))

    @staticmethod
    def _tfidf(X: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
        X = X.copy()
        X.data = (np.log(X.data) + 1.0) * idf[X.indices]
        sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        norms = np.sqrt(sq)
        norms[norms == 0] = 1.0
        X.data /= np.repeat(norms, np.diff(X.indptr))
        X.eliminate_zeros()
        return X

    def _weight(
        self,
        c: sparse.csr_matrix,
        w: sparse.csr_matrix,
        p: sparse.csr_matrix | None = None,
        lex: sparse.csr_matrix | None = None,
    ) -> sparse.csr_matrix:
        assert self.char_idf is not None and self.word_idf is not None, "not fitted"
        blocks = [self._tfidf(c, self.char_idf), self._tfidf(w, self.word_idf)]
        if p is not None:
            blocks.append(p)
        if lex is not None:
            blocks.append(lex)
        return sparse.hstack(blocks, format="csr")
