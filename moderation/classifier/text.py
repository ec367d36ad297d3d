"""Text normalisation and cheap language detection for the abuse classifier.

`normalise` is the single cleaning function used both when training and when
scoring, so the features a moderator sees explained are the features the model
was trained on.  It must never raise: it is called on arbitrary user input.
"""
from __future__ import annotations

import html
import re
import unicodedata

MAX_CHARS = 5_000

# Tokens that replace URLs, @mentions and numbers (datasets already use
# placeholders such as "<user>", "@USER", "URL", "<number>"; we map all of them
# onto the same tokens so that source artefacts do not become features).
URL_TOKEN = "xurlx"
USER_TOKEN = "xuserx"
NUMBER_TOKEN = "0"

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
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
    text = _DIGITS_RE.sub(NUMBER_TOKEN, text)
    text = _SPACED_RE.sub(lambda m: _SPACED_SEP_RE.sub("", m.group(0)), text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    text = _WS_RE.sub(" ", text).strip()
    text = _RT_RE.sub("", text).strip()
    return text[:MAX_CHARS]


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
