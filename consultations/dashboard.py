"""Officials' feedback-analysis dashboard (mounted at /officials): thin handlers over `dashboard_queries` (reads)
and `dashboard_jobs` (writes). Every page works without JavaScript; htmx swaps the themes region in place.
"""
from __future__ import annotations

import io
from itertools import accumulate

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import csv_export
from app.auth import require_roles, signed_in_actor
from app.charts import balance_bar, bar_chart, line_chart, scatter_map, share_bar, sparkline
from app.db import run_in_session, run_query
from app.errors import ValidationFailed
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import Role
from app.templating import flash, is_htmx, render

from . import dashboard_jobs as jobs
from . import dashboard_queries as dq
from . import forms, queries
from .labels import decision_label
from .models import ResponseDecision

THEMES_PARTIAL = "consultations/dashboard/_themes.html"


def _url(request: Request, name: str, _query: dict | None = None, **params) -> str:
    return request.app.state.renderer.path(name, _query, **params)


def _actor_id(request: Request) -> int:
    return signed_in_actor(request).user_id  # every route here is behind require_roles


async def _staff(request: Request) -> queries.StaffScope | None:
    """The viewer's reach as staff, from the database: every dashboard page and action is for staff who may
    manage the consultation (officials of its department, administrators)."""
    return await run_query(request, queries.staff_scope, user_id=_actor_id(request))


async def _guard(request: Request) -> queries.StaffScope:
    """Refuse (403) an official of another department before reading or changing anything."""
    staff = await _staff(request)
    await run_query(request, queries.managed_consultation, consultation_id=request.path_params["consultation_id"],
                    staff=staff)
    assert staff is not None  # managed_consultation refuses a viewer without a staff scope
    return staff


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _decisions() -> list[tuple[str, str]]:
    return [(d.value, decision_label(d.value)) for d in ResponseDecision]


def _charts(request: Request, page: dq.DashboardPage) -> dict:
    a = page.analysis
    if a is None:
        return {}
    charts = {}
    if a.themes:
        charts["themes"] = bar_chart(
            [(t.label, t.distinct) for t in a.themes],
            title=_("Themes by number of distinct comments"),
            description=_("Each bar is a theme; its length is the number of distinct comments in it, a copy-paste "
                          "campaign counted once. The table below has the same numbers, each linking to the "
                          "comments behind it."))
    op = a.opinions
    if op.points:
        names = [_("Group %(n)s", n=g.id + 1) for g in op.groups]
        charts["map"] = scatter_map(
            op.points, title=_("Map of participants by how they voted"),
            description=_("Each dot is one participant (anonymous), placed by their votes and coloured by opinion "
                          "group; people who voted alike are close together. Group sizes are in the table."),
            group_names=names, width=560, height=330, label_groups=True)
    if len(page.activity) > 1:
        # running totals: a quiet spell shows as a flat stretch instead of a line that sits on zero
        first, last = page.activity[0].start.isoformat(), page.activity[-1].start.isoformat()
        charts["comments_line"] = sparkline(
            list(accumulate(p.comments for p in page.activity)), title=_("Comments over time"),
            description=_("Total comments so far, period by period from %(first)s to %(last)s; the numbers per "
                          "period are in the table “Participation over time”.", first=first, last=last))
        charts["votes_line"] = sparkline(
            list(accumulate(p.votes for p in page.activity)), title=_("Votes over time"),
            description=_("Total votes so far, period by period from %(first)s to %(last)s; the numbers per "
                          "period are in the table “Participation over time”.", first=first, last=last))
    return charts


def _context(request: Request, page: dq.DashboardPage, *, printable: bool, errors: dict | None = None,
             values: dict | None = None, notice: str = "", summary_oob: bool = False,
             unfold_themes: bool | None = None) -> dict:
    return {"p": page, "consultation": page.consultation, "a": page.analysis, "summary": dq.summary(page),
            "charts": _charts(request, page), "share_bar": share_bar, "balance_bar": balance_bar,
            "errors": errors or {}, "values": values or {}, "notice": notice, "printable": printable,
            "lang_of": dq.lang_of, "summary_oob": summary_oob,
            "unfold_themes": printable if unfold_themes is None else unfold_themes}


async def _dashboard_response(request: Request, *, errors: dict | None = None, values: dict | None = None,
                              notice: str = "", status_code: int = 200) -> Response:
    cid = request.path_params["consultation_id"]
    page = await run_query(request, dq.dashboard_page, consultation_id=cid, staff=await _staff(request))
    # an edit swapped in by htmx also replaces the summary (out of band), so its theme bars never go stale
    ctx = _context(request, page, printable=False, errors=errors, values=values, notice=notice,
                   summary_oob=is_htmx(request),
                   unfold_themes=bool(errors or notice) or request.query_params.get("open") == "themes")
    return render(request, "consultations/dashboard/index.html", ctx, partial=THEMES_PARTIAL, status_code=status_code)


@require_roles(Role.OFFICIAL)
async def analysis(request: Request) -> Response:
    return await _dashboard_response(request)


@require_roles(Role.OFFICIAL)
async def report(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    page = await run_query(request, dq.dashboard_page, consultation_id=cid, staff=await _staff(request))
    return render(request, "consultations/dashboard/report.html", _context(request, page, printable=True))


async def _comments_response(request: Request, *, theme_key=None, campaign_position=None, errors=None,
                             values=None, status_code: int = 200) -> Response:
    cid = request.path_params["consultation_id"]
    cp = await run_query(request, dq.comments_page, consultation_id=cid, theme_key=theme_key,
                         campaign_position=campaign_position, page=_page_number(request),
                         staff=await _staff(request))
    trend_chart = None
    if cp.theme is not None and len(cp.trend) > 1:
        trend_chart = line_chart([(b, n) for b, n in cp.trend], title=_("Comments in this theme over time"),
                                 description=_("Number of comments in this theme per period, from %(first)s to "
                                               "%(last)s.", first=cp.trend[0][0], last=cp.trend[-1][0]))
    return render(request, "consultations/dashboard/comments.html", {
        "cp": cp, "consultation": cp.consultation, "trend_chart": trend_chart, "decisions": _decisions(),
        "decision_label": decision_label, "errors": errors or {}, "values": values or {}, "lang_of": dq.lang_of},
        status_code=status_code)


@require_roles(Role.OFFICIAL)
async def theme(request: Request) -> Response:
    return await _comments_response(request, theme_key=request.path_params["theme_key"])


@require_roles(Role.OFFICIAL)
async def campaign(request: Request) -> Response:
    return await _comments_response(request, campaign_position=request.path_params["position"])


def _back(request: Request) -> RedirectResponse:
    # ?open=themes unfolds the themes' details, whose form the official just used (not every browser unfolds
    # a <details> for its #fragment)
    return RedirectResponse(_url(request, "dashboard:analysis", {"open": "themes"},
                                 consultation_id=request.path_params["consultation_id"]) + "#themes", 303)


async def _after_edit(request: Request, message: str) -> Response:
    if is_htmx(request):
        return await _dashboard_response(request, notice=message)
    flash(request, message, "success")
    return _back(request)


@require_roles(Role.OFFICIAL)
async def rename(request: Request) -> Response:
    await _guard(request)
    form = await request.form()
    label = forms.text(form, "label", 400)
    key = request.path_params["theme_key"]
    try:
        await run_in_session(request, jobs.rename_theme, consultation_id=request.path_params["consultation_id"],
                             theme_key=key, label=label, official_id=_actor_id(request))
    except ValidationFailed as exc:
        return await _dashboard_response(request, errors={f"label-{key}": exc.errors.get("label", "")},
                                         values={f"label-{key}": label}, status_code=422)
    return await _after_edit(request, _("Theme renamed. The name stays after re-analysis while the theme keeps "
                                        "mostly the same comments."))


@require_roles(Role.OFFICIAL)
async def merge(request: Request) -> Response:
    await _guard(request)
    form = await request.form()
    keys = [int(v) for v in form.getlist("theme") if isinstance(v, str) and v.isdigit()]
    label = forms.text(form, "merge-label", 400)
    try:
        await run_in_session(request, jobs.merge_themes, consultation_id=request.path_params["consultation_id"],
                             theme_keys=keys, label=label, official_id=_actor_id(request))
    except ValidationFailed as exc:
        return await _dashboard_response(request, errors={f"merge-{k}": v for k, v in exc.errors.items()},
                                         values={"merge-label": label, "merge-keys": keys}, status_code=422)
    return await _after_edit(request, _("Themes merged. They stay merged after re-analysis."))


@require_roles(Role.OFFICIAL)
async def split(request: Request) -> Response:
    await _guard(request)
    await run_in_session(request, jobs.split_theme, consultation_id=request.path_params["consultation_id"],
                         theme_key=request.path_params["theme_key"], official_id=_actor_id(request))
    return await _after_edit(request, _("Theme split in two. The split is repeated after re-analysis."))


@require_roles(Role.OFFICIAL)
async def reanalyse(request: Request) -> Response:
    await _guard(request)
    queued = await run_in_session(request, jobs.request_reanalysis,
                                  consultation_id=request.path_params["consultation_id"],
                                  official_id=_actor_id(request))
    flash(request, _("Re-analysis queued. It runs in the background; reload this page in a minute.") if queued
          else _("A re-analysis is already queued. Reload this page in a minute."), "success")
    return RedirectResponse(_url(request, "dashboard:analysis", consultation_id=request.path_params["consultation_id"]),
                            303)


@require_roles(Role.OFFICIAL)
async def answer(request: Request) -> Response:
    await _guard(request)
    cid = request.path_params["consultation_id"]
    key = request.path_params["theme_key"]
    form = await request.form()
    data, errors = forms.parse_response_form(form)
    count, queued = 0, False
    if not errors:
        try:
            count, queued = await run_in_session(request, jobs.request_theme_answer, consultation_id=cid,
                                                 theme_key=key, official_id=_actor_id(request), data=data)
        except ValidationFailed as exc:
            errors = exc.errors
    if errors:
        values = {"decision": data.decision, "text": data.text, "commitment": data.commitment,
                  "follow_up_on": data.follow_up_on.isoformat() if data.follow_up_on else ""}
        return await _comments_response(request, theme_key=key, errors=errors, values=values, status_code=422)
    if queued:
        flash(request, ngettext("Your response is being published in %(num)s comment thread of this theme in the "
                                "background. Reload this page in a minute to see it.",
                                "Your response is being published in %(num)s comment threads of this theme in the "
                                "background. Reload this page in a minute to see it.", count), "success")
    else:
        flash(request, ngettext("Response published in %(num)s comment thread of this theme. Its author and the "
                                "consultation's followers are being e-mailed.",
                                "Response published in %(num)s comment threads of this theme. Their authors and "
                                "the consultation's followers are being e-mailed.", count), "success")
    return RedirectResponse(_url(request, "dashboard:theme", consultation_id=cid, theme_key=key) + "#responses", 303)


@require_roles(Role.OFFICIAL)
async def export_json(request: Request) -> Response:
    data = await run_query(request, dq.export_data, consultation_id=request.path_params["consultation_id"],
                           staff=await _staff(request))
    return Response(dq.export_json(data), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="consultation-{data["consultation"]["id"]}-analysis.json"'})


@require_roles(Role.OFFICIAL)
async def export_csv(request: Request) -> Response:
    data = await run_query(request, dq.export_data, consultation_id=request.path_params["consultation_id"],
                           staff=await _staff(request))
    out = io.StringIO()
    writer = csv_export.dict_writer(out, dq.CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in dq.export_rows(data):
        writer.writerow(row)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="consultation-{data["consultation"]["id"]}-analysis.csv"'})


PREFIX = "/consultations/{consultation_id:int}"
routes = [
    Route(PREFIX + "/analysis", analysis, name="analysis"),
    Route(PREFIX + "/analysis.json", export_json, name="export_json"),
    Route(PREFIX + "/analysis.csv", export_csv, name="export_csv"),
    Route(PREFIX + "/analysis/report", report, name="report"),
    Route(PREFIX + "/analysis/run", reanalyse, methods=["POST"], name="reanalyse"),
    Route(PREFIX + "/analysis/merge", merge, methods=["POST"], name="merge"),
    Route(PREFIX + "/analysis/themes/{theme_key:int}", theme, name="theme"),
    Route(PREFIX + "/analysis/themes/{theme_key:int}/rename", rename, methods=["POST"], name="rename"),
    Route(PREFIX + "/analysis/themes/{theme_key:int}/split", split, methods=["POST"], name="split"),
    Route(PREFIX + "/analysis/themes/{theme_key:int}/answer", answer, methods=["POST"], name="answer"),
    Route(PREFIX + "/analysis/campaigns/{position:int}", campaign, name="campaign"),
]
