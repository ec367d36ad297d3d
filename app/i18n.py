"""Translations: Babel catalogs per package, merged at start, chosen per request.

Each package owns `<package>/translations/<locale>/LC_MESSAGES/messages.po`; English is the source
language. The locale comes from the visitor's choice (cookie), then Accept-Language, then the default.
"""
from __future__ import annotations

import contextvars
import io
import re
import functools
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from babel import negotiate_locale
from babel.core import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import LazyProxy, NullTranslations, Translations

LOCALES = ("en", "zh-Hans")
LOCALE_NAMES = {"en": "English", "zh-Hans": "中文（简体）"}
COOKIE = "civic_locale"
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "petitions", "consultations", "moderation")

_current: contextvars.ContextVar[NullTranslations] = contextvars.ContextVar("civic_translations")
_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("civic_locale", default="en")
_catalogs: dict[str, NullTranslations] = {}
_NUM = re.compile(r"%\(num\)[sd]")


def _babel_name(locale: str) -> str:
    return locale.replace("-", "_")


def catalog_paths(locale: str) -> list[Path]:
    name = _babel_name(locale)
    return [ROOT / pkg / "translations" / name / "LC_MESSAGES" / "messages.po" for pkg in PACKAGES]


def _compile(locale: str) -> NullTranslations:
    merged: Translations | None = None
    # Later catalogs override earlier ones for the same msgid: the shared app catalog goes last, so a
    # string the whole site uses reads the same on every page.
    for path in reversed(catalog_paths(locale)):
        if not path.is_file():
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=_babel_name(locale))
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        translations = Translations(fp=buf)
        if merged is None:
            merged = translations
        else:
            merged.merge(translations)
    return merged or NullTranslations()


def load_catalogs() -> None:
    """Compile every catalog in memory (no .mo build step). Called once by create_app."""
    for locale in LOCALES:
        _catalogs[locale] = _compile(locale)


def translations_for(locale: str) -> NullTranslations:
    if not _catalogs:
        load_catalogs()
    return _catalogs.get(locale) or _catalogs.get("en") or NullTranslations()


def current_locale() -> str:
    return _current_locale.get()


def gettext(message: str, **variables) -> str:
    translations = _current.get(None) or translations_for(current_locale())
    text = translations.gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    """Plural message; `%(num)s` (or `%(num)d`) is `n` written for the locale ("10,201 signatures")."""
    translations = _current.get(None) or translations_for(current_locale())
    text = translations.ngettext(singular, plural, n)
    if "num" not in variables:
        # Only `num` here: Jinja's ngettext calls this without the template's other variables and fills them in.
        text = _NUM.sub(format_number(n).replace("%", "%%"), text)
    return text % variables if variables else text.replace("%%", "%")


# ----- formatting: every date and number on a page or in an e-mail goes through these (Babel, per locale) -----

def babel_locale(locale: str | None = None) -> str:
    return "zh_Hans_CN" if (locale or current_locale()) == "zh-Hans" else "en_GB"


def format_number(value) -> str:
    """A count or amount with the locale's separators: 10,201."""
    return "" if value is None else format_decimal(value, locale=babel_locale())


def _parse(value):
    """Dates that travelled as ISO text (job payloads, JSON metadata) are formatted like the others."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    except ValueError:
        return None


def format_date(value) -> str:
    """The one date style of the site: "3 December 2026" (zh: "2026年12月3日")."""
    value = _parse(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _format_date(value, format="long", locale=babel_locale())


def format_datetime(value) -> str:
    """A moment: the site's date style and the time to the minute: "3 December 2026, 18:17"."""
    value = _parse(value)
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return format_date(value)
    locale = babel_locale()
    pattern = str(Locale.parse(locale).datetime_formats["medium"])
    return pattern.replace("{1}", format_date(value)).replace("{0}", format_time(value, "HH:mm", locale=locale))


def text_language(text: str) -> str:
    """"zh-Hans" for a text mostly in Chinese characters, "en" for one in Latin letters, "" for neither."""
    text = text or ""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if not cjk and not latin:
        return ""
    return "zh-Hans" if cjk and cjk * 3 >= latin else "en"


def lazy_gettext(message: str, **variables) -> LazyProxy:
    """For module-level strings: translated when rendered, in the locale of that moment."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


@contextmanager
def use_locale(locale: str):
    """Render something (an e-mail, a page) in `locale`, restoring the previous one afterwards."""
    locale = locale if locale in LOCALES else "en"
    t1 = _current.set(translations_for(locale))
    t2 = _current_locale.set(locale)
    try:
        yield
    finally:
        _current.reset(t1)
        _current_locale.reset(t2)


# What Babel may pick from an Accept-Language header, and the site locale each one means. A bare `zh` (and any
# `zh-*`, Traditional-script tags included: closer than English for most readers) gets simplified Chinese.
_NEGOTIABLE = {"en": "en", "zh": "zh-Hans", "zh-hans": "zh-Hans"}


def parse_accept_language(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first (by q-value, then order); q=0 and `*`
    are left out."""
    weighted = []
    for position, part in enumerate(header.split(",")[:40]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 40:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


@functools.lru_cache(maxsize=2048)  # asked on every request (and by the page cache in front of the app)
def negotiate_accept_language(header: str) -> str | None:
    """The site locale that best matches an Accept-Language header (Babel's negotiation), or None."""
    found = negotiate_locale(parse_accept_language(header), list(_NEGOTIABLE), sep="-")
    return _NEGOTIABLE.get(found.lower()) if found else None


def negotiate(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    """The locale of a request: the visitor's choice (cookie), then Accept-Language, then the default."""
    if cookie_value in LOCALES:
        return cookie_value
    found = negotiate_accept_language(accept_language) if accept_language else None
    if found:
        return found
    return default if default in LOCALES else "en"


def cookie_value(header: bytes, name: bytes) -> bytes | None:
    """One cookie's value from a raw `Cookie` header (for pure-ASGI middleware that has no Request)."""
    for item in header.split(b";"):
        key, _, value = item.strip().partition(b"=")
        if key == name:
            return value
    return None


def request_locale(headers, default: str) -> str:
    """The negotiated locale from raw ASGI headers (for pure-ASGI middleware)."""
    cookie = None
    accept = None
    for key, value in headers:
        if key == b"cookie":
            raw = cookie_value(value, COOKIE.encode())
            cookie = raw.decode("latin-1") if raw is not None else cookie
        elif key == b"accept-language":
            accept = value.decode("latin-1")
    return negotiate(cookie, accept, default)


class LocaleMiddleware:
    """Pure ASGI: picks the locale for each request and makes it current for gettext and templates."""

    def __init__(self, app, default_locale: str = "en"):
        self.app = app
        self.default_locale = default_locale

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        locale = request_locale(scope.get("headers", ()), self.default_locale)
        scope.setdefault("state", {})["locale"] = locale
        with use_locale(locale):
            await self.app(scope, receive, send)
