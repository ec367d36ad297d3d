"""Text normalisation and cheap language detection for the abuse classifier.

`normalise` is the single cleaning function used both when training and when
scoring, so the features a moderator sees explained are the features the model
was trained on.  It must never raise: it is called on arbitrary user input.
"""
from __future__ import annotations

import functools
import html
import logging
import re
import unicodedata

from .lexicon import _WORD_CAT
from .lexicons import lexicon

MAX_CHARS = 5_000

# Tokens that replace URLs, @mentions and numbers (datasets already use
# placeholders such as "<user>", "@USER", "URL", "<number>"; we map all of them
# onto the same tokens so that source artefacts do not become features).
URL_TOKEN = "xurlx"
USER_TOKEN = "xuserx"
NUMBER_TOKEN = "0"

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028-\u202f]")
# Zero-width characters and soft hyphens split a word invisibly ("id\u200biot"): removed, not spaced.
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b-\u200f\u2060-\u206f\ufeff\u180e]")
# Emoji and pictographs carry no abuse signal of their own, and a smiley must not cancel a slur.
_EMOJI_RE = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u20E3]+")
# Latin look-alikes from Cyrillic and Greek, used to dodge word filters ("іdіоt"); applied only to words
# that also contain Latin letters, so Russian or Greek text is left alone.
_CONFUSABLES = str.maketrans("аеорсухіјѕԁԛԝкмнтвАЕОРСХІЈЅКМНТВαοικνρτυχεΑΒΕΗΙΚΜΝΟΡΤΥΧΖ",
                             "aeopcyxijsdqwkmhtbaeopcxijskmhtbaoiknptuxeabehikmnoptyxz")
_GREEK_CYRILLIC_RE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_WORD_RE = re.compile(r"\w+")
# Masked spellings ("f**k", "sh#t"): a word with letters and mask characters, resolved against the
# lexicon's [mask] words of the same length.
_MASKED_RE = re.compile(r"(?<![\w*#%])(?=[a-z*#%]*[a-z])(?=[a-z*#%]*[*#%])[a-z*#%]{3,12}(?![\w*#%])")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\burl\b|<url>", re.IGNORECASE)
_MENTION_RE = re.compile(r"@\w+|<user>", re.IGNORECASE)
_NUMBER_PLACEHOLDER_RE = re.compile(r"<number>", re.IGNORECASE)
_HTML_TAG_RE = re.compile(r"<[^<>]{0,200}>")
_RT_RE = re.compile(r"^(?:rt\s+)+|(?<=\s)rt(?=\s+" + USER_TOKEN + ")")
# Leetspeak: a substitute character is only rewritten when it sits *inside* a
# word (letter on both sides), so ordinary numbers ("2024", "covid 19") and
# punctuation ("hello!") survive.
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "!": "i", "|": "l", "$": "s", "+": "t"}
_LEET_INTERIOR_RE = re.compile(r"(?<=[a-z])[0134578@!|$+]+(?=[a-z])")
# "$" is also used at word edges: "$hit", "a$$".
_DOLLAR_EDGE_RE = re.compile(r"(?<=[a-z])\$+|\$+(?=[a-z])")
_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
# Spacing obfuscation: three or more single letters separated by one
# separator character ("f u c k", "f.u.c.k", "f-u-c-k", "f_u_c_k").
_SPACED_RE = re.compile(r"(?<![^\W\d_])(?:[a-z][ .\-_*]){2,}[a-z](?![^\W\d_])")
_SPACED_SEP_RE = re.compile(r"[ .\-_*]")
_REPEAT_RE = re.compile(r"(.)\1{2,}", re.DOTALL)
_HASHTAG_RE = re.compile(r"#(?=\w)")
# CamelCase hashtags are split into words before lowercasing:
# "#BuildTheWall" -> "#Build The Wall", "#MAGA" stays, "#GoUSA2020" -> "#Go USA2020".
_CAMEL_TAG_RE = re.compile(r"#[A-Za-z][A-Za-z0-9]*[a-z][A-Z][A-Za-z0-9]*")
_CAMEL_SPLIT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WS_RE = re.compile(r"\s+")


def _coerce(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text).decode("utf-8", "replace")
    if not isinstance(text, str):
        text = str(text)
    return text


def _unconfuse(match: re.Match[str]) -> str:
    word = match.group(0)
    if _GREEK_CYRILLIC_RE.search(word) and any("a" <= ch.lower() <= "z" for ch in word):
        return word.translate(_CONFUSABLES)
    return word


def _leet_interior(match: re.Match[str]) -> str:
    return "".join(_LEET[c] for c in match.group(0))


def normalise(text: object) -> str:
    """Return the canonical form of `text` used for features.

    NFKC, camel-case hashtags split into words ("#BuildTheWall" -> "build the
    wall"), lowercase, HTML entities/tags removed, URLs/mentions/numbers mapped to
    placeholder tokens, in-word leetspeak undone ("sh1t" -> "shit"), spaced-out
    words joined ("f u c k" -> "fuck"), runs of 3+ identical characters
    collapsed to 2, whitespace collapsed.  Input is truncated to MAX_CHARS.
    Never raises for str/bytes/None input.
    """
    text = _coerce(text)[: MAX_CHARS * 2]
    if not text:
        return ""
    # Drop lone surrogates / undecodable bits, then control and zero-width chars.
    text = text.encode("utf-8", "ignore").decode("utf-8", "ignore")
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE_RE.sub("", text)
    if _HAN_RE.search(text):
        text = to_simplified(text)
    if _GREEK_CYRILLIC_RE.search(text):
        text = _WORD_RE.sub(_unconfuse, text)
    text = html.unescape(html.unescape(text)) if "&" in text else text
    if "#" in text:
        text = _CAMEL_TAG_RE.sub(lambda m: _CAMEL_SPLIT_RE.sub(" ", m.group(0)), text)
    text = text.lower()
    text = _URL_RE.sub(f" {URL_TOKEN} ", text)
    if "@" in text or "<" in text:
        text = _MENTION_RE.sub(f" {USER_TOKEN} ", text)
    if "<" in text:
        text = _NUMBER_PLACEHOLDER_RE.sub(f" {NUMBER_TOKEN} ", text)
        text = _HTML_TAG_RE.sub(" ", text)
    text = _CONTROL_RE.sub(" ", text)
    if "#" in text:
        text = _HASHTAG_RE.sub("", text)
    if "$" in text:
        text = _DOLLAR_EDGE_RE.sub(lambda m: "s" * len(m.group(0)), text)
    text = _LEET_INTERIOR_RE.sub(_leet_interior, text)
    if "*" in text or "#" in text or "%" in text:
        text = _MASKED_RE.sub(_unmask, text)
    text = _LEET_EDGE_RE.sub(_leet_word, text)
    text = _EMOJI_RE.sub(" ", text)
    text = _strip_friendly_frames(text)
    text = _DIGITS_RE.sub(NUMBER_TOKEN, text)
    text = _SPACED_RE.sub(lambda m: _SPACED_SEP_RE.sub("", m.group(0)), text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    text = _replace_variants(text)
    text = _WS_RE.sub(" ", text).strip()
    text = _RT_RE.sub("", text).strip()
    return text[:MAX_CHARS]


_converter = None
_converter_failed = False


def to_simplified(text: str) -> str:
    """Traditional to Simplified Chinese with OpenCC (t2s), so both scripts reach the same features."""
    global _converter, _converter_failed
    if _converter is None and not _converter_failed:
        try:
            import opencc  # deferred: optional; scoring goes on without it (the except below)

            _converter = opencc.OpenCC("t2s")
        except Exception:  # noqa: BLE001 - scoring must go on without the converter
            _converter_failed = True
            logging.getLogger("civic.moderation").warning("OpenCC unavailable: Traditional Chinese is scored as written")
    return _converter.convert(text) if _converter is not None else text


@functools.lru_cache(maxsize=1)
def _tables():
    en, zh = lexicon("en"), lexicon("zh")
    masks: dict[int, list[str]] = {}
    for word in en.masks:
        masks.setdefault(len(word), []).append(word)
    strip = (tuple(re.compile(p) for p in en.strip), tuple(re.compile(p) for p in zh.strip))
    anywhere = {v: c for v, c, zh_only in zh.replacements if v.isascii() and not zh_only}
    # in Chinese text the ambiguous initialisms ("sb", "nt") are replaced too
    in_chinese = {**anywhere, **{v: c for v, c, zh_only in zh.replacements if v.isascii() and zh_only}}
    latin_any = _token_regex(anywhere), anywhere
    latin_zh = _token_regex(in_chinese), in_chinese
    han = sorted(((v, c) for v, c, _ in zh.replacements if not v.isascii()), key=lambda vc: -len(vc[0]))
    han_re = re.compile("|".join(re.escape(v) for v, _ in han)) if han else None
    return masks, strip, latin_any, latin_zh, dict(han), han_re


# Leetspeak at a word's edge ("1d10t", "5hit") is only undone when the result is a known abusive word:
# "m25" or "covid19" must stay as they are.
_LEET_EDGE_RE = re.compile(r"(?<![\w])(?=[a-z0-9@$!|+]*[0-9])(?=[a-z0-9@$!|+]*[a-z])[a-z0-9@$!|+]{3,14}(?![\w])")


@functools.lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    masks = _tables()[0]
    return frozenset(w for words in masks.values() for w in words) | frozenset(_WORD_CAT)


def _leet_word(match: re.Match[str]) -> str:
    token = match.group(0)
    plain = "".join(_LEET.get(c, c) for c in token)
    return plain if plain in _known_words() else token


def _unmask(match: re.Match[str]) -> str:
    token = match.group(0)
    for word in _tables()[0].get(len(token), ()):
        if all(t == w or t in "*#%" for t, w in zip(token, word)):
            return word
    return token


def _strip_friendly_frames(text: str) -> str:
    latin, han = _tables()[1]
    for pattern in latin:
        text = pattern.sub(" ", text)
    if _HAN_RE.search(text) or "[" in text or "23" in text:
        for pattern in han:
            text = pattern.sub(" ", text)
    return text


def _token_regex(table: dict[str, str]):
    if not table:
        return None
    alternatives = "|".join(sorted(map(re.escape, table), key=len, reverse=True))
    return re.compile(f"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")


def _replace_variants(text: str) -> str:
    """Pinyin initialisms and homophones to the words they stand for ("nmsl", "草泥马")."""
    _masks, _strip, latin_any, latin_zh, han, han_re = _tables()
    has_han = bool(_HAN_RE.search(text))
    pattern, table = latin_zh if has_han else latin_any
    if pattern is not None and pattern.search(text):
        text = pattern.sub(lambda m: table[m.group(0)], text)
    if han_re is not None and has_han:
        text = han_re.sub(lambda m: han[m.group(0)], text)
    return text


_HAN_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_HAN_RE = re.compile(f"[{_HAN_CHARS}]")
_KANA_HANGUL_RE = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff]")
_LATIN_RE = re.compile(r"[a-zA-Z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
_LETTER_RE = re.compile(r"[^\W\d_]")


def detect_language(text: object) -> str:
    """Cheap script-ratio language guess: "en", "zh" or "other".

    Looks at up to the first 2,000 characters (NFKC-normalised).  Han
    characters make up >= 30% of letters -> "zh" (unless kana/hangul show it is
    Japanese/Korean); Latin letters >= 60% -> "en" (the only Latin-script
    language the model is trained on); anything else (Cyrillic, Arabic,
    emoji only, empty...) -> "other".
    """
    text = _coerce(text)[:2000]
    if not text:
        return "other"
    text = unicodedata.normalize("NFKC", text.encode("utf-8", "ignore").decode("utf-8", "ignore"))
    letters = len(_LETTER_RE.findall(text))
    if letters == 0:
        return "other"
    han = len(_HAN_RE.findall(text))
    if han:
        kana = len(_KANA_HANGUL_RE.findall(text))
        if kana < max(1, han // 10) and han / letters >= 0.3:
            return "zh"
    latin = len(_LATIN_RE.findall(text))
    if latin / letters >= 0.6:
        return "en"
    return "other"
