"""Consultations open-data API (mounted under /api): JSON listings and Polis-compatible CSV exports.

No names, e-mail addresses or user ids of residents: participants appear only as pseudonymous ids that are
stable within one consultation (HMAC of the site's secret key); voter ids and author ids come from two unlinked
namespaces, so votes can't be tied to named comments.
"""
from __future__ import annotations

import math
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import csv_export, open_data
from app.db import run_query
from app.errors import N_, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.i18n import lazy_gettext
from app.models import Department
from app.reporting import department_json, department_scopes, report_for_request, round_share

from . import accountability, participation, polis, queries
from .models import VISIBLE_STATES, Consultation, ConsultationState

PER_PAGE = 50


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(request: Request, c: queries.ConsultationView) -> dict:
    return {
        "id": c.id, "title": c.title, "summary": c.summary, "state": c.state, "department": c.department or None,
        "opens_at": _iso(c.opens_at), "closes_at": _iso(c.closes_at), "comment_count": c.comment_count,
        "url": request.app.state.renderer.absolute_url("consultations:detail", consultation_id=c.id),
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
        queries.list_responses(session, consultation_id=consultation_id)[1], \
        participation.by_area(session, consultation_id=consultation_id)


def _area_json(row: participation.AreaCount) -> dict:
    return {"area": row.area, "participants": row.participants,
            "fewer_than": participation.SMALL if row.suppressed else None}


async def get_consultation(request: Request) -> JSONResponse:
    cid = request.path_params["consultation_id"]
    consultation, questions, responses, areas = await run_query(request, _detail, consultation_id=cid)
    url = request.app.state.renderer.absolute_url
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
        "participation_by_area": [_area_json(row) for row in areas],
        "exports": {"comments_csv": url("api:consultation_comments_csv", consultation_id=cid),
                    "votes_csv": url("api:consultation_votes_csv", consultation_id=cid),
                    "participation_by_area_csv": url("api:consultation_areas_csv", consultation_id=cid)},
    })
    return JSONResponse(data)


def _visible_areas(session: Session, *, consultation_id: int) -> tuple[participation.AreaCount, ...]:
    queries.get_consultation(session, consultation_id=consultation_id)  # NotFound for drafts and unknown ids
    return participation.by_area(session, consultation_id=consultation_id)


async def areas_csv(request: Request) -> Response:
    """Participants per area; an area with fewer than 5 has no count, only `fewer_than` 5."""
    cid = request.path_params["consultation_id"]
    rows = await run_query(request, _visible_areas, consultation_id=cid)
    text = csv_export.to_csv([[cid, r.area, r.participants if r.participants is not None else "",
                               participation.SMALL if r.suppressed else ""] for r in rows],
                             header=["consultation_id", "area", "participants", "fewer_than"])
    return _csv_response(text, f"consultation-{cid}-participation-by-area.csv")


# ----- How we respond: the consultations' figures -----

async def _report(request: Request) -> accountability.ConsultationReport:
    """The report for the request's `as_of` and `department`: a malformed day is a 422, an unknown code a 404."""
    return await report_for_request(request, accountability.consultation_report)


def _figures_json(f: accountability.Figures) -> dict:
    return {"closed": f.closed, "with_outcome": f.with_outcome, "without_outcome": f.waiting,
            "median_days_to_outcome": f.median_days, "comments": f.comments,
            "comments_answered": f.comments_answered, "share_comments_answered": round_share(f.share_comments_answered),
            "questions": f.themes, "questions_answered": f.themes_answered,
            "share_questions_answered": round_share(f.share_themes_answered)}


def report_json(report: accountability.ConsultationReport, url_of) -> dict:
    """The report as the API's JSON document; `url_of(consultation_id)` gives a consultation's absolute URL."""
    return {
        "as_of": report.as_of.isoformat(), "department": department_json(report.department),
        "figures": _figures_json(report.figures),
        "departments": [{"department": department_json(row.department), "figures": _figures_json(row.figures)}
                        for row in report.departments],
        "without_outcome": [{"id": w.consultation_id, "title": w.title, "url": url_of(w.consultation_id),
                             "department": w.department.code if w.department else None,
                             "closed_at": _iso(w.closed_at), "days_waiting": w.days_waiting} for w in report.waiting],
        "weeks": [{"start": w.start.isoformat(), "end": w.end.isoformat(), "outcomes": w.outcomes,
                   "median_days_to_outcome": w.median_days, "without_outcome_at_end": w.waiting,
                   "share_comments_answered_at_end": round_share(w.share_comments_answered)} for w in report.weeks],
    }


async def responses_api(request: Request) -> JSONResponse:
    report = await _report(request)
    url = request.app.state.renderer.absolute_url
    document = report_json(report, lambda cid: url("consultations:detail", consultation_id=cid))
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


def snapshot_how_we_respond(session: Session, as_of: date, ctx: open_data.BuildContext) -> dict:
    """The open-data snapshot of the consultations' "how we respond" figures (app.open_data), for all departments,
    without consultation titles: an archive can never be edited, and a title shown today may be withdrawn later."""
    report = accountability.consultation_report(session, as_of=as_of, now=ctx.now)
    assert report is not None  # None only for an unknown department, and this asks for all
    document = report_json(report, lambda cid: ctx.url("consultations:detail", consultation_id=cid))
    for item in document["without_outcome"]:
        del item["title"]
    return document


def register_datasets(registry: open_data.DatasetRegistry) -> None:
    registry.register(open_data.Dataset(
        "consultations-how-we-respond", title=lazy_gettext("How we respond to consultations"),
        description=lazy_gettext("For closed consultations, overall and per department: comments and questions "
                                 "answered, days from closing to the published outcome, the consultations still "
                                 "without an outcome (by id and link) and the weekly trend."),
        build=snapshot_how_we_respond, page="petitions:how_we_respond", live_json="api:consultations_responses",
        live_csv="api:consultations_responses_csv"))


RESPONSE_TABLES = ("figures", "waiting", "weekly")


async def responses_csv(request: Request) -> Response:
    """One table of the report as CSV: `figures` (overall, then per department), `waiting` or `weekly`."""
    table = request.query_params.get("table", "figures")
    if table not in RESPONSE_TABLES:
        raise ValidationFailed({"table": "invalid"}, message=N_("Unknown table. Use one of: figures, waiting, weekly."))
    report = await _report(request)
    as_of = report.as_of.isoformat()
    scope = report.department.code if report.department else ""
    if table == "figures":
        header = ["as_of", "department_code", "department", "closed", "with_outcome", "without_outcome",
                  "median_days_to_outcome", "comments", "comments_answered", "share_comments_answered", "questions",
                  "questions_answered", "share_questions_answered"]
        scopes = department_scopes(report.department, report.figures,
                                   ((row.department, row.figures) for row in report.departments))
        rows = [[as_of, code, name, f.closed, f.with_outcome, f.waiting, f.median_days, f.comments,
                 f.comments_answered, round_share(f.share_comments_answered), f.themes, f.themes_answered,
                 round_share(f.share_themes_answered)] for code, name, f in scopes]
    elif table == "waiting":
        url = request.app.state.renderer.absolute_url
        header = ["as_of", "consultation_id", "url", "title", "department_code", "closed_at", "days_waiting"]
        rows = [[as_of, w.consultation_id, url("consultations:detail", consultation_id=w.consultation_id),
                 w.title, w.department.code if w.department else "", _iso(w.closed_at), w.days_waiting]
                for w in report.waiting]
    else:
        header = ["as_of", "department_code", "week_start", "week_end", "outcomes", "median_days_to_outcome",
                  "without_outcome_at_end", "share_comments_answered_at_end"]
        rows = [[as_of, scope, w.start.isoformat(), w.end.isoformat(), w.outcomes, w.median_days, w.waiting,
                 round_share(w.share_comments_answered)] for w in report.weeks]
    name = f"consultations-how-we-respond-{table}-{as_of}{'-' + scope if scope else ''}.csv"
    return _csv_response(csv_export.to_csv(rows, header=header), name)


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
    Route("/consultations/{consultation_id:int}/participation-by-area.csv", areas_csv,
          name="consultation_areas_csv"),
    Route("/consultations/how-we-respond", responses_api, name="consultations_responses"),
    Route("/consultations/how-we-respond.csv", responses_csv, name="consultations_responses_csv"),
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
        "summary": "Every vote with its day (times are not published), in Polis's votes.csv format",
        "description": "Columns: timestamp (ms), datetime, comment-id, voter-id (pseudonymous, stable within this "
                       "consultation, and deliberately not the same ids as comments.csv's author-id, so votes "
                       "cannot be tied to named comments), vote (1 agree, -1 disagree, 0 pass). A participant who "
                       "changed a vote appears again later; their latest row is their current vote.",
        "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _ERR},
    }},
}

_AS_OF = {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
          "description": "the day (YYYY-MM-DD, UTC) the figures are as of, at its end; default today (a later day "
                         "reads as today)"}
_DEPT = {"name": "department", "in": "query", "schema": {"type": "string"},
         "description": "a department code; default all departments (an unknown code is a 404)"}
_NO_DEPT = {"description": "No department has that code",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_BAD_REPORT = {"description": "A malformed `as_of` (not YYYY-MM-DD) or an unknown `table`",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
OPENAPI_PATHS.update({
    "/consultations/how-we-respond": {"get": {
        "summary": "How we respond, consultations: comments and questions answered, days from closing to the "
                   "published outcome, consultations waiting for one, as of a day, overall and per department",
        "description": "Recomputed from when each consultation first closed, when its outcome was first published "
                       "and when each official response was first published, so a past day's figures do not "
                       "change. No personal data.",
        "parameters": [_AS_OF, _DEPT],
        "responses": {"200": {"description": "The figures, the consultations waiting and the weekly trend",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/ConsultationResponseReport"}}}},
                      "404": _NO_DEPT, "422": _BAD_REPORT},
    }},
    "/consultations/how-we-respond.csv": {"get": {
        "summary": "How we respond, consultations, as CSV: one table (figures per department, consultations "
                   "waiting for an outcome, or weeks)",
        "parameters": [_AS_OF, _DEPT, {"name": "table", "in": "query",
                                       "schema": {"type": "string", "enum": list(RESPONSE_TABLES)},
                                       "description": "figures (default), waiting or weekly"}],
        "responses": {"200": {"description": "CSV; cells that a spreadsheet would run as formulas are prefixed with '",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _NO_DEPT, "422": _BAD_REPORT},
    }},
    "/consultations/{id}/participation-by-area.csv": {"get": {
        "summary": "Distinct participants per area they gave (optional), for a consultation",
        "description": "Columns: consultation_id, area, participants (empty when fewer than 5), fewer_than (5 when "
                       "the count is too small to publish). No individual's area is ever published.",
        "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _ERR},
    }},
})

_CONSULTATION_FIGURES = {"type": "object", "properties": {
    "closed": {"type": "integer"}, "with_outcome": {"type": "integer"}, "without_outcome": {"type": "integer"},
    "median_days_to_outcome": {"type": ["number", "null"]}, "comments": {"type": "integer"},
    "comments_answered": {"type": "integer"}, "share_comments_answered": {"type": ["number", "null"]},
    "questions": {"type": "integer"}, "questions_answered": {"type": "integer"},
    "share_questions_answered": {"type": ["number", "null"]}}}
_DEPARTMENT = {"type": ["object", "null"], "properties": {
    "code": {"type": "string"}, "name": {"type": "string"}, "name_zh": {"type": "string"}}}
_AREA_COUNT = {"type": "object", "properties": {
    "area": {"type": "string"},
    "participants": {"type": ["integer", "null"], "description": "null when fewer than 5"},
    "fewer_than": {"type": ["integer", "null"], "description": "5 when the count is too small to publish"}}}

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
        "participation_by_area": {"type": "array", "items": _AREA_COUNT},
        "exports": {"type": "object", "properties": {"comments_csv": {"type": "string"},
                                                     "votes_csv": {"type": "string"},
                                                     "participation_by_area_csv": {"type": "string"}}}}},
    "ConsultationResponseReport": {"type": "object", "properties": {
        "as_of": {"type": "string", "format": "date"}, "department": _DEPARTMENT, "figures": _CONSULTATION_FIGURES,
        "departments": {"type": "array", "items": {"type": "object", "properties": {
            "department": _DEPARTMENT, "figures": _CONSULTATION_FIGURES}}},
        "without_outcome": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "url": {"type": "string", "format": "uri"},
            "department": {"type": ["string", "null"]}, "closed_at": {"type": "string", "format": "date-time"},
            "days_waiting": {"type": "integer"}}}},
        "weeks": {"type": "array", "items": {"type": "object", "properties": {
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "outcomes": {"type": "integer"}, "median_days_to_outcome": {"type": ["number", "null"]},
            "without_outcome_at_end": {"type": "integer"},
            "share_comments_answered_at_end": {"type": ["number", "null"]}}}}}},
}
