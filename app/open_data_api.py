"""Open-data snapshots under /api: the list, and each archived snapshot as its exact JSON bytes or as CSV.

A snapshot never changes, so its responses carry the SHA-256 of the archived JSON as a strong `ETag` (answered
with 304 when the client already has it) and may be cached for a year.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import open_data
from app.db import run_query
from app.errors import ValidationFailed
from app.i18n import gettext as _
from app.templating import IMMUTABLE

LIST_CACHE = "public, max-age=300"


def _snapshot_json(request: Request, info: open_data.SnapshotInfo) -> dict:
    url, day = request.app.state.renderer.absolute_url, info.as_of.isoformat()
    return {"as_of": day, "created_at": info.created_at.isoformat(), "size": info.size, "sha256": info.sha256,
            "json_url": url("api:snapshot_json", dataset=info.dataset, day=day),
            "csv_url": url("api:snapshot_csv", dataset=info.dataset, day=day)}


async def list_api(request: Request) -> JSONResponse:
    registry = request.app.state.open_data
    chosen = request.query_params.get("dataset", "")
    if chosen and registry.get(chosen) is None:
        raise ValidationFailed({"dataset": "invalid"}, message=_(
            "Unknown dataset. Use one of: %(names)s (or none for all).", names=", ".join(registry.names())))
    snapshots = await run_query(request, open_data.list_snapshots, dataset=chosen or None)
    publisher = request.app.state.settings.site_name
    return JSONResponse({"publisher": publisher, "datasets": [{
        "name": d.name, "title": str(d.title), "description": str(d.description),
        "snapshots": [_snapshot_json(request, s) for s in snapshots if s.dataset == d.name],
    } for d in registry if not chosen or d.name == chosen]}, headers={"Cache-Control": LIST_CACHE})


async def _snapshot(request: Request) -> open_data.Snapshot:
    return await run_query(request, open_data.find, registry=request.app.state.open_data,
                           dataset=request.path_params["dataset"][:100], day=request.path_params["day"][:40])


def _immutable(request: Request, snapshot: open_data.Snapshot, body: bytes | str, media_type: str,
               filename: str) -> Response:
    etag = f'"{snapshot.info.sha256}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Content-Disposition": f'inline; filename="{filename}"'}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def snapshot_json(request: Request) -> Response:
    snapshot = await _snapshot(request)
    info = snapshot.info
    return _immutable(request, snapshot, snapshot.body, "application/json",
                      f"{info.dataset}-{info.as_of.isoformat()}.json")


async def snapshot_csv(request: Request) -> Response:
    snapshot = await _snapshot(request)
    info = snapshot.info
    return _immutable(request, snapshot, open_data.snapshot_csv(snapshot.body), "text/csv; charset=utf-8",
                      f"{info.dataset}-{info.as_of.isoformat()}.csv")


routes = [
    Route("/snapshots", list_api, name="snapshots"),
    Route("/snapshots/{dataset}/{day}.json", snapshot_json, name="snapshot_json"),
    Route("/snapshots/{dataset}/{day}.csv", snapshot_csv, name="snapshot_csv"),
]

_ERROR: dict[str, Any] = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_DATASET = {"type": "string", "pattern": open_data.NAME_PATTERN}
_PARAMS: list[dict[str, Any]] = [
    {"name": "dataset", "in": "path", "required": True, "schema": _DATASET,
     "description": "the dataset's name, as listed by /snapshots (e.g. petitions-how-we-respond)"},
    {"name": "day", "in": "path", "required": True,
     "schema": {"type": "string", "pattern": open_data.DAY_PATTERN, "format": "date"},
     "description": "the day the snapshot is as of (YYYY-MM-DD, at its end, UTC), as listed by /snapshots"},
]
_RESPONSES: dict[str, Any] = {
    "304": {"description": "Not modified: the client's copy (If-None-Match) is this snapshot"},
    "404": {"description": "No such dataset, or no snapshot of it for that day: the message lists what exists",
            **_ERROR},
    "422": {"description": "A malformed day (not YYYY-MM-DD)", **_ERROR},
}
_HEADERS = {
    "ETag": {"description": "the SHA-256 of the archived JSON document, quoted", "schema": {"type": "string"}},
    "Cache-Control": {"description": "a snapshot never changes: cacheable for a year", "schema": {"type": "string"}},
}
OPENAPI_PATHS: dict[str, Any] = {
    "/snapshots": {"get": {
        "summary": "Dated snapshots of the accountability datasets: every dataset and its archived days",
        "description": "A snapshot of each dataset is archived after the end of every week (as of Sunday, UTC). "
                       "Archived bytes never change; cite a snapshot by its URL and SHA-256.",
        "tags": ["open data"],
        "parameters": [{"name": "dataset", "in": "query", "schema": _DATASET,
                        "description": "only this dataset (an unknown name is a 422 that lists the datasets)"}],
        "responses": {"200": {"description": "The datasets and their snapshots, newest first",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/SnapshotList"}}}},
                      "422": {"description": "An unknown dataset", **_ERROR}},
    }},
    "/snapshots/{dataset}/{day}.json": {"get": {
        "summary": "One archived snapshot: exactly the archived JSON bytes",
        "description": "The canonical JSON (sorted keys, UTF-8) whose SHA-256 is listed by /snapshots and sent "
                       "as the ETag. No personal data.",
        "tags": ["open data"], "parameters": _PARAMS,
        "responses": {"200": {"description": "The archived document", "headers": _HEADERS,
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/Snapshot"}}}}, **_RESPONSES},
    }},
    "/snapshots/{dataset}/{day}.csv": {"get": {
        "summary": "One archived snapshot as CSV, made from the archived JSON (long form: dataset, as_of, path, value)",
        "tags": ["open data"], "parameters": _PARAMS,
        "responses": {"200": {"description": "CSV; cells that a spreadsheet would run as formulas are prefixed with '",
                              "headers": _HEADERS, "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_RESPONSES},
    }},
}


def openapi_paths(datasets: open_data.DatasetRegistry) -> dict:
    """The paths with the registered datasets' names as the allowed values of `dataset`."""
    names = {"type": "string", "enum": datasets.names()}
    paths = {}
    for path, spec in OPENAPI_PATHS.items():
        get = dict(spec["get"])
        get["parameters"] = [{**p, "schema": names} if p["name"] == "dataset" else p for p in get.get("parameters", [])]
        paths[path] = {"get": get}
    return paths


def api_module(datasets: open_data.DatasetRegistry) -> SimpleNamespace:
    """What app.api mounts and documents, for this site's registered datasets."""
    return SimpleNamespace(routes=routes, OPENAPI_PATHS=openapi_paths(datasets), OPENAPI_SCHEMAS=OPENAPI_SCHEMAS)


OPENAPI_SCHEMAS = {
    "SnapshotList": {"type": "object", "required": ["publisher", "datasets"], "properties": {
        "publisher": {"type": "string"},
        "datasets": {"type": "array", "items": {"type": "object", "required": ["name", "title", "snapshots"],
                                                "properties": {
            "name": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "snapshots": {"type": "array", "items": {"type": "object", "properties": {
                "as_of": {"type": "string", "format": "date"}, "created_at": {"type": "string", "format": "date-time"},
                "size": {"type": "integer", "description": "bytes of the archived JSON"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "json_url": {"type": "string", "format": "uri"}, "csv_url": {"type": "string", "format": "uri"}}}}}}}}},
    "Snapshot": {"type": "object", "required": ["dataset", "as_of", "data"], "properties": {
        "dataset": {"type": "string"}, "title": {"type": "string"}, "as_of": {"type": "string", "format": "date"},
        "as_of_end": {"type": "string", "format": "date-time", "description": "the moment the figures are as of"},
        "created_at": {"type": "string", "format": "date-time"}, "publisher": {"type": "string"},
        "licence": {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
        "data": {"type": "object", "description": "the dataset's document, as its live API serves it (less any "
                                                  "residents' text, which a snapshot never holds)"}}},
}
