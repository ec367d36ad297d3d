"""Moderation open-data API (mounted under /api): the monthly transparency report as JSON and CSV.

Counts only: no names, e-mail or IP addresses, post texts, or ids of people or posts.
"""
from __future__ import annotations

from datetime import date

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import csv_export, open_data
from app.clock import utc_now
from app.db import run_query
from app.i18n import lazy_gettext
from app.reporting import cutoff, round_share

from . import transparency

CACHE = "public, max-age=300"


async def _report(request: Request):
    """The report for the request's `month` (default: last month and this month); a malformed month is a 422."""
    month = transparency.parse_month(request.query_params.get("month", "")[:40])
    return await run_query(request, transparency.transparency_report, month=month, now=utc_now())


def _counts(rows) -> dict:
    return {row.key: row.count for row in rows}


def _month_json(m) -> dict:
    return {
        "month": m.month, "status": m.status, "screened": m.screened, "sent_to_review": m.reviewed, "held": m.held,
        "automatic_decisions": m.held, "human_decisions": m.human_decisions, "decision_records": m.decisions,
        "closed_in_own_workflow": m.workflow_closures,
        "decisions_by_reason": _counts(m.by_reason), "decisions_by_kind": _counts(m.by_kind),
        "decisions_by_outcome": _counts(m.by_outcome), "median_hours_to_decision": m.median_hours,
        "appeals": {"made": m.appeals_made, "decided": m.appeals_decided, "upheld": m.appeals_upheld,
                    "overturned": m.appeals_overturned},
        "model": [{"language": q.language, "decisions": q.decisions, "flagged_removed": q.tp, "flagged_approved": q.fp,
                   "unflagged_removed": q.fn, "unflagged_approved": q.tn,
                   "precision": round_share(q.precision),
                   "recall": round_share(q.recall)} for q in m.quality],
    }


def report_json(report) -> dict:
    return {"months": [_month_json(m) for m in report.months],
            "trend": [{"month": p.month, "screened": p.screened, "sent_to_review": p.reviewed, "held": p.held}
                      for p in report.trend]}


async def transparency_api(request: Request) -> JSONResponse:
    report = await _report(request)
    return JSONResponse(report_json(report), headers={"Cache-Control": CACHE})


CSV_HEADER = ("month", "status", "figure", "group", "value")


def csv_rows(report) -> list[list]:
    """The report in long form: one row per month, figure and group (a reason, kind, outcome or language)."""
    rows: list[list] = []
    for m in report.months:
        def add(figure, value, group="", m=m):
            rows.append([m.month, m.status, figure, group, value])

        for figure, value in (("screened", m.screened), ("sent_to_review", m.reviewed), ("held", m.held),
                              ("automatic_decisions", m.held), ("human_decisions", m.human_decisions),
                              ("decision_records", m.decisions), ("closed_in_own_workflow", m.workflow_closures),
                              ("median_hours_to_decision", m.median_hours), ("appeals_made", m.appeals_made),
                              ("appeals_decided", m.appeals_decided), ("appeals_upheld", m.appeals_upheld),
                              ("appeals_overturned", m.appeals_overturned)):
            add(figure, value)
        for figure, counts in (("decisions_by_reason", m.by_reason), ("decisions_by_kind", m.by_kind),
                               ("decisions_by_outcome", m.by_outcome)):
            for row in counts:
                add(figure, row.count, row.key)
        for q in m.quality:
            add("model_decisions", q.decisions, q.language)
            add("model_precision", round_share(q.precision), q.language)
            add("model_recall", round_share(q.recall), q.language)
    for p in report.trend:
        for figure, value in (("screened", p.screened), ("sent_to_review", p.reviewed), ("held", p.held)):
            rows.append([p.month, "trend", figure, "", value])
    return rows


async def transparency_csv(request: Request) -> Response:
    report = await _report(request)
    name = f"moderation-transparency-{report.chosen or report.months[-1].month}.csv"
    return Response(csv_export.to_csv(csv_rows(report), header=CSV_HEADER), media_type="text/csv; charset=utf-8",
                    headers={"Cache-Control": CACHE, "Content-Disposition": f'attachment; filename="{name}"'})


def snapshot_transparency(session: Session, as_of: date, ctx: open_data.BuildContext) -> dict:
    """The open-data snapshot of the transparency report (app.open_data) as the API serves it by default, as of
    the end of the day: the last complete month, the month to that day and the 12-month trend."""
    report = transparency.transparency_report(session, month=None, now=min(cutoff(as_of), ctx.now))
    return report_json(report)


def register_datasets(registry: open_data.DatasetRegistry) -> None:
    registry.register(open_data.Dataset(
        "moderation-transparency", title=lazy_gettext("Moderation transparency report"),
        description=lazy_gettext("Posts screened, sent to review and held; moderators' decisions by reason, kind "
                                 "and outcome; appeals; and how often the model agreed with moderators. Counts only."),
        build=snapshot_transparency, page="moderation:transparency", live_json="api:moderation_transparency",
        live_csv="api:moderation_transparency_csv"))


routes = [
    Route("/moderation/transparency", transparency_api, name="moderation_transparency"),
    Route("/moderation/transparency.csv", transparency_csv, name="moderation_transparency_csv"),
]

_MONTH = {"name": "month", "in": "query", "schema": {"type": "string", "pattern": transparency.MONTH_PATTERN},
          "description": "a calendar month, YYYY-MM (UTC, years 1900 to 2099); default the last complete month and "
                         "the current month to date"}
_BAD = {"description": "A malformed `month` (not YYYY-MM)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
OPENAPI_PATHS = {
    "/moderation/transparency": {"get": {
        "summary": "Moderation transparency report: screening, review, decisions, appeals and model quality per month",
        "description": "Counted from the recorded screenings, queue cases, decisions and appeals. Counts only: no "
                       "personal data, texts or ids.",
        "tags": ["moderation"], "parameters": [_MONTH],
        "responses": {"200": {"description": "The month(s) asked for and the 12-month trend",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/TransparencyReport"}}}},
                      "422": _BAD},
    }},
    "/moderation/transparency.csv": {"get": {
        "summary": "The moderation transparency report as CSV (long form: month, status, figure, group, value)",
        "tags": ["moderation"], "parameters": [_MONTH],
        "responses": {"200": {"description": "CSV; cells that a spreadsheet would run as formulas are prefixed with '",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "422": _BAD},
    }},
}
OPENAPI_SCHEMAS = {
    "TransparencyReport": {"type": "object", "properties": {
        "months": {"type": "array", "items": {"type": "object", "properties": {
            "month": {"type": "string"}, "status": {"type": "string", "enum": ["complete", "to-date", "future"]},
            "screened": {"type": "integer", "description": "posts whose screening in the month the model scored"},
            "sent_to_review": {"type": "integer", "description": "queue cases opened (appeals not included)"},
            "held": {"type": "integer", "description": "screened posts held until a moderator looked"},
            "automatic_decisions": {"type": "integer", "description": "the automatic holds (the model never removes)"},
            "human_decisions": {"type": "integer"}, "decision_records": {"type": "integer"},
            "closed_in_own_workflow": {"type": "integer"},
            "decisions_by_reason": _COUNTS, "decisions_by_kind": _COUNTS, "decisions_by_outcome": _COUNTS,
            "median_hours_to_decision": {"type": ["number", "null"]},
            "appeals": {"type": "object", "properties": {"made": {"type": "integer"}, "decided": {"type": "integer"},
                                                         "upheld": {"type": "integer"}, "overturned": {"type": "integer"}}},
            "model": {"type": "array", "items": {"type": "object", "properties": {
                "language": {"type": "string"}, "decisions": {"type": "integer"},
                "flagged_removed": {"type": "integer"}, "flagged_approved": {"type": "integer"},
                "unflagged_removed": {"type": "integer"}, "unflagged_approved": {"type": "integer"},
                "precision": {"type": ["number", "null"]}, "recall": {"type": ["number", "null"]}}}}}}},
        "trend": {"type": "array", "items": {"type": "object", "properties": {
            "month": {"type": "string"}, "screened": {"type": "integer"}, "sent_to_review": {"type": "integer"},
            "held": {"type": "integer"}}}}}},
}
