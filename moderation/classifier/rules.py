"""Category rules: the reviewed patterns of `data/civic_<lang>.txt` over normalised text.

Why rules at all: no shipped corpus labels threats, intimidation, sexual harassment or encouragement of
self-harm, and the tweet corpora barely contain civic threats ("I know where you live", "watch your back").
So each category has patterns; their hits are also features of the learnt model (so insults and group hate,
which the corpora do label, are weighed by data), and routing holds the categories a city must never
publish unreviewed (`ModerationSettings.held_categories`). Patterns of both languages run on every post: a
Chinese thread can carry English abuse and the reverse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from .lexicons import CATEGORIES, LANGUAGES, lexicon

N_FEATURES = len(CATEGORIES)
CATEGORIES_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
# Categories that come from the patterns alone; insults and group hate are learnt from labelled corpora.
RULE_ONLY = ("threat", "intimidation", "selfharm", "sexual")
_MAX_TERM = 60


@dataclass(frozen=True)
class Hit:
    category: str
    term: str


_HAN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[a-z]")


_LITERAL_RE = re.compile(r"(?<![\\a-z])[a-z][a-z']+")
_TOKEN_RE = re.compile(r"[a-z0-9']+")
_PREFIX = 4


def _triggers(pattern: str) -> frozenset[str]:
    """Four-letter prefixes of the literal words in an English pattern. Every alternative of a pattern
    names at least one word, so a text none of whose words starts with one of these cannot match:
    the pattern is skipped (most posts then cost a set lookup instead of twenty regex scans)."""
    return frozenset(w[:_PREFIX] for w in _LITERAL_RE.findall(pattern))


@lru_cache(maxsize=1)
def _compiled() -> dict[str, tuple[tuple[str, re.Pattern[str], frozenset[str] | None], ...]]:
    """Per language, (category, pattern, triggers) in CATEGORIES order; one pattern per line (Python's re
    handles a long alternation of anchored lines much more slowly than the lines one by one)."""
    return {
        lang: tuple(
            (c, re.compile(p), _triggers(p) if lang == "en" else None)
            for c in CATEGORIES for p in lexicon(lang).patterns.get(c, ())
        )
        for lang in LANGUAGES
    }


@lru_cache(maxsize=1)
def _trigger_index() -> dict[str, tuple[int, ...]]:
    """Four-letter prefix -> the English patterns that name a word starting with it."""
    index: dict[str, list[int]] = {}
    for i, (_category, _pattern, triggers) in enumerate(_compiled()["en"]):
        for prefix in triggers or ():
            index.setdefault(prefix, []).append(i)
    return {k: tuple(v) for k, v in index.items()}


def hits(norm_text: str) -> list[Hit]:
    """Every category match in a normalised text, in CATEGORIES order (the first is the top category)."""
    found: list[Hit] = []
    if not norm_text:
        return found
    compiled = _compiled()
    langs = [lang for lang, present in (("en", _LATIN_RE.search(norm_text)), ("zh", _HAN_RE.search(norm_text))) if present]
    candidates: set[int] = set()
    if "en" in langs:
        index = _trigger_index()
        for token in set(_TOKEN_RE.findall(norm_text)):
            candidates.update(index.get(token[:_PREFIX], ()))
    for lang in langs:
        for i, (category, pattern, triggers) in enumerate(compiled[lang]):
            if triggers is not None and i not in candidates:
                continue
            for m in pattern.finditer(norm_text):
                term = m.group(0).strip()
                if term:
                    found.append(Hit(category, term[:_MAX_TERM]))
    found.sort(key=lambda h: CATEGORIES_INDEX[h.category])
    return found


def top_category(found: list[Hit]) -> str:
    return found[0].category if found else ""


def features(norm_texts) -> sparse.csr_matrix:
    """One column per category: 1 when the category's patterns match the text."""
    rows, cols = [], []
    for d, text in enumerate(norm_texts):
        for category in {h.category for h in hits(text)}:
            rows.append(d)
            cols.append(CATEGORIES_INDEX[category])
    data = np.ones(len(rows))
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(norm_texts), N_FEATURES))
