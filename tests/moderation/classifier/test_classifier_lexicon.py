from __future__ import annotations

import pytest

from moderation.classifier.lexicon import CATEGORIES, COLUMNS, lexicon_hits, token_category
from moderation.classifier.text import normalise


def _columns(text: str) -> dict[str, float]:
    values, _hits = lexicon_hits([normalise(text)])
    return dict(zip(COLUMNS, values[0].tolist()))


@pytest.mark.parametrize(
    ("raw", "category"),
    [
        ("sh1t", "profanity"),
        ("f u c k", "profanity"),
        ("motherfucker", "profanity"),
        ("fuuuuuck", "profanity"),  # normalised to "fuuck", matched with doubled letters made single
        ("stuuupid", "insult"),
        ("nitwit", "insult"),
        ("n1gg3r", "slur"),
        ("lynched", "threat"),
    ],
)
def test_obfuscated_and_inflected_words_find_their_category(raw, category):
    (token,) = normalise(raw).split()
    assert CATEGORIES[token_category(token)] == category


@pytest.mark.parametrize(
    "text",
    [
        "The trash pickup on Elm Street was missed again",
        "Gas prices went up; hang the notice on the board",
        "My assistant will attend the class, hello everyone",
        "",
        "这个政策对老百姓很有帮助",
    ],
)
def test_ordinary_civic_posts_have_no_lexicon_features(text):
    assert not any(_columns(text).values())


def test_insult_addressed_to_you_is_its_own_feature():
    addressed = _columns("you are an idiot")
    assert addressed["insult"] > 0 and addressed["addressed"] == 1.0
    third_person = _columns("he is an idiot")
    assert third_person["insult"] > 0 and third_person["addressed"] == 0.0
    assert _columns("oh shut up")["phrase"] == 1.0


def test_counts_grow_with_repeats_and_hits_name_the_words():
    one = _columns("idiot")["insult"]
    three = _columns("idiot moron idiot")["insult"]
    assert three > one > 0
    _values, hits = lexicon_hits(["what a moron", "nice day", "shut up idiot"])
    assert sorted((d, term) for d, term, _cols in hits) == [(0, "moron"), (2, "idiot"), (2, "shut up")]
