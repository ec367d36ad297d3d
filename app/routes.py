"""Site-wide pages: home, language switch, health check, about."""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import insert, text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from app.auth import safe_next
from app.clock import utc_now
from app.db import read_session, write_session
from app.i18n import COOKIE, LOCALES
from app.models import UsedToken
from app.readiness import check
from app.templating import STATIC_DIR, render

log = logging.getLogger("civic")


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


def _db_writable(engine) -> bool:
    """Try a write (rolled back): a database that answers reads but can't save is not healthy."""
    with write_session(engine) as session:
        try:
            session.execute(insert(UsedToken.__table__).values(jti=f"healthz-{uuid.uuid4().hex}", purpose="healthz",  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                                                               used_at=utc_now()))
        finally:
            session.rollback()
    return True


async def healthz(request: Request) -> Response:
    engine = request.app.state.engine
    try:
        await run_in_threadpool(_db_ok, engine)
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    try:
        await run_in_threadpool(_db_writable, engine)
    except Exception as exc:
        log.error("Health check: the database refuses writes: %s", exc)
        return JSONResponse({"status": "error", "database": "read-only",
                             "message": "The database answers reads but refuses writes (read-only, full disk or "
                                        "locked). Nothing can be saved until this is fixed."}, status_code=503)
    classifier = request.app.state.unit_context.classifier
    model = getattr(classifier, "version", "none") if classifier is not None else "none"
    return JSONResponse({"status": "ok", "database": "ok", "model": model})


async def readyz(request: Request) -> Response:
    """Ready for traffic: 200, or 503 with the reasons (see app.readiness)."""
    state = request.app.state
    result = await run_in_threadpool(check, state.engine, state.settings, state.unit_context.classifier)
    if not result.ready:
        log.warning("Not ready: %s", "; ".join(result.reasons))
    return JSONResponse(result.as_json(), status_code=200 if result.ready else 503,
                        headers={"Cache-Control": "no-store"})


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page links to."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/vnd.microsoft.icon",
                        headers={"Cache-Control": "public, max-age=86400"})


async def robots(request: Request) -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /auth/\nDisallow: /moderation/\n")


routes = [
    Route("/", home, name="home"),
    Route("/about", about, name="about"),
    Route("/locale", set_locale, methods=["GET", "POST"], name="locale"),
    Route("/healthz", healthz, name="healthz"),
    Route("/readyz", readyz, name="readyz"),
    Route("/robots.txt", robots, name="robots"),
    Route("/favicon.ico", favicon, name="favicon"),
]
