"""Jinja environment (autoescaped, i18n), page/partial rendering and e-mail rendering.

Templates receive finished data only; they never query the database.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import jinja2
from babel.numbers import format_percent
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from app import i18n, sanitize
from app.actor import current_actor

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
FLASH_KEY = "_flash"


def _babel_locale() -> str:
    return i18n.babel_locale()


def _fmt_datetime(value: datetime | None, fmt: str = "") -> str:
    """`|datetime`: one style everywhere (the old `fmt` argument is accepted and ignored)."""
    return i18n.format_datetime(value)


def _fmt_date(value: date | datetime | None, fmt: str = "") -> str:
    """`|date`: one style everywhere (the old `fmt` argument is accepted and ignored)."""
    return i18n.format_date(value)


def _fmt_number(value: float | int | None) -> str:
    return i18n.format_number(value)


def _lang_attr(text: str | None) -> Markup:
    """` lang="en"` on residents' text written in another language than the page's (for screen readers and
    hyphenation); nothing when it is in the page's language or has no letters."""
    language = i18n.text_language(text or "")
    if not language or language == i18n.current_locale():
        return Markup("")
    return Markup(' lang="%s"') % language


def _fmt_percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return format_percent(value, format="#,##0" + ("." + "0" * digits if digits else "") + "%", locale=_babel_locale())


def _duration(seconds: float | int | None) -> str:
    """Human duration such as '3 days' or '5 hours', translated."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return i18n.ngettext("%(num)d day", "%(num)d days", days)
    if hours:
        return i18n.ngettext("%(num)d hour", "%(num)d hours", hours)
    return i18n.ngettext("%(num)d minute", "%(num)d minutes", max(1, minutes))


def _static_hashes() -> dict[str, str]:
    hashes = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            hashes[path.relative_to(STATIC_DIR).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return hashes


class _MissingKey(jinja2.ChainableUndefined):
    """A key a dict does not have (`errors.area`, `values.email`): empty and false, like `dict.get`."""

    __slots__ = ()


class StrictUndefined(jinja2.StrictUndefined):
    """Templates in tests and debug: a misspelled variable or attribute fails the render instead of showing
    nothing. Reading a key that a dict does not have stays empty (the `errors.field` idiom of every form)."""

    __slots__ = ()

    def __new__(cls, hint=None, obj=jinja2.utils.missing, name=None, exc=jinja2.exceptions.UndefinedError):
        if obj is not jinja2.utils.missing and isinstance(obj, Mapping):
            return _MissingKey(hint, obj, name, exc)
        return super().__new__(cls)


IMMUTABLE = "public, max-age=31536000, immutable"


class VersionedStaticFiles(StaticFiles):
    """`/static/`: a file asked for with its current version (`static()` in templates adds `?v=<hash>`) may be
    kept by browsers for a year; without it (or with an old one), for an hour."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hashes = _static_hashes()

    async def get_response(self, path: str, scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            wanted = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("v")
            current = self._hashes.get(path.replace("\\", "/").lstrip("/"))
            response.headers["Cache-Control"] = IMMUTABLE if wanted and wanted == current else "public, max-age=3600"
        return response


def build_environment(settings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined if settings.debug or settings.strict_templates else jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=settings.debug,
    )
    # added to the Environment by the jinja2.ext.i18n extension at runtime, unknown to its type
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters.update(
        datetime=_fmt_datetime,
        date=_fmt_date,
        number=_fmt_number,
        percent=_fmt_percent,
        duration=_duration,
        linkify=lambda text: Markup(sanitize.linkify_plain(text or "")),
        rich=lambda html: Markup(sanitize.clean_rich_text(html or "")),
    )
    hashes = _static_hashes()
    env.globals.update(
        static=lambda path: f"/static/{path}?v={hashes.get(path, '0')}",
        LOCALES=i18n.LOCALES,
        LOCALE_NAMES=i18n.LOCALE_NAMES,
        lang_attr=_lang_attr,
        settings=settings,
    )
    return env


class Renderer:
    """Renders pages and e-mails; shared by routes (through `render`) and services (through the session)."""

    def __init__(self, env: jinja2.Environment, settings, router=None):
        self.env = env
        self.settings = settings
        self.router = router
        self._paths: dict[Hashable, str] = {}
        self._skeletons: dict[tuple, tuple | Literal[False]] = {}
        self._marker = secrets.token_hex(8)

    def path(self, name: str, _query: dict | None = None, **params: Any) -> str:
        key: tuple | None = (name, *sorted(params.items()))
        try:
            path = self._paths.get(key)
        except TypeError:  # an unhashable parameter: just don't remember it
            key, path = None, None
        if path is None:
            # Routes never change after start, and url_path_for walks every route: remember the answers.
            path = str(self.router.url_path_for(name, **params)) if self.router is not None else "/"
            if key is not None and len(self._paths) < 50_000:
                self._paths[key] = path
        if _query:
            path += "?" + urlencode({k: v for k, v in _query.items() if v is not None})
        return path

    def absolute_url(self, name: str, _query: dict | None = None, **params: Any) -> str:
        return self.settings.base_url.rstrip("/") + self.path(name, _query, **params)

    def render_email(self, template: str, context: dict, locale: str) -> tuple[str, str]:
        with i18n.use_locale(locale):
            text = self.env.get_template(f"emails/{template}.txt").render(
                url=self.absolute_url, base_url=self.settings.base_url, locale=locale, **context
            )
        first, _, rest = text.lstrip().partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"E-mail template {template} must start with 'Subject:'")
        return first[len("Subject:"):].strip(), rest.strip() + "\n"

    def render_email_personal(self, template: str, shared: dict, personal: dict[str, str],
                              locale: str) -> tuple[str, str]:
        """`render_email` for a mail sent to many people that differs only in a few plain values (a name, a
        link): the template is rendered once per shared context with markers, then the values are put in.

        The same text as `render_email` (text e-mails are not escaped); a template that transforms one of the
        personal values gets rendered in full every time instead.
        """
        key = (template, locale, tuple(sorted(shared.items())))
        skeleton = self._skeletons.get(key)
        if skeleton is None:
            markers = {f"\x00{self._marker}:{name}\x00": name for name in personal}
            subject, body = self.render_email(template, {**shared, **{n: m for m, n in markers.items()}}, locale)
            leftover = subject + body
            for marker in markers:
                leftover = leftover.replace(marker, "")
            usable = all(m in subject + body for m in markers) and "\x00" not in leftover
            pattern = re.compile("|".join(re.escape(m) for m in markers))
            skeleton = (subject, body, markers, pattern) if usable else None
            if len(self._skeletons) > 2000:
                self._skeletons.clear()
            self._skeletons[key] = skeleton or False
        if not skeleton:
            return self.render_email(template, {**shared, **personal}, locale)
        subject, body, markers, pattern = skeleton

        def fill(match: re.Match) -> str:  # one pass, so a value is never searched for markers itself
            return str(personal[markers[match.group()]])

        return pattern.sub(fill, subject), pattern.sub(fill, body)


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queue a one-time message shown on the next rendered page."""
    request.session.setdefault(FLASH_KEY, []).append([category, str(message)])
    request.session[FLASH_KEY] = request.session[FLASH_KEY]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    if "session" not in request.scope:
        return []
    return [tuple(item) for item in request.session.pop(FLASH_KEY, [])]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def page_context(request: Request) -> dict[str, Any]:
    state = request.app.state
    locale = request.scope.get("state", {}).get("locale", "en")

    def url_for(name: str, _query: dict | None = None, **params: Any) -> str:
        return state.renderer.path(name, _query, **params)

    def lang_url(locale_code: str) -> str:
        return url_for("locale", _query={"lang": locale_code, "next": request.url.path + (("?" + request.url.query) if request.url.query else "")})

    return {
        "request": request,
        "actor": current_actor(request),
        "locale": locale,
        "url_for": url_for,
        "lang_url": lang_url,
        "flashes": pop_flashes(request),
        "current_path": request.url.path,
    }


def render(
    request: Request,
    page: str,
    context: dict[str, Any] | None = None,
    *,
    partial: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render the full page, or only `partial` when htmx asked for it (one handler, one query)."""
    env: jinja2.Environment = request.app.state.templates
    name = partial if (partial and is_htmx(request)) else page
    ctx = page_context(request)
    ctx.update(context or {})
    html = env.get_template(name).render(ctx)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Vary", "HX-Request, HX-History-Restore-Request, Cookie, Accept-Language")
    return response
