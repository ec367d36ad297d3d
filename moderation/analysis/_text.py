"""Shared text normalisation for the feedback-analysis functions.

Every function in this package (themes, near-duplicates, similarity) sees text
through :func:`normalise`, so "the same comment" means the same thing everywhere.

The normalised form is designed for scikit-learn's default word tokenizer:
CJK ideographs (and kana/hangul) are separated by spaces, so each character
becomes a token and word bigrams become character bigrams — the usual way to
index Chinese without a segmenter.
"""
from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
# CJK Unified Ideographs (+ Ext A), CJK compatibility ideographs, hiragana,
# katakana, hangul syllables.
_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK = re.compile(f"([{_CJK_CHARS}])")
_HAS_CJK = re.compile(f"[{_CJK_CHARS}]")
# Anything that is not a letter/number/CJK becomes a space (punctuation, emoji, ...).
_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
_CJK_PAIR = re.compile(f"([{_CJK_CHARS}]) (?=[{_CJK_CHARS}])")


def normalise(text: str | None) -> str:
    """Lower-cased, NFKC-folded, punctuation-free text with CJK characters spaced.

    URLs and e-mail addresses are replaced by placeholder tokens so copy-paste
    campaigns that differ only in a link still match. Returns "" for None/blank.
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    if "http" in t or "www." in t:
        t = _URL.sub(" urltoken ", t)
    if "@" in t:
        t = _EMAIL.sub(" emailtoken ", t)
    t = _NON_WORD.sub(" ", t)
    if _HAS_CJK.search(t):
        t = _CJK.sub(r" \1 ", t)
    return " ".join(t.split())


def display_term(term: str) -> str:
    """Undo the CJK spacing of :func:`normalise` for showing a term to people."""
    return _CJK_PAIR.sub(r"\1", term)


#: A small English stop list (scikit-learn's is used in addition for TF-IDF);
#: kept here so labels never consist of function words.
EXTRA_STOP_WORDS = frozenset(
    """
    urltoken emailtoken im ive dont doesnt didnt cant wont isnt arent wasnt
    would could should also get got use using used one two like just may might
    must shall will can make made want need way new
    """.split()
)

#: Very frequent Chinese function characters (single-character tokens).
CJK_STOP_CHARS = frozenset("的 了 是 在 和 與 与 及 或 也 都 就 而 但 並 并 我 你 他 她 們 们 這 这 那 有 不 要 會 会 之 其 為 为 以 於 于 對 对 被 把 讓 让 很 更 等 嗎 吗 呢 吧 啊".split())


def thread_limit():
    """Context manager capping BLAS/OpenMP threads for the analysis functions.

    On shared, busy servers (web workers, other jobs) oversubscribed OpenMP
    threads make k-means and dense products many times slower; one thread per
    call is predictable.  Override with the CIVIC_ANALYSIS_THREADS env var.
    """
    import os

    from threadpoolctl import threadpool_limits

    try:
        n = max(1, int(os.environ.get("CIVIC_ANALYSIS_THREADS", "1")))
    except ValueError:
        n = 1
    return threadpool_limits(limits=n)


def with_thread_limit(fn):
    """Decorator running ``fn`` under :func:`thread_limit`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with thread_limit():
            return fn(*args, **kwargs)

    return wrapper
