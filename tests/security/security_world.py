"""Shared pieces of the security standing checks: the routing table walked as data, and one populated world
(every role; petitions, consultations and comments in every state) built through the real services."""
from __future__ import annotations

import dataclasses
import re
import types
from datetime import date, timedelta

from sqlmodel import select
from starlette.routing import Mount, Route

from app import open_data
from app.clock import utc_now
from app.db import unit_of_work
from consultations.config import ConsultationSettings

ROLES = ("anonymous", "resident", "official_other", "moderator", "admin")
# The official of the department that owns the world's petition and consultations (to prove allowed paths work).
OWN_OFFICIAL = "official_own"
# A clerk of that department (records paper signatures on its petitions).
OWN_CLERK = "clerk_own"

EMAILS = {
    "resident": ("resident@example.org", "resident", None),
    "official_own": ("official@example.org", "official", "transport"),
    "official_other": ("parks.official@example.org", "official", "parks"),
    "moderator": ("mod@example.org", "moderator", None),
    "admin": ("admin@example.org", "admin", None),
    "clerk_own": ("clerk@example.org", "clerk", "transport"),
    "author": ("author@example.org", "resident", None),  # writes the world's public comment; no matrix role
}


FIGURES: list[str] = []


def report(line: str) -> None:
    """Print a standing check's figures; tests/security/conftest.py repeats them in the run's summary."""
    print("\n" + line)
    FIGURES.append(line)


# ----- the routing table -----

@dataclasses.dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str          # the template, e.g. /petitions/{petition_id:int}
    endpoint: object

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{([^}:]+)(?::[^}]+)?\}", self.path)

    def fill(self, values: dict) -> str:
        return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda m: str(values[m.group(1)]), self.path)


def all_routes(app) -> list[RouteInfo]:
    """Every (method, path) the app answers, walking mounts; a mounted app without a routing table (static
    files) is listed as `GET <mount>/{path}`."""
    found: list[RouteInfo] = []

    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, Mount):
                if route.routes:
                    walk(route.routes, prefix + route.path)
                else:
                    found.append(RouteInfo("GET", prefix + route.path + "/{path}", route.app))
            elif isinstance(route, Route):
                for method in sorted(route.methods or {"GET"}):
                    if method != "HEAD":
                        found.append(RouteInfo(method, prefix + route.path, route.endpoint))
            else:  # a WebSocketRoute or anything new: listed so the table must say something about it
                found.append(RouteInfo("?", prefix + getattr(route, "path", repr(route)), route))

    walk(app.routes)
    return found


# ----- the world -----

def _uow(app):
    state = app.state
    return unit_of_work(state.engine, state.unit_context)


def _petition(session, action: str, state: str, *, background: str, details: str = "", department_id=None,
              creator: str = "Creator Person", email: str = "creator@example.org"):
    from app.emails import canonical_email
    from petitions.models import Petition, Signature, SignatureState

    now = utc_now()
    p = Petition(action=action[:80], background=background[:300], details=details, creator_name=creator,
                 creator_email=email, state=state, department_id=department_id, created_at=now, updated_at=now)
    if state in ("open", "closed"):
        p.opened_at, p.closes_at = now - timedelta(days=1), now + timedelta(days=30)
        p.signature_count = 1
    session.add(p)
    session.flush()
    session.add(Signature(petition_id=p.id, name=creator, email=email, canonical_email=canonical_email(email),
                          area="Central", is_creator=True, created_at=now, updated_at=now,
                          state=SignatureState.VALIDATED if state != "unconfirmed" else SignatureState.PENDING,
                          validated_at=now if state != "unconfirmed" else None))
    session.flush()
    return p


def build_world(app, helpers, *, marker: str = "SECRET") -> types.SimpleNamespace:
    """Users of every role, and petitions, consultations and comments in every state.

    Texts of objects the public must not see carry markers `<marker>-<what>-x7q` (see `world.secrets`)."""
    from consultations import forms, service
    from consultations.models import Comment, CommentStatus, Consultation, ConsultationState, Question
    from moderation.models import ModerationCase
    from petitions import service as petition_service
    from petitions.models import PetitionState

    users = {role: helpers.add_user(app, email, role=r, department=dept, name=role.replace("_", " ").title())
             for role, (email, r, dept) in EMAILS.items()}
    transport = users["official_own"].department_id
    secrets: dict[str, str] = {}

    def secret(what: str) -> str:
        secrets[what] = f"{marker}-{what}-x7q"
        return secrets[what]

    w = types.SimpleNamespace(users=users, secrets=secrets, department_id=transport)
    with _uow(app) as session:
        petition_service.ensure_reasons(session)
        w.petition = _petition(session, "Plant more trees on the high street", PetitionState.OPEN,
                               background="Shade and cleaner air for everyone.", department_id=transport).id
        w.petition_rejected = _petition(session, "Rename the river after a footballer", PetitionState.REJECTED,
                                        background="Public and rejected: its text may be shown.").id
        w.petition_unconfirmed = _petition(session, secret("petition-unconfirmed-action"), PetitionState.UNCONFIRMED,
                                           background=secret("petition-unconfirmed-background"),
                                           details=secret("petition-unconfirmed-details")).id
        w.petition_sponsoring = _petition(session, secret("petition-sponsoring-action"), PetitionState.SPONSORING,
                                          background=secret("petition-sponsoring-background"),
                                          details=secret("petition-sponsoring-details")).id
        w.petition_pending = _petition(session, secret("petition-pending-action"), PetitionState.PENDING,
                                       background=secret("petition-pending-background"),
                                       details=secret("petition-pending-details")).id
        hidden = _petition(session, secret("petition-hidden-action"), PetitionState.PENDING,
                           background=secret("petition-hidden-background"), details=secret("petition-hidden-details"))
        w.petition_hidden = hidden.id
    with _uow(app) as session:
        from petitions import paper
        from petitions.forms import PaperInput

        w.paper_entry = paper.record_paper(
            session, petition_id=w.petition, clerk_id=users["clerk_own"].id,
            settings=app.state.unit_context.domain_settings["petitions"],
            data=PaperInput(utc_now().date(), "Box 1, Central Library", {"Central": 12}, "world-paper-entry-0001"),
        ).entry_id
    with _uow(app) as session:
        petition_service.reject_petition(session, petition_id=w.petition_hidden, moderator_id=users["moderator"].id,
                                         code="defamatory", detail=secret("petition-hidden-rejection-detail"))

    official = users["official_own"].id

    def consultation(title, summary, *, strict=False, state="open", body="<p>Tell us what you think.</p>"):
        data = forms.ConsultationData(title=title, summary=summary, body=body, department_id=None,
                                      questions=("Which streets first?",), opens_on=None, closes_on=None,
                                      strict_mode=strict)
        with _uow(app) as session:
            cid = service.create_consultation(session, user_id=official, data=data).id
        if state != "draft":
            with _uow(app) as session:
                service.change_state(session, user_id=official, consultation_id=cid, action="open")
        return cid

    limits = ConsultationSettings(comment_rate_limit="10000/60")

    def comment(cid, author, body, parent_id=None):
        with _uow(app) as session:
            return service.post_comment(session, consultation_id=cid, author_id=users[author].id, body=body,
                                        parent_id=parent_id, limits=limits).id

    w.consultation = consultation("Safer streets around schools", "Should streets outside schools close?")
    w.strict_consultation = consultation("Quiet hours in parks", "When should parks be quiet?", strict=True)
    w.draft = consultation(secret("draft-consultation-title"), secret("draft-consultation-summary"), state="draft",
                           body=f"<p>{secret('draft-consultation-body')}</p>")
    with _uow(app) as session:
        w.question = session.exec(select(Question.id).where(Question.consultation_id == w.consultation)).first()
        w.draft_question = session.exec(select(Question.id).where(Question.consultation_id == w.draft)).first()
    w.comment = comment(w.consultation, "author", "Close the street at 8am and 3pm, please.")
    w.comment_held = comment(w.strict_consultation, "resident", secret("comment-held"))
    w.comment_hidden = comment(w.strict_consultation, "resident", secret("comment-hidden"))
    with _uow(app) as session:
        service.apply_moderation_decision(session, kind="comment", item_id=w.comment_hidden, decision="hide")
    w.comment_hidden_reply = comment(w.consultation, "admin", secret("comment-hidden-by-reports"), parent_id=w.comment)
    with _uow(app) as session:
        service.apply_moderation_decision(session, kind="comment", item_id=w.comment_hidden_reply, decision="hide")
    w.comment_removed = comment(w.consultation, "resident", secret("comment-removed-first-version"))
    with _uow(app) as session:
        service.edit_comment(session, comment_id=w.comment_removed, user_id=users["resident"].id,
                             body=secret("comment-removed-edited-version"), limits=limits)
    with _uow(app) as session:
        service.delete_comment(session, comment_id=w.comment_removed, user_id=users["resident"].id)
    # officials' responses waiting for a moderator (strict mode holds them) and hidden by one
    with _uow(app) as session:
        held = service.publish_response(session, consultation_id=w.strict_consultation, official_id=official,
                                        data=forms.ResponseData(decision="will_act", text=secret("response-held"),
                                                                commitment=secret("response-held-commitment"),
                                                                follow_up_on=None))
        w.response_held = held.id
    with _uow(app) as session:
        hidden = service.publish_response(session, consultation_id=w.consultation, official_id=official,
                                          data=forms.ResponseData(decision="noted", text=secret("response-hidden"),
                                                                  commitment="", follow_up_on=None))
        w.response_hidden = hidden.id
    with _uow(app) as session:
        service.apply_moderation_decision(session, kind="response", item_id=w.response_hidden, decision="hide")
    # A draft takes no comments: open it, comment, and take it back to a draft (as an import or a reverted
    # opening would leave it).
    with _uow(app) as session:
        service.change_state(session, user_id=official, consultation_id=w.draft, action="open")
    w.comment_draft = comment(w.draft, "resident", secret("comment-in-draft"))
    with _uow(app) as session:
        c = session.get(Consultation, w.draft)
        c.state = ConsultationState.DRAFT
        session.add(c)
    with _uow(app) as session:
        w.case = session.exec(select(ModerationCase.id).order_by(ModerationCase.id)).first()
        assert session.get(Comment, w.comment_held).status == CommentStatus.HELD
        assert session.get(Comment, w.comment_hidden).status == CommentStatus.HIDDEN
        assert session.get(Comment, w.comment_removed).status == CommentStatus.REMOVED
        from consultations.models import OfficialResponse
        assert session.get(OfficialResponse, w.response_held).status == CommentStatus.HELD
        assert session.get(OfficialResponse, w.response_hidden).status == CommentStatus.HIDDEN
    assert w.case is not None, "the held comment should have opened a moderation case"
    # the open-data snapshots of the world (the weekly job's run for the last complete week)
    ctx = app.state.job_context
    w.snapshot_day = open_data.last_complete_week(utc_now().date()).isoformat()
    open_data.take_snapshots(ctx.engine, app.state.open_data, date.fromisoformat(w.snapshot_day),
                             open_data.build_context(ctx), publisher="Civic", unit_of_work=ctx.unit_of_work)
    w.datasets = app.state.open_data.names()
    return w


def session_for(make_client, app, helpers, role: str):
    """A fresh client signed in as `role` through the real e-mailed link (anonymous: no sign-in)."""
    c = make_client()
    if role != "anonymous":
        email, r, dept = EMAILS[role]
        helpers.sign_in(c, app, email, role=r, department=dept)
    return c


def revoked_session_for(make_client, app, helpers, role: str):
    """A client carrying a cookie captured while `role` was signed in, replayed after that session signed out."""
    c = session_for(make_client, app, helpers, role)
    cookie = c.cookies.get("civic_session")
    assert cookie, "signing in should set the session cookie"
    r = c.post("/auth/sign-out")
    assert r.status_code in (302, 303), r.text
    replay = make_client()
    replay.cookies.set("civic_session", cookie)
    return replay
