"""Consultations open-data API (mounted under /api): JSON listings and Polis-compatible CSV exports.

No names, e-mail addresses or user ids of residents: participants appear only as pseudonymous ids that are
stable within one consultation (HMAC of the site's secret key); voter ids and author ids come from two unlinked
namespaces, so votes can't be tied to named comments.
"""
from __future__ import annotations

import math

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import run_query
from app.errors import N_, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.models import Department

from . import polis, queries
from .models import VISIBLE_STATES, Consultation, ConsultationState

PER_PAGE = 50


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(request: Request, c: queries.ConsultationView) -> dict:
    base = request.app.state.settings.base_url.rstrip("/")
    return {
        "id": c.id, "title": c.title, "summary": c.summary, "state": c.state, "department": c.department or None,
        "opens_at": _iso(c.opens_at), "closes_at": _iso(c.closes_at), "comment_count": c.comment_count,
        "url": base + request.app.state.renderer.path("consultations:detail", consultation_id=c.id),
    }


def _list(session: Session, *, state: str | None, page: int) -> tuple[list, int, int]:
    states = [state] if state in {s.value for s in VISIBLE_STATES} else list(VISIBLE_STATES)
    total = session.exec(select(func.count()).select_from(Consultation)
                         .where(col(Consultation.state).in_(states))).one()
    pages = max(1, math.ceil(total / PER_PAGE))
    rows = session.exec(select(Consultation, Department)
                        .join(Department, isouter=True, onclause=col(Department.id) == col(Consultation.department_id))
                        .where(col(Consultation.state).in_(states))
                        .order_by(col(Consultation.created_at).desc(), col(Consultation.id).desc())
                        .offset((min(page, pages) - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return [queries._consultation_view(c, d) for c, d in rows], total, pages


async def list_consultations(request: Request) -> JSONResponse:
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    state = request.query_params.get("state") or None
    if state is not None and state not in {s.value for s in VISIBLE_STATES}:
        raise ValidationFailed({"state": "invalid"}, message=N_(
            "Unknown state filter. Use one of: open, closed, reported (or none for all)."))
    items, total, pages = await run_query(request, _list, state=state, page=page)
    return JSONResponse({"items": [_summary(request, c) for c in items], "page": min(page, pages), "pages": pages,
                         "total": total})


def _detail(session: Session, *, consultation_id: int):
    consultation = queries.get_consultation(session, consultation_id=consultation_id)
    return consultation, queries.list_questions(session, consultation_id), \
        queries.list_responses(session, consultation_id=consultation_id)[1]


async def get_consultation(request: Request) -> JSONResponse:
    cid = request.path_params["consultation_id"]
    consultation, questions, responses = await run_query(request, _detail, consultation_id=cid)
    path = request.app.state.renderer.path
    data = _summary(request, consultation)
    data.update({
        "body_html": consultation.body,
        "questions": [{"id": q.id, "position": q.position, "text": q.text, "comment_count": q.comment_count}
                      for q in questions],
        "responses": [{"id": r.id, "comment_id": r.comment_id, "question_id": r.question_id, "decision": r.decision,
                       "text": r.text, "commitment": r.commitment or None, "follow_up_on": _iso(r.follow_up_on),
                       "department": r.department or None, "created_at": _iso(r.created_at)} for r in responses],
        "report": ({"html": consultation.report_text, "published_at": _iso(consultation.report_published_at)}
                   if consultation.report_published_at else None),
        "exports": {"comments_csv": path("api:consultation_comments_csv", consultation_id=cid),
                    "votes_csv": path("api:consultation_votes_csv", consultation_id=cid)},
    })
    return JSONResponse(data)


def _export(session: Session, *, consultation_id: int, secret: str, kind: str) -> str:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.state == ConsultationState.DRAFT:
        raise NotFound(_("We couldn't find that consultation. It may have been removed; see the list of consultations."))
    fn = polis.export_comments_csv if kind == "comments" else polis.export_votes_csv
    return fn(session, consultation_id=consultation_id, secret=secret)


def _csv_response(text: str, filename: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "public, max-age=60"})


async def comments_csv(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    text = await run_query(request, _export, consultation_id=cid, secret=request.app.state.settings.secret_key,
                           kind="comments")
    return _csv_response(text, f"consultation-{cid}-comments.csv")


async def votes_csv(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    text = await run_query(request, _export, consultation_id=cid, secret=request.app.state.settings.secret_key,
                           kind="votes")
    return _csv_response(text, f"consultation-{cid}-votes.csv")


routes = [
    Route("/consultations", list_consultations, name="consultations"),
    Route("/consultations/{consultation_id:int}", get_consultation, name="consultation"),
    Route("/consultations/{consultation_id:int}/comments.csv", comments_csv, name="consultation_comments_csv"),
    Route("/consultations/{consultation_id:int}/votes.csv", votes_csv, name="consultation_votes_csv"),
]

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ERR = {"description": "Not found (or still a draft)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

OPENAPI_PATHS: dict = {
    "/consultations": {"get": {
        "summary": "List consultations (open, closed, report published); drafts are never listed",
        "parameters": [
            {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["open", "closed", "reported"]}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        ],
        "responses": {"200": {"description": "A page of consultations (50 per page)", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ConsultationList"}}}},
            "422": {"description": "Unknown state filter", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    }},
    "/consultations/{id}": {"get": {
        "summary": "One consultation with its questions, officials' responses and closing report",
        "parameters": [_ID],
        "responses": {"200": {"description": "The consultation", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ConsultationDetail"}}}}, "404": _ERR},
    }},
    "/consultations/{id}/comments.csv": {"get": {
        "summary": "Comments in Polis's comments.csv format",
        "description": "Columns: timestamp (ms), datetime, comment-id, author-id (pseudonymous, stable within this "
                       "consultation), agrees, disagrees (current votes, one per participant), moderated (1 approved "
                       "by a moderator, 0 not reviewed, -1 hidden or held), comment-body (empty for comments not "
                       "shown on the site: hidden, held or deleted by their author).",
        "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _ERR},
    }},
    "/consultations/{id}/votes.csv": {"get": {
        "summary": "Every vote with its time, in Polis's votes.csv format",
        "description": "Columns: timestamp (ms), datetime, comment-id, voter-id (pseudonymous, stable within this "
                       "consultation, and deliberately not the same ids as comments.csv's author-id, so votes "
                       "cannot be tied to named comments), vote (1 agree, -1 disagree, 0 pass). A participant who "
                       "changed a vote appears again later; their latest row is their current vote.",
        "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _ERR},
    }},
}

_SUMMARY_PROPS = {
    "id": {"type": "integer"}, "title": {"type": "string"}, "summary": {"type": "string"},
    "state": {"type": "string", "enum": ["open", "closed", "reported"]},
    "department": {"type": ["string", "null"]}, "opens_at": {"type": ["string", "null"], "format": "date-time"},
    "closes_at": {"type": ["string", "null"], "format": "date-time"}, "comment_count": {"type": "integer"},
    "url": {"type": "string"},
}

OPENAPI_SCHEMAS: dict = {
    "ConsultationSummary": {"type": "object", "properties": _SUMMARY_PROPS},
    "ConsultationList": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/ConsultationSummary"}},
        "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}},
    "OfficialResponse": {"type": "object", "properties": {
        "id": {"type": "integer"}, "comment_id": {"type": ["integer", "null"]},
        "question_id": {"type": ["integer", "null"]},
        "decision": {"type": "string", "enum": ["noted", "will_act", "will_not_act", "already_happening"]},
        "text": {"type": "string"}, "commitment": {"type": ["string", "null"]},
        "follow_up_on": {"type": ["string", "null"], "format": "date"}, "department": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"}}},
    "ConsultationDetail": {"type": "object", "properties": {
        **_SUMMARY_PROPS,
        "body_html": {"type": "string", "description": "Sanitized HTML"},
        "questions": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "position": {"type": "integer"}, "text": {"type": "string"},
            "comment_count": {"type": "integer"}}}},
        "responses": {"type": "array", "items": {"$ref": "#/components/schemas/OfficialResponse"}},
        "report": {"type": ["object", "null"], "properties": {"html": {"type": "string"},
                                                               "published_at": {"type": "string"}}},
        "exports": {"type": "object", "properties": {"comments_csv": {"type": "string"},
                                                     "votes_csv": {"type": "string"}}}}},
}
