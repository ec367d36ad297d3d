"""Site-wide pages: home, language switch, health check, about."""
from __future__ import annotations

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from app.auth import safe_next
from app.db import read_session
from app.i18n import COOKIE, LOCALES
from app.templating import render


def _home_sections(app_state) -> list[dict]:
    sections = []
    with read_session(app_state.engine) as session:
        for provider in app_state.home_providers:
            sections.append(provider(session))
    return sections


async def home(request: Request) -> Response:
    sections = await run_in_threadpool(_home_sections, request.app.state)
    return render(request, "home.html", {"sections": sections})


async def about(request: Request) -> Response:
    return render(request, "about.html", {})


async def set_locale(request: Request) -> Response:
    lang = request.query_params.get("lang", "")
    if request.method == "POST":
        form = await request.form()
        lang = str(form.get("lang", ""))
    next_url = safe_next(request.query_params.get("next"))
    response = RedirectResponse(next_url, status_code=303)
    if lang in LOCALES:
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _db_ok(engine) -> bool:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


async def healthz(request: Request) -> Response:
    try:
        await run_in_threadpool(_db_ok, request.app.state.engine)
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    classifier = request.app.state.services.get("classifier")
    model = getattr(classifier, "version", "none") if classifier is not None else "none"
    return JSONResponse({"status": "ok", "database": "ok", "model": model})


async def robots(request: Request) -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /auth/\nDisallow: /moderation/\n")


routes = [
    Route("/", home, name="home"),
    Route("/about", about, name="about"),
    Route("/locale", set_locale, methods=["GET", "POST"], name="locale"),
    Route("/healthz", healthz, name="healthz"),
    Route("/robots.txt", robots, name="robots"),
]
