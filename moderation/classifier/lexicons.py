"""The reviewed lexicon files (`data/civic_en.txt`, `data/civic_zh.txt`), parsed once.

Why files and not Python lists: moderators and translators review them, and each file carries the note on how
it was written. The format is described at the top of each file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES = ("en", "zh")
# Order matters: when several categories match, the first one listed is the post's top category.
CATEGORIES = ("threat", "intimidation", "selfharm", "sexual", "hate", "insult")
_SECTION_RE = re.compile(r"^\[(\w+)\]\s*$")


@dataclass(frozen=True)
class Lexicon:
    language: str
    masks: tuple[str, ...] = ()
    replacements: tuple[tuple[str, str, bool], ...] = ()   # (variant, canonical, only in Han text)
    strip: tuple[str, ...] = ()
    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    examples: tuple[tuple[int, str, str], ...] = ()          # (label, category, text)


def _parse(text: str, language: str) -> Lexicon:
    sections: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _SECTION_RE.match(line.strip())
        if m:
            current = m.group(1)
            sections.setdefault(current, [])
            continue
        if current is None:
            raise ValueError(f"civic_{language}.txt: entry before any [section]: {line!r}")
        sections[current].append(line.strip() if current != "examples" else line)
    replacements = []
    for line in sections.get("replace", []):
        variant, _, rest = line.partition("=>")
        canonical, _, flag = rest.strip().partition(" @")
        replacements.append((variant.strip(), canonical.strip(), flag.strip() == "zh"))
    examples = []
    for line in sections.get("examples", []):
        label, category, body = line.split("\t", 2)
        examples.append((int(label), category.strip(), body.strip()))
    patterns = {c: tuple(sections.get(c, ())) for c in CATEGORIES}
    masks = tuple(w for line in sections.get("mask", []) for w in line.split())
    return Lexicon(language, masks, tuple(replacements), tuple(sections.get("strip", ())), patterns, tuple(examples))


@lru_cache(maxsize=None)
def lexicon(language: str) -> Lexicon:
    path = DATA_DIR / f"civic_{language}.txt"
    return _parse(path.read_text(encoding="utf-8"), language)


def civic_examples(language: str) -> tuple[list[str], list[int]]:
    lex = lexicon(language)
    return [t for _, _, t in lex.examples], [label for label, _, _ in lex.examples]
