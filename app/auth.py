"""Accounts: passwordless sign-in by e-mailed link, the session actor, and role checks.

The session cookie holds the actor's id, role and department and the secret of a server-side session
(`UserSession`). `SessionCheckMiddleware` checks that session on every signed-in request, so signing out,
"sign out everywhere", a role change or the end of the session lifetime makes an old cookie anonymous.
Services re-check roles against the database (`require_user_role`), so a route check is never the only guard.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select, col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import ratelimit
from app.actor import SESSION_KEY, Actor, current_actor, signed_in_actor  # noqa: F401 - re-exported
from app.clock import utc_now
from app.config import parse_rate
from app.db import run_in_session
from app.emails import canonical_email, is_valid_email
from app.http import read_form
from app.errors import PermissionDenied, TokenInvalid, ValidationFailed, database_unavailable_response
from app.i18n import LOCALES, gettext as _
from app.mail import queue_email
from app.models import Department, Role, User, UserSession
from app.templating import flash, render

SIGN_IN_PURPOSE = "auth.sign_in"
SIGN_IN_MAX_AGE = 30 * 60


# ----- server-side sessions -----

def _session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, *, user_id: int, max_age_days: int) -> str:
    """Record a new signed-in browser for `user_id`; returns the secret its cookie carries."""
    secret = secrets.token_urlsafe(32)
    now = utc_now()
    session.add(UserSession(id=_session_id(secret), user_id=user_id, created_at=now,
                            expires_at=now + timedelta(days=max_age_days)))
    session.flush()
    return secret


def end_session(session: Session, *, secret: str) -> None:
    """Sign one browser out: its cookie no longer works, even if it was copied."""
    session.execute(delete(UserSession).where(col(UserSession.id) == _session_id(secret)))


def end_all_sessions(session: Session, *, user_id: int) -> int:
    """Sign a user out on every browser ("sign out everywhere", role changes); returns how many were ended."""
    return session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id)).rowcount or 0  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result


def purge_expired_sessions(session: Session) -> int:
    return session.execute(delete(UserSession).where(col(UserSession.expires_at) < utc_now())).rowcount or 0  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result


_SESSION_CHECK = (select(col(UserSession.expires_at), col(User.role), col(User.department_id))
                  .join(User, col(User.id) == col(UserSession.user_id))
                  .where(col(UserSession.id) == bindparam("sid"), col(UserSession.user_id) == bindparam("uid")))


def session_is_current(engine, data: dict) -> bool:
    """Whether a cookie's actor still matches a live server-side session with the same role and department."""
    secret, uid = data.get("sid"), data.get("uid")
    if not isinstance(secret, str) or not secret or not isinstance(uid, int):
        return False
    with engine.connect() as conn:
        row = conn.execute(_SESSION_CHECK, {"sid": _session_id(secret), "uid": uid}).first()
    if row is None:
        return False
    expires_at, role, department_id = row
    return expires_at > utc_now() and role == data.get("role") and department_id == data.get("dept")


class SessionCheckMiddleware:
    """Pure ASGI, just inside Starlette's SessionMiddleware: a signed-in cookie whose server-side session is gone
    or stale becomes anonymous (and is cleared). Requests without a signed-in actor never touch the database."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not scope["path"].startswith("/static/"):  # (files don't depend on who asks)
            cookie_session = scope.get("session")
            data = cookie_session.get(SESSION_KEY) if cookie_session else None
            if data is not None:
                try:
                    current = isinstance(data, dict) and await run_in_threadpool(
                        session_is_current, scope["app"].state.engine, data)
                except OperationalError:
                    response = database_unavailable_response(Request(scope, receive))
                    return await response(scope, receive, send)
                if not current:
                    cookie_session.pop(SESSION_KEY, None)
        await self.app(scope, receive, send)


def require_roles(*roles: str):
    """Route decorator: only actors with one of `roles` (admins always) get in; everyone else gets 403.

    The roles are recorded on the endpoint (`required_roles`) so a test can check every staff route.
    """

    def decorator(handler):
        @functools.wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            actor = current_actor(request)
            if actor is None:
                raise PermissionDenied(_("This page is for staff. Sign in with a staff account to continue."))
            if not actor.has_role(*roles):
                raise PermissionDenied(_("Your account does not have access to this page. Ask an administrator if you need it."))
            return await handler(request, *args, **kwargs)

        setattr(wrapper, "required_roles", frozenset(roles))  # read by the authorization matrix test
        return wrapper

    return decorator


def require_signed_in(handler):
    """Route decorator for resident actions: anonymous visitors are sent to sign in, then back."""

    @functools.wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        if current_actor(request) is None:
            next_url = request.url.path
            if request.method != "GET":
                next_url = request.headers.get("referer", "/")
                next_url = urlsplit(next_url).path or "/"
            flash(request, _("Sign in to continue."))
            return RedirectResponse(request.app.state.renderer.path("auth:sign_in", {"next": next_url}), status_code=303)
        return await handler(request, *args, **kwargs)

    return wrapper


def require_user_role(session: Session, user_id: int | None, *roles: str) -> User:
    """Service-level guard: load the user and check the role in the database.

    Raises:
        PermissionDenied: when the user is missing or lacks every one of `roles` (admins always pass).
    """
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not (user.role == Role.ADMIN or user.role in roles):
        raise PermissionDenied(_("Your account does not have permission to do this."))
    return user


def safe_next(url: str | None) -> str:
    """Only allow local redirects after sign-in (no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url[:500]


# ----- services -----

def find_or_create_user(session: Session, *, email: str, name: str = "", locale: str = "en") -> User:
    canonical = canonical_email(email)
    user = session.exec(select(User).where(col(User.email) == canonical)).first()
    if user is None:
        user = User(email=canonical, email_display=email.strip(), name=name.strip()[:120],
                    role=Role.RESIDENT, locale=locale if locale in LOCALES else "en", created_at=utc_now())
        session.add(user)
        session.flush()
    return user


def request_sign_in(session: Session, *, email: str, next_url: str, signer, client_ip: str | None,
                    locale: str, login_rate: str, allowlisted: bool = False) -> None:
    """Validate the address and e-mail a single-use sign-in link (the same answer whether or not it exists).

    Raises:
        ValidationFailed: the address is missing or malformed.
        RateLimited: too many links asked for from this address or network.
    """
    email = (email or "").strip()
    if not email:
        raise ValidationFailed({"email": _("Enter your email address.")})
    if not is_valid_email(email):
        raise ValidationFailed({"email": _("Enter an email address like name@example.com.")})
    limit, window = parse_rate(login_rate)
    message = _("Too many sign-in links were requested. Wait a few minutes, then try again.")
    if not allowlisted and client_ip:
        ratelimit.enforce(session, f"login:ip:{client_ip}", limit=limit * 4, window=window, message=message)
    ratelimit.enforce(session, f"login:email:{canonical_email(email)}", limit=limit, window=window, message=message)
    user = session.exec(select(User).where(col(User.email) == canonical_email(email))).first()
    if user is None:
        # No account is made until the link is used: asking for a link proves nothing about the address.
        payload: dict[str, object] = {"email": email, "locale": locale, "next": safe_next(next_url)}
        to, name = email, ""
    else:
        payload = {"uid": user.id, "next": safe_next(next_url)}
        to, name = user.email_display, user.name
    token = signer.sign(SIGN_IN_PURPOSE, payload)
    queue_email(session, to=to, template="auth/sign_in", context={"token": token, "name": name}, locale=locale)


def complete_sign_in(session: Session, *, token: str, signer,
                     session_max_age_days: int = 14) -> tuple[User, str, str]:
    """Consume the e-mailed token, create the account on a first sign-in, and start a server-side session.

    Returns the user, where to go next and the session secret for the cookie.

    Raises:
        TokenInvalid: the link is bad, expired (30 minutes) or already used.
    """
    data = signer.consume(session, SIGN_IN_PURPOSE, token, max_age=SIGN_IN_MAX_AGE)
    if "uid" in data:
        user = session.get(User, int(data["uid"]))
    elif isinstance(data.get("email"), str) and is_valid_email(data["email"]):
        user = find_or_create_user(session, email=data["email"], locale=str(data.get("locale", "en")))
    else:
        user = None
    if user is None:
        raise TokenInvalid(_("This link is not valid any more. Ask for a new one."))
    user.last_sign_in_at = utc_now()
    session.add(user)
    assert user.id is not None  # a stored user (find_or_create_user flushes a new one)
    secret = start_session(session, user_id=user.id, max_age_days=session_max_age_days)
    return user, safe_next(data.get("next")), secret


def add_user(session: Session, *, email: str, role: str, name: str = "", department: str | None = None) -> User:
    """Create or update a user with a role (operator command).

    Raises:
        ValidationFailed: bad e-mail, unknown role, or an official without a department.
    """
    if not is_valid_email(email):
        raise ValidationFailed({"email": f"{email!r} is not a valid e-mail address."})
    if role not in {r.value for r in Role}:
        raise ValidationFailed({"role": f"Role must be one of: {', '.join(r.value for r in Role)}."})
    user = find_or_create_user(session, email=email, name=name)
    before = (user.role, user.department_id)
    user.role = role
    if name:
        user.name = name
    if department:
        dept = session.exec(select(Department).where(col(Department.code) == department)).first()
        if dept is None:
            dept = Department(code=department[:40], name=department.replace("-", " ").title())
            session.add(dept)
            session.flush()
        user.department_id = dept.id
    elif role == Role.OFFICIAL and user.department_id is None:
        raise ValidationFailed({"department": "Officials need a department: add --department CODE."})
    session.add(user)
    session.flush()
    if (user.role, user.department_id) != before:
        assert user.id is not None  # flushed above
        end_all_sessions(session, user_id=user.id)  # what the old cookies allowed no longer applies
    return user


def update_profile(session: Session, *, user_id: int, name: str, locale: str) -> User:
    """Change the display name and preferred language.

    Raises:
        ValidationFailed: name too long or unknown language.
    """
    name = (name or "").strip()
    errors = {}
    if len(name) > 80:
        errors["name"] = _("Use 80 characters or fewer.")
    if locale not in LOCALES:
        errors["locale"] = _("Choose one of the listed languages.")
    if errors:
        raise ValidationFailed(errors)
    user = session.get(User, user_id)
    assert user is not None  # the signed-in user's own id
    user.name = name
    user.locale = locale
    session.add(user)
    return user


def login_actor(request: Request, user: User, secret: str) -> None:
    """Put the signed-in actor and the server-side session's secret in the cookie (a fresh cookie session)."""
    request.session.clear()
    request.session[SESSION_KEY] = {"uid": user.id, "role": user.role, "name": user.name, "dept": user.department_id,
                                    "sid": secret}


def _refresh_actor(request: Request, user: User) -> None:
    data = dict(request.session.get(SESSION_KEY) or {})
    data["name"] = user.name
    request.session[SESSION_KEY] = data


def _session_secret(request: Request) -> str | None:
    data = request.session.get(SESSION_KEY) if "session" in request.scope else None
    secret = data.get("sid") if isinstance(data, dict) else None
    return secret if isinstance(secret, str) else None


# ----- routes -----

async def sign_in(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    values, errors, status = {"email": "", "next": next_url}, {}, 200
    if request.method == "POST":
        form = await read_form(request)
        values = {"email": str(form.get("email", ""))[:400], "next": safe_next(str(form.get("next", "")))}
        state = request.app.state
        ip = request.client.host if request.client else None
        try:
            await run_in_session(
                request, request_sign_in, email=values["email"], next_url=values["next"], signer=state.signer,
                client_ip=ip, locale=request.state.locale, login_rate=state.settings.login_rate_limit,
                allowlisted=state.settings.allowlisted(ip),
            )
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            return render(request, "auth/check_email.html", {"email": values["email"]})
    return render(request, "auth/sign_in.html", {"values": values, "errors": errors}, status_code=status)


async def confirm(request: Request) -> Response:
    if request.method == "GET":
        # Showing a button (not signing in on GET) keeps link-prefetching mail scanners from using the token.
        token = request.query_params.get("token", "")
        return render(request, "auth/confirm.html", {"token": token[:2000]})
    form = await read_form(request)
    user, next_url, secret = await run_in_session(
        request, complete_sign_in, token=str(form.get("token", "")), signer=request.app.state.signer,
        session_max_age_days=request.app.state.settings.session_max_age_days)
    login_actor(request, user, secret)
    flash(request, _("You are signed in."), "success")
    return RedirectResponse(next_url, status_code=303)


async def sign_out(request: Request) -> Response:
    secret = _session_secret(request)
    if secret:
        await run_in_session(request, end_session, secret=secret)
    request.session.clear()
    flash(request, _("You are signed out."), "success")
    return RedirectResponse("/", status_code=303)


async def account(request: Request) -> Response:
    actor = current_actor(request)
    if actor is None:
        return RedirectResponse(request.app.state.renderer.path("auth:sign_in", {"next": "/account"}), status_code=303)
    errors, status = {}, 200
    values = {"name": actor.name, "locale": request.state.locale}
    if request.method == "POST":
        form = await request.form()
        values = {"name": str(form.get("name", ""))[:200], "locale": str(form.get("locale", ""))}
        try:
            user = await run_in_session(request, update_profile, user_id=actor.user_id, **values)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            _refresh_actor(request, user)
            flash(request, _("Your details are saved."), "success")
            response = RedirectResponse("/account", status_code=303)
            response.set_cookie("civic_locale", user.locale, max_age=365 * 86400, samesite="lax", httponly=True)
            return response
    return render(request, "auth/account.html", {"values": values, "errors": errors,
                                                 "session_max_age_days": request.app.state.settings.session_max_age_days},
                  status_code=status)


async def sign_out_everywhere(request: Request) -> Response:
    actor = current_actor(request)
    if actor is not None:
        await run_in_session(request, end_all_sessions, user_id=actor.user_id)
    request.session.clear()
    flash(request, _("You are signed out on every device. Sign in again on the ones you use."), "success")
    return RedirectResponse("/", status_code=303)


routes = [
    Route("/sign-in", sign_in, methods=["GET", "POST"], name="sign_in"),
    Route("/confirm", confirm, methods=["GET", "POST"], name="confirm"),
    Route("/sign-out", sign_out, methods=["POST"], name="sign_out"),
]
account_routes = [
    Route("/account", account, methods=["GET", "POST"], name="account"),
    Route("/account/sign-out-everywhere", sign_out_everywhere, methods=["POST"], name="sign_out_everywhere"),
]
