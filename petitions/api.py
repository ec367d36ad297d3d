"""Petitions open-data API (mounted under /api). Never includes signers' names, e-mail or IP addresses."""
from __future__ import annotations

import io

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app import csv_export
from app.db import run_query
from app.errors import N_, NotFound, ValidationFailed

from . import queries

CACHE = "public, max-age=60, stale-while-revalidate=300"


def _iso(value):
    return value.isoformat() if value is not None else None


def petition_json(request: Request, view) -> dict:
    base = request.app.state.settings.base_url.rstrip("/")
    hidden = view.state == "hidden"
    return {
        "id": view.id,
        "url": base + request.app.state.renderer.path("petitions:detail", petition_id=view.id),
        "title": "" if hidden else view.action,
        "background": "" if hidden else view.background,
        "details": "" if hidden else view.details,
        "state": view.state,
        "signature_count": view.signature_count,
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
        "signatures_by_area": [] if hidden else [{"area": a, "count": n} for a, n in view.areas],
    }


def _state_filter(request: Request) -> str:
    """The `state` filter: empty or one of the facets; anything else is a 422 that lists the valid values."""
    state = request.query_params.get("state", "")
    if state and state not in queries.FACETS:
        raise ValidationFailed({"state": "invalid"}, message=N_(
            "Unknown state filter. Use one of: open, closed, awaiting, responded, debated, rejected (or none for all)."))
    return state


async def list_api(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    state = _state_filter(request)
    size = request.app.state.domain_settings["petitions"].page_size
    result, views = await run_query(request, queries.list_petition_views, facet=state,
                                    q=params.get("q", ""), sort="newest", page=page, page_size=size)
    return JSONResponse({"data": [petition_json(request, v) for v in views], "meta": {
        "page": result.page, "pages": result.pages, "total": result.total, "state": result.facet or None, "q": result.q or None,
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
    base = request.app.state.settings.base_url.rstrip("/")
    path = request.app.state.renderer.path

    def chunks():
        buf = io.StringIO()
        writer = csv_export.writer(buf)
        writer.writerow(["id", "url", "title", "state", "signature_count", "created_at", "opened_at", "closes_at",
                         "response_decision", "response_summary", "debated_on"])
        for n, (pid, action, state_, count, created, opened, closes, decision, summary, debated) in enumerate(rows, 1):
            writer.writerow((pid, base + path("petitions:detail", petition_id=pid), action, state_, count,
                             _iso(created), _iso(opened), _iso(closes), decision or "", summary or "", _iso(debated)))
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


routes = [
    Route("/petitions", list_api, name="petitions_list"),
    Route("/petitions.csv", csv_api, name="petitions_csv"),
    Route("/petitions/{petition_id:int}", detail_api, name="petitions_detail"),
    Route("/petitions/{petition_id:int}/signatures-by-hour", series_api, name="petitions_series"),
]

_ERR = {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_BAD = {"description": "An unknown `state` filter", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}
OPENAPI_PATHS = {
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
OPENAPI_SCHEMAS = {
    "Petition": {"type": "object", "required": ["id", "url", "title", "state", "signature_count"], "properties": {
        "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
        "title": {"type": "string", "description": "the action asked for (at most 80 characters)"},
        "background": {"type": "string"}, "details": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "closed", "rejected", "hidden"]},
        "signature_count": {"type": "integer", "description": "confirmed signatures, settled about every second"},
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
            "area": {"type": "string"}, "count": {"type": "integer"}}}},
    }},
    "PetitionSeries": {"type": "object", "properties": {
        "id": {"type": "integer"}, "signature_count": {"type": "integer"},
        "series": {"type": "array", "items": {"type": "object", "properties": {
            "hour": {"type": "string", "format": "date-time"}, "signature_count": {"type": "integer"}}}}}},
}
