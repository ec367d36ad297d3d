"""The only module that imports nh3: rich-text cleaning, plain-text linkifying and stripping."""
from __future__ import annotations

import html
import re

import nh3

_RICH_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
    "a", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}
_RICH_ATTRS = {"a": {"href", "title"}, "th": {"scope"}}
_URL = re.compile(r"(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])", re.IGNORECASE)


def clean_rich_text(value: str) -> str:
    """Sanitize officials' rich text down to a small allowlist; links get rel=noopener nofollow."""
    return nh3.clean(
        value or "",
        tags=_RICH_TAGS,
        attributes=_RICH_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    )


def strip_all(value: str) -> str:
    """Remove every tag, returning plain text (entities decoded)."""
    return html.unescape(nh3.clean(value or "", tags=set()))


def linkify_plain(text: str) -> str:
    """Render residents' plain text as safe HTML: escaped, paragraphs kept, http(s) links made clickable."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (text or "").strip()) if p.strip()]
    out = []
    for para in paragraphs:
        escaped = html.escape(para)
        linked = _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
        out.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    # Run the result through the sanitizer too, so a mistake above can never emit unsafe markup.
    return nh3.clean("".join(out), tags={"p", "br", "a"}, attributes={"a": {"href"}},
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow ugc")
