"""A small hand-written English abuse lexicon, used as a handful of extra features.

Why: the shipped English corpora are narrow (Davidson's keyword-sampled
tweets, HateXplain's Gab/Twitter posts), so an n-gram model learns each
insult only as often as those corpora happen to use it, and learns topic
words alongside.  A few lexicon *category* features (how many profanities /
insults / slurs / threats a post contains, whether an insult is addressed to
"you") let the weights learned from frequent words carry over to rare or
unseen ones from the same category, which helps most across corpora (see the
validation history in training.py).  The weights of these features are
learned from the training data like any other feature; the list only says
which words belong together.

The list was written for Civic by its maintainers (not copied from any other
project).  It is deliberately short and contains only words whose abusive
reading is the usual one (so no "trash", "garbage", "gas" or "hang", which
residents use about bins, prices and notice boards, and no "disgraceful", "pathetic", "useless",
"incompetent" or "filthy", which angry but civil residents say of decisions, services and streets; aimed at a
person, those words are caught by the insult patterns of data/civic_en.txt instead).  Matching is done on `text.normalise` output
(lowercase, leetspeak and spacing undone, so "sh1t" and "s h i t" arrive as
"shit"), token by token.  Stems in `SUBSTRING_STEMS` match anywhere inside a
token ("motherfucker", "bitchass"); everything else must be the whole token.
A token that does not match as it is gets a second try with doubled letters
made single ("fuuck", "stuupid"; the normaliser leaves two of a run), against
the entries of four letters or more.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

CATEGORIES = ("profanity", "insult", "slur", "threat")

# Stems that are (practically) never part of an innocent word.
SUBSTRING_STEMS: dict[str, tuple[str, ...]] = {
    "profanity": ("fuck", "fuk", "fck", "shit", "bitch", "cunt", "whore", "slut", "wank", "dickhead", "asshole"),
    "slur": ("nigg", "fagg", "kike", "wetback", "towelhead", "raghead", "sandnig"),
}

# Whole tokens.
WORDS: dict[str, str] = {
    "profanity": """
        ass asses arse arses damn damned goddamn dammit hell crap crappy piss pissed pissing dick dicks
        cock cocks pussy pussies bastard bastards twat twats prick pricks douche douches douchebag hoe hoes
        thot thots skank skanks bollocks stfu gtfo wtf fk fkn fking fkin effing frigging motherfkr mf
        """,
    "insult": """
        idiot idiots idiotic stupid stupidity moron morons moronic dumb dumber dumbest dumbass dumbasses dummy
        imbecile imbeciles retard retards retarded loser losers scum scumbag scumbags clown clowns fool fools
        jerk jerks liar liars creep creeps creepy coward cowards cowardly traitor traitors hypocrite
        hypocrites lunatic lunatics psycho psychos nutjob nutjobs lowlife lowlifes degenerate degenerates
        worthless brainless dimwit dimwits halfwit nitwit numbskull cretin cretins buffoon buffoons dork dorks
        twit twits weirdo weirdos freak freaks sicko sickos pervert perverts pedo pedos pedophile pedophiles
        parasite parasites vermin subhuman subhumans thug thugs sleazy sleazebag jackass jackasses dipshit
        dipshits shithead shitheads sucker suckers
        """,
    "slur": """
        nigga niggas nigger niggers niggaz fag fags faggot faggots dyke dykes spic spics coon coons gook
        gooks paki pakis kikes muzzie muzzies muzrat muzrats mudslime mudslimes homo homos tranny trannies
        chink chinks beaner beaners negroid shemale
        """,
    "threat": """
        kill killed killing murder murdered lynch lynched lynching rape raped raping rapist rapists
        hanged shoot stab stabbed behead beheaded exterminate exterminated gassed
        """,
}

SECOND_PERSON = frozenset("you your youre ur u yall ya yourself yourselves".split())
PHRASES = ("shut up", "go to hell", "screw you", "piss off", "get lost", "kill yourself", "die in a")

# Feature columns: log(1 + count) per category, "any lexicon word", an
# insult or profanity in a post that addresses "you", a hostile phrase.
COLUMNS = (*CATEGORIES, "any", "addressed", "phrase")
N_COLUMNS = len(COLUMNS)

_CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
_WORD_CAT: dict[str, int] = {w: _CAT_INDEX[c] for c, ws in WORDS.items() for w in ws.split()}
_STEM_RE = re.compile("|".join(sorted((s for ss in SUBSTRING_STEMS.values() for s in ss), key=len, reverse=True)))
_STEM_CAT = {s: _CAT_INDEX[c] for c, ss in SUBSTRING_STEMS.items() for s in ss}
_PHRASE_RE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in PHRASES) + r")\b")
# Same tokens as the word n-grams of model.py (word characters other than Han).
_TOKEN_RE = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")
_ADDRESSED = (_CAT_INDEX["profanity"], _CAT_INDEX["insult"])


_DOUBLE_RE = re.compile(r"(.)\1+")


def _first(match: re.Match[str]) -> str:
    return match.group(1)


def _collapse(token: str) -> str:
    return _DOUBLE_RE.sub(_first, token)


_COLLAPSED_CAT: dict[str, int] = {}
for _w, _c in _WORD_CAT.items():
    if len(_collapse(_w)) >= 4:
        _COLLAPSED_CAT.setdefault(_collapse(_w), _c)
# token -> category, filled as tokens are seen (bounded; cleared when full).
_CACHE: dict[str, int] = {}
_CACHE_MAX = 200_000


def token_category(token: str) -> int:
    """Category index (into CATEGORIES) of one normalised token, or -1."""
    cat = _CACHE.get(token)
    if cat is not None:
        return cat
    cat = _WORD_CAT.get(token, -1)
    if cat < 0:
        m = _STEM_RE.search(token)
        if m:
            cat = _STEM_CAT[m.group(0)]
        elif _DOUBLE_RE.search(token):
            single = _collapse(token)
            cat = _COLLAPSED_CAT.get(single, -1)
            if cat < 0:
                m = _STEM_RE.search(single)
                cat = _STEM_CAT[m.group(0)] if m else -1
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[token] = cat
    return cat


def lexicon_hits(texts: Sequence[str]):
    """For normalised texts: (values [n_docs, N_COLUMNS], hits).

    `hits` lists (doc, term, columns) for every matched token or phrase, so
    that explanations can credit the columns' weights to the words behind them.
    """
    values = np.zeros((len(texts), N_COLUMNS))
    hits: list[tuple[int, str, tuple[int, ...]]] = []
    any_col, addr_col, phrase_col = len(CATEGORIES), len(CATEGORIES) + 1, len(CATEGORIES) + 2
    get = _CACHE.get
    for d, text in enumerate(texts):
        toks = _TOKEN_RE.findall(text)
        doc_hits = []
        for tok in toks:
            cat = get(tok)
            if cat is None:
                cat = token_category(tok)
            if cat >= 0:
                doc_hits.append((tok, cat))
        if doc_hits:
            row = values[d]
            counts = [0] * len(CATEGORIES)
            for _tok, cat in doc_hits:
                counts[cat] += 1
            for c, n in enumerate(counts):
                if n:
                    row[c] = np.log1p(n)
            row[any_col] = 1.0
            addressed = any(c in _ADDRESSED for _, c in doc_hits) and not SECOND_PERSON.isdisjoint(toks)
            if addressed:
                row[addr_col] = 1.0
            for tok, cat in doc_hits:
                cols = (cat, any_col, addr_col) if addressed and cat in _ADDRESSED else (cat, any_col)
                hits.append((d, tok, cols))
        phrases = _PHRASE_RE.findall(text)
        if phrases:
            values[d, phrase_col] = 1.0
            hits.extend((d, p, (phrase_col,)) for p in phrases)
    return values, hits
