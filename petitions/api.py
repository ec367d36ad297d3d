"""Petitions open-data API (mounted under /api). Never includes signers' names, e-mail or IP addresses."""
from __future__ import annotations

import io
from datetime import date

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app import csv_export, open_data
from app.db import run_query
from app.errors import N_, NotFound, ValidationFailed
from app.http import settings_reader
from app.i18n import lazy_gettext
from app.reporting import department_json, department_scopes, report_for_request, round_share

from . import accountability, queries

CACHE = "public, max-age=60, stale-while-revalidate=300"
_settings = settings_reader("petitions")


def _iso(value):
    return value.isoformat() if value is not None else None


def petition_json(request: Request, view) -> dict:
    hidden = view.state == "hidden"
    return {
        "id": view.id,
        "url": request.app.state.renderer.absolute_url("petitions:detail", petition_id=view.id),
        "title": "" if hidden else view.action,
        "background": "" if hidden else view.background,
        "details": "" if hidden else view.details,
        "state": view.state,
        "signature_count": view.signature_count,
        "online_signature_count": view.online_signature_count,
        "paper_signature_count": view.paper_signature_count,
        "created_at": _iso(view.created_at),
        "opened_at": _iso(view.opened_at),
        "closes_at": _iso(view.closes_at),
        "closed_at": _iso(view.closed_at),
        # the moderator's explanation is public only where the petition's page shows it (not for hidden ones)
        "rejection": {"code": view.rejection_code, "details": "" if hidden else view.rejection_detail}
        if view.rejection_code else None,
        "department": view.department_name or None,
        "response_threshold_reached_at": _iso(view.response_threshold_at),
        "debate_threshold_reached_at": _iso(view.debate_threshold_at),
        # a hidden petition's page shows only that it was rejected and why: neither does the API
        "response": {"summary": view.response.summary, "details": view.response.details,
                     "decision": view.response.decision, "follow_up_on": _iso(view.response.follow_up_on),
                     "published_at": _iso(view.response.published_at)} if view.response and not hidden else None,
        "debate": {"debated_on": _iso(view.debate.debated_on), "summary": view.debate.summary,
                   "links": list(view.debate.links), "published_at": _iso(view.debate.published_at)}
        if view.debate and not hidden else None,
        "signatures_by_area": [] if hidden else [{"area": a, "count": n, "online": n - view.paper_in(a),
                                                  "paper": view.paper_in(a)} for a, n in view.areas],
    }


def _state_filter(request: Request) -> str:
    """The `state` filter: empty or one of the facets; anything else is a 422 that lists the valid values."""
    state = request.query_params.get("state", "")
    if state and state not in queries.FACETS:
        raise ValidationFailed({"state": "invalid"}, message=N_(
            "Unknown state filter. Use one of: open, closed, awaiting, responded, debated, rejected (or none for all)."))
    return state


def _area_filter(request: Request) -> str:
    """The `area` filter: empty or one of the configured areas (exact name); anything else is a 422 listing them."""
    area = request.query_params.get("area", "")
    areas = _settings(request).areas
    if area and area not in areas:
        raise ValidationFailed({"area": "invalid"}, message=N_(
            "Unknown area. Use one of the configured areas (listed in /api/openapi.json), or none for all."))
    return area


async def list_api(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    state = _state_filter(request)
    area = _area_filter(request)
    size = _settings(request).page_size
    result, views = await run_query(request, queries.list_petition_views, facet=state,
                                    q=params.get("q", ""), sort="newest", page=page, page_size=size, area=area)
    return JSONResponse({"data": [petition_json(request, v) for v in views], "meta": {
        "page": result.page, "pages": result.pages, "total": result.total, "state": result.facet or None, "q": result.q or None,
        "area": result.area or None,
    }}, headers={"Cache-Control": CACHE})


async def detail_api(request: Request) -> JSONResponse:
    view = await run_query(request, queries.petition_view, petition_id=request.path_params["petition_id"])
    if view is None or view.state not in (*queries.VISIBLE, "hidden"):
        raise NotFound("No published petition has that id.")
    return JSONResponse(petition_json(request, view), headers={"Cache-Control": CACHE})


async def csv_api(request: Request) -> Response:
    """Every petition of the list as CSV: one query, written out in chunks as it streams."""
    params = request.query_params
    state = _state_filter(request)
    rows = await run_query(request, queries.export_rows, facet=state, q=params.get("q", ""))
    url = request.app.state.renderer.absolute_url

    def chunks():
        buf = io.StringIO()
        writer = csv_export.writer(buf)
        writer.writerow(["id", "url", "title", "state", "signature_count", "online_signature_count",
                         "paper_signature_count", "created_at", "opened_at", "closes_at", "response_decision",
                         "response_summary", "debated_on"])
        for n, (pid, action, state_, count, paper, created, opened, closes, decision, summary, debated) in enumerate(rows, 1):
            writer.writerow((pid, url("petitions:detail", petition_id=pid), action, state_, count,
                             count - paper, paper, _iso(created), _iso(opened), _iso(closes), decision or "", summary or "", _iso(debated)))
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": CACHE, "Content-Disposition": 'attachment; filename="petitions.csv"'})


async def series_api(request: Request) -> JSONResponse:
    petition_id = request.path_params["petition_id"]
    view = await run_query(request, queries.count_view, petition_id=petition_id)
    if view is None or view.state not in queries.VISIBLE:
        raise NotFound("No published petition has that id.")
    points = await run_query(request, queries.series, petition_id=petition_id)
    return JSONResponse({"id": petition_id, "signature_count": view.signature_count,
                         "series": [{"hour": _iso(h), "signature_count": n} for h, n in points]},
                        headers={"Cache-Control": CACHE})


async def _response_report(request: Request):
    """The "how we respond" report for the request's `as_of` and `department`; a bad value is a 422."""
    return await report_for_request(
        request, accountability.response_report,
        deadline_days=_settings(request).response_deadline_days)


def _figures_json(f) -> dict:
    return {"reached_threshold": f.reached, "answered": f.answered, "median_days": f.median_days,
            "p90_days": f.p90_days, "due": f.due, "answered_within_deadline": f.answered_in_time,
            "share_within_deadline": round_share(f.share_in_time),
            "overdue": f.overdue}


def report_json(report, petition_url) -> dict:
    """The "how we respond" report as the API serves it; `petition_url(id)` is a petition's absolute URL."""
    return {
        "as_of": report.as_of.isoformat(), "deadline_days": report.deadline_days,
        "department": department_json(report.department),
        "figures": _figures_json(report.figures),
        "departments": [{"department": department_json(row.department), "figures": _figures_json(row.figures)}
                        for row in report.departments],
        "overdue": [{"id": o.petition_id, "url": petition_url(o.petition_id),
                     "title": o.action, "department": o.department.code if o.department else None,
                     "threshold_reached_at": _iso(o.threshold_at), "days_waiting": o.days_waiting}
                    for o in report.overdue],
        "overdue_not_listed": report.unlisted_overdue,
        "weeks": [{"start": w.start.isoformat(), "end": w.end.isoformat(), "answered": w.answered,
                   "median_days": w.median_days} for w in report.weeks],
    }


async def responses_api(request: Request) -> JSONResponse:
    report = await _response_report(request)
    url = request.app.state.renderer.absolute_url
    return JSONResponse(report_json(report, lambda pid: url("petitions:detail", petition_id=pid)),
                        headers={"Cache-Control": CACHE})


RESPONSE_TABLES = ("figures", "overdue", "weekly")


async def responses_csv(request: Request) -> Response:
    """One table of the report as CSV: `figures` (overall, then per department), `overdue` or `weekly`."""
    table = request.query_params.get("table", "figures")
    if table not in RESPONSE_TABLES:
        raise ValidationFailed({"table": "invalid"}, message=N_("Unknown table. Use one of: figures, overdue, weekly."))
    report = await _response_report(request)
    as_of = report.as_of.isoformat()
    scope = report.department.code if report.department else ""
    if table == "figures":
        header = ["as_of", "department_code", "department", "reached_threshold", "answered", "median_days", "p90_days",
                  "due", "answered_within_deadline", "share_within_deadline", "overdue", "deadline_days"]
        scopes = department_scopes(report.department, report.figures,
                                   ((row.department, row.figures) for row in report.departments))
        rows = [[as_of, code, name, f.reached, f.answered, f.median_days, f.p90_days, f.due, f.answered_in_time,
                 round_share(f.share_in_time), f.overdue, report.deadline_days] for code, name, f in scopes]
    elif table == "overdue":
        url = request.app.state.renderer.absolute_url
        header = ["as_of", "petition_id", "url", "title", "department_code", "threshold_reached_at", "days_waiting"]
        rows = [[as_of, o.petition_id, url("petitions:detail", petition_id=o.petition_id), o.action,
                 o.department.code if o.department else "", _iso(o.threshold_at), o.days_waiting]
                for o in report.overdue]
    else:
        header = ["as_of", "department_code", "week_start", "week_end", "answered", "median_days"]
        rows = [[as_of, scope, w.start.isoformat(), w.end.isoformat(), w.answered, w.median_days] for w in report.weeks]
    name = f"how-we-respond-{table}-{as_of}{'-' + scope if scope else ''}.csv"
    return Response(csv_export.to_csv(rows, header=header), media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": CACHE, "Content-Disposition": f'attachment; filename="{name}"'})


def snapshot_how_we_respond(session: Session, as_of: date, ctx: open_data.BuildContext) -> dict:
    """The open-data snapshot of "how we respond" (app.open_data): the report for all departments as of the day,
    without petition titles. A snapshot can never be edited, and a petition listed today may be hidden tomorrow:
    the archive keeps its id and link, and its page says what may be shown."""
    report = accountability.response_report(
        session, as_of=as_of, deadline_days=ctx.domain_settings["petitions"].response_deadline_days, now=ctx.now)
    assert report is not None  # None only for an unknown department, and this asks for all
    document = report_json(report, lambda pid: ctx.url("petitions:detail", petition_id=pid))
    for item in document["overdue"]:
        del item["title"]
    return document


def register_datasets(registry: open_data.DatasetRegistry) -> None:
    registry.register(open_data.Dataset(
        "petitions-how-we-respond", title=lazy_gettext("How we respond to petitions"),
        description=lazy_gettext("Response times to petitions that reached the response threshold, overall and per "
                                 "department; the overdue petitions (by id and link) and the weekly trend."),
        build=snapshot_how_we_respond, page="petitions:how_we_respond", live_json="api:petitions_responses",
        live_csv="api:petitions_responses_csv"))


routes = [
    Route("/petitions", list_api, name="petitions_list"),
    Route("/petitions/how-we-respond", responses_api, name="petitions_responses"),
    Route("/petitions/how-we-respond.csv", responses_csv, name="petitions_responses_csv"),
    Route("/petitions.csv", csv_api, name="petitions_csv"),
    Route("/petitions/{petition_id:int}", detail_api, name="petitions_detail"),
    Route("/petitions/{petition_id:int}/signatures-by-hour", series_api, name="petitions_series"),
]

_ERR = {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_BAD = {"description": "An unknown `state` filter", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}
_AS_OF = {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
          "description": "the day (YYYY-MM-DD, UTC) the figures are as of, at its end; default today (a later day "
                         "reads as today)"}
_DEPT = {"name": "department", "in": "query", "schema": {"type": "string"},
         "description": "a department code; default all departments (an unknown code is a 404)"}
_NO_DEPT = {"description": "No department has that code",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_BAD_REPORT = {"description": "A malformed `as_of` (not YYYY-MM-DD) or an unknown `table`",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
OPENAPI_PATHS = {
    "/petitions/how-we-respond": {"get": {
        "summary": "How we respond: response-time figures for petitions as of a day, overall and per department",
        "description": "Recomputed from when each petition reached the response threshold and when its response was "
                       "first published, so the figures for a past day do not change. No personal data.",
        "tags": ["petitions"], "parameters": [_AS_OF, _DEPT],
        "responses": {"200": {"description": "The figures, the overdue petitions and the weekly trend",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResponseReport"}}}},
                      "404": _NO_DEPT, "422": _BAD_REPORT},
    }},
    "/petitions/how-we-respond.csv": {"get": {
        "summary": "How we respond as CSV: one table (figures per department, overdue petitions or weeks)",
        "tags": ["petitions"],
        "parameters": [_AS_OF, _DEPT, {"name": "table", "in": "query",
                                       "schema": {"type": "string", "enum": list(RESPONSE_TABLES)},
                                       "description": "figures (default), overdue or weekly"}],
        "responses": {"200": {"description": "CSV; cells that a spreadsheet would run as formulas are prefixed with '",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "404": _NO_DEPT, "422": _BAD_REPORT},
    }},
    "/petitions": {"get": {
        "summary": "List petitions (newest first)", "tags": ["petitions"],
        "parameters": [
            {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(queries.FACETS)},
             "description": "open, closed, awaiting (response due), responded, debated or rejected; default all visible"},
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "words in the title or background"},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        ],
        "responses": {"200": {"description": "A page of petitions", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/Petition"}},
                "meta": {"type": "object", "properties": {"page": {"type": "integer"}, "pages": {"type": "integer"},
                                                          "total": {"type": "integer"}}}}}}}},
                      "422": _BAD},
    }},
    "/petitions.csv": {"get": {
        "summary": "All petitions as CSV (same filters as /petitions, without paging)", "tags": ["petitions"],
        "parameters": [{"name": "state", "in": "query", "schema": {"type": "string", "enum": list(queries.FACETS)}},
                       {"name": "q", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "CSV; cells that a spreadsheet would run as formulas are prefixed with '",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "422": _BAD},
    }},
    "/petitions/{id}": {"get": {
        "summary": "One petition with its response, debate and signatures by area", "tags": ["petitions"],
        "parameters": [_ID],
        "responses": {"200": {"description": "The petition", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Petition"}}}}, "404": _ERR},
    }},
    "/petitions/{id}/signatures-by-hour": {"get": {
        "summary": "Hourly time series of the settled signature count", "tags": ["petitions"],
        "parameters": [_ID],
        "responses": {"200": {"description": "Count at the end of each hour with signing activity",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PetitionSeries"}}}},
                      "404": _ERR},
    }},
}


def openapi_paths(domain_settings: dict) -> dict:
    """`/petitions` with its `area` filter, whose allowed values are the configured areas."""
    spec = dict(OPENAPI_PATHS["/petitions"]["get"])
    spec["summary"] = "List petitions (newest first; with `area`, most signatures in that area first)"
    spec["parameters"] = [*spec["parameters"], {
        "name": "area", "in": "query", "schema": {"type": "string", "enum": list(domain_settings["petitions"].areas)},
        "description": "only petitions signed in this area, most signatures there first (exact area name)"}]
    return {"/petitions": {"get": spec}}
_FIGURES = {"type": "object", "properties": {
    "reached_threshold": {"type": "integer"}, "answered": {"type": "integer"},
    "median_days": {"type": ["number", "null"]}, "p90_days": {"type": ["number", "null"]},
    "due": {"type": "integer", "description": "answered, or waiting longer than the deadline"},
    "answered_within_deadline": {"type": "integer"}, "share_within_deadline": {"type": ["number", "null"]},
    "overdue": {"type": "integer"}}}
_DEPARTMENT = {"type": ["object", "null"], "properties": {
    "code": {"type": "string"}, "name": {"type": "string"}, "name_zh": {"type": "string"}}}
OPENAPI_SCHEMAS = {
    "ResponseReport": {"type": "object", "properties": {
        "as_of": {"type": "string", "format": "date"}, "deadline_days": {"type": "integer"},
        "department": _DEPARTMENT, "figures": _FIGURES,
        "departments": {"type": "array", "items": {"type": "object", "properties": {
            "department": _DEPARTMENT, "figures": _FIGURES}}},
        "overdue": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"}, "title": {"type": "string"},
            "department": {"type": ["string", "null"]}, "threshold_reached_at": {"type": "string", "format": "date-time"},
            "days_waiting": {"type": "integer"}}}},
        "overdue_not_listed": {"type": "integer", "description": "overdue petitions that were removed (hidden)"},
        "weeks": {"type": "array", "items": {"type": "object", "properties": {
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "answered": {"type": "integer"}, "median_days": {"type": ["number", "null"]}}}}}},
    "Petition": {"type": "object", "required": ["id", "url", "title", "state", "signature_count"], "properties": {
        "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
        "title": {"type": "string", "description": "the action asked for (at most 80 characters)"},
        "background": {"type": "string"}, "details": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "closed", "rejected", "hidden"]},
        "signature_count": {"type": "integer", "description": "confirmed signatures, settled about every second: "
                                                              "online and paper together"},
        "online_signature_count": {"type": "integer", "description": "the confirmed online signatures"},
        "paper_signature_count": {"type": "integer", "description": "the signatures collected on paper at "
                                                                    "libraries and council offices, as recorded by "
                                                                    "clerks (and corrected)"},
        "created_at": {"type": "string", "format": "date-time"},
        "opened_at": {"type": ["string", "null"], "format": "date-time"},
        "closes_at": {"type": ["string", "null"], "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "rejection": {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "details": {"type": "string"}}},
        "department": {"type": ["string", "null"]},
        "response_threshold_reached_at": {"type": ["string", "null"], "format": "date-time"},
        "debate_threshold_reached_at": {"type": ["string", "null"], "format": "date-time"},
        "response": {"type": ["object", "null"], "properties": {
            "summary": {"type": "string"}, "details": {"type": "string"},
            "decision": {"type": "string", "enum": ["accepted", "partly_accepted", "rejected", "under_review"]},
            "follow_up_on": {"type": ["string", "null"], "format": "date"},
            "published_at": {"type": "string", "format": "date-time"}}},
        "debate": {"type": ["object", "null"], "properties": {
            "debated_on": {"type": "string", "format": "date"}, "summary": {"type": "string"},
            "links": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "published_at": {"type": "string", "format": "date-time"}}},
        "signatures_by_area": {"type": "array", "items": {"type": "object", "properties": {
            "area": {"type": "string"}, "count": {"type": "integer", "description": "online and paper"},
            "online": {"type": "integer"}, "paper": {"type": "integer"}}}},
    }},
    "PetitionSeries": {"type": "object", "properties": {
        "id": {"type": "integer"}, "signature_count": {"type": "integer"},
        "series": {"type": "array", "items": {"type": "object", "properties": {
            "hour": {"type": "string", "format": "date-time"}, "signature_count": {"type": "integer"}}}}}},
}
