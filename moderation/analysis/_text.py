"""Shared text normalisation for the feedback-analysis functions.

Every function in this package (themes, near-duplicates, similarity) sees text
through :func:`normalise`, so "the same comment" means the same thing everywhere.

The normalised form is designed for scikit-learn's default word tokenizer:
CJK ideographs (and kana/hangul) are separated by spaces, so each character
becomes a token and word bigrams become character bigrams — the usual way to
index Chinese without a segmenter.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from threadpoolctl import threadpool_limits  # every importer of this module loads scikit-learn, which loads it

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


_CJK_RUN = re.compile(f"[{_CJK_CHARS}](?: [{_CJK_CHARS}])*")


def _run_to_bigrams(m: re.Match) -> str:
    chars = m.group(0).split(" ")
    if len(chars) == 1:
        return chars[0]
    return " ".join(a + b for a, b in zip(chars, chars[1:]))


def cjk_bigrams(normalised: str) -> str:
    """Turn each run of CJK characters of a :func:`normalise`-d text into
    overlapping character bigrams ("公 車 誤 點" -> "公車 車誤 誤點"), the usual
    indexing unit for Chinese without a word segmenter.  Used for TF-IDF
    features (themes, similarity); latin words are left alone."""
    if not _HAS_CJK.search(normalised):
        return normalised
    return _CJK_RUN.sub(_run_to_bigrams, normalised)


def display_term(term: str) -> str:
    """Make a feature term readable: undo CJK spacing and merge overlapping
    CJK bigrams ("公車 車站" -> "公車站")."""
    parts = term.split(" ")
    if len(parts) > 1 and all(_HAS_CJK.match(p) and len(p) == 2 for p in parts) and all(
        a[1] == b[0] for a, b in zip(parts, parts[1:])
    ):
        return parts[0] + "".join(p[1] for p in parts[1:])
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
CJK_STOP_CHARS = frozenset("""
    希望 應該 应该 我們 我们 他們 他们 可以 沒有 没有 就是 因為 因为 所以 如果 但是 這個 这个 那個 那个
    什麼 什么 已經 已经 還是 还是 覺得 觉得 認為 认为 非常 一個 一个 這樣 这样 不是 的是 是不 不要
    """.split()) | frozenset("的 了 是 在 和 與 与 及 或 也 都 就 而 但 並 并 我 你 他 她 們 们 這 这 那 有 不 要 會 会 之 其 為 为 以 於 于 對 对 被 把 讓 让 很 更 等 嗎 吗 呢 吧 啊".split())


_threads = 1  # set once by the composition root from Settings.analysis_threads (CIVIC_ANALYSIS_THREADS)


def set_thread_count(n: int) -> None:
    """Cap the analysis functions at `n` BLAS/OpenMP threads (at least 1). The cap is process-wide, like the
    thread pools of the BLAS libraries it limits."""
    global _threads
    _threads = max(1, int(n))


def thread_limit():
    """Context manager capping BLAS/OpenMP threads for the analysis functions.

    On shared, busy servers (web workers, other jobs) oversubscribed OpenMP
    threads make k-means and dense products many times slower; one thread per
    call is predictable.  Operators change it with the CIVIC_ANALYSIS_THREADS setting.
    """
    return threadpool_limits(limits=_threads)


def with_thread_limit(fn):
    """Decorator running ``fn`` under :func:`thread_limit`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with thread_limit():
            return fn(*args, **kwargs)

    return wrapper
