"""Moderators' pages (queue, cases, groups, model quality, audit) and the public pages (log, appeals)."""
from __future__ import annotations

import io

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app import csv_export
from app.auth import require_roles, signed_in_actor
from app.charts import bar_chart, line_chart, multi_line_chart
from app.db import run_in_session, run_query
from app.errors import InvalidState, NotFound, ValidationFailed
from app.http import settings_reader
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import Role
from app.templating import flash, render
from moderation import forms, policy, queries, service, transparency
from moderation.model_report import model_report


_cfg = settings_reader("moderation")


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


def _labels() -> dict:
    return {
        "kinds": policy.KIND_LABELS, "routes": policy.ROUTE_LABELS, "queue_reasons": policy.QUEUE_REASON_LABELS,
        "decisions": policy.DECISION_LABELS, "languages": policy.LANGUAGE_LABELS, "reasons": policy.REASONS,
        "category_labels": policy.CATEGORY_LABELS,
        "reason_title": policy.reason_title,
    }


@require_roles(Role.MODERATOR)
async def queue(request: Request):
    actor = signed_in_actor(request)
    filters = forms.parse_filters(request.query_params)
    view = await run_query(request, queries.queue, filters=filters, viewer_id=actor.user_id, cfg=_cfg(request))
    return render(request, "moderation/queue.html", {"view": view, **_labels()},
                  partial="moderation/_queue_results.html")


async def _case_context(request: Request, case_id: int) -> dict:
    actor = signed_in_actor(request)
    view = await run_query(request, queries.case_detail, case_id=case_id, viewer_id=actor.user_id, cfg=_cfg(request))
    if view is None:
        raise NotFound(_("That queue item does not exist. Go back to the queue."))
    return {"case": view, "cfg": _cfg(request), "refused": "", **_labels()}


@require_roles(Role.MODERATOR)
async def case_page(request: Request):
    ctx = await _case_context(request, request.path_params["case_id"])
    ctx.update(values={"decision": "", "reason": "", "passages": "", "block_days": "0", "note": ""}, errors={})
    return render(request, "moderation/case.html", ctx)


@require_roles(Role.MODERATOR)
async def claim(request: Request):
    case_id = request.path_params["case_id"]
    actor = signed_in_actor(request)
    try:
        await run_in_session(request, service.claim_case, case_id=case_id, moderator_id=actor.user_id)
    except InvalidState as exc:
        flash(request, _(exc.message), "error")
    else:
        flash(request, _("You have claimed this item for %(minutes)s minutes.", minutes=_cfg(request).claim_minutes),
              "success")
    return RedirectResponse(request.app.state.renderer.path("moderation:case", case_id=case_id), status_code=303)


@require_roles(Role.MODERATOR)
async def release(request: Request):
    case_id = request.path_params["case_id"]
    await run_in_session(request, service.release_case, case_id=case_id, moderator_id=signed_in_actor(request).user_id)
    flash(request, _("You released this item; other moderators can take it."), "success")
    return RedirectResponse(request.app.state.renderer.path("moderation:queue"), status_code=303)


def _decided_message(decided: int) -> str:
    return ngettext("Decision saved for %(num)d item.", "Decision saved for %(num)d items.", decided)


@require_roles(Role.MODERATOR)
async def decide(request: Request):
    case_id = request.path_params["case_id"]
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("decision", "reason", "passages", "block_days", "note")}
    try:
        data, values = forms.parse_decision(form)
        result = await run_in_session(request, service.decide_case, case_id=case_id,
                                      moderator_id=signed_in_actor(request).user_id, data=data)
    except ValidationFailed as exc:
        ctx = await _case_context(request, case_id)
        ctx.update(values=values, errors=exc.errors)
        return render(request, "moderation/case.html", ctx, status_code=422)
    except service.DecidedOnItsOwnPage as exc:  # a petition: the case page again, the message and its own page's link
        ctx = await _case_context(request, case_id)
        ctx.update(values=values, errors={}, refused=exc.message)
        return render(request, "moderation/case.html", ctx, status_code=exc.status_code)
    except InvalidState as exc:
        flash(request, _(exc.message), "error")
        return RedirectResponse(request.app.state.renderer.path("moderation:case", case_id=case_id), status_code=303)
    flash(request, _decided_message(result.decided), "success")
    return RedirectResponse(request.app.state.renderer.path("moderation:queue"), status_code=303)


async def _group_context(request: Request, case_id: int) -> dict:
    actor = signed_in_actor(request)
    group = await run_query(request, queries.group_of, case_id=case_id, viewer_id=actor.user_id, cfg=_cfg(request))
    if group is None:
        raise NotFound(_("That group has no open items any more. Go back to the queue."))
    return {"group": group, "cfg": _cfg(request), **_labels()}


@require_roles(Role.MODERATOR)
async def group_page(request: Request):
    ctx = await _group_context(request, request.path_params["case_id"])
    ctx.update(values={"decision": "", "reason": "", "passages": "", "block_days": "0", "note": ""}, errors={},
               selected={m.case_id for m in ctx["group"].members})
    return render(request, "moderation/group.html", ctx)


@require_roles(Role.MODERATOR)
async def group_decide(request: Request):
    case_id = request.path_params["case_id"]
    form = await request.form()
    ids = [int(str(v)) for v in form.getlist("case_ids") if str(v).isdigit() and len(str(v)) < 12]
    values = {k: str(form.get(k, "")) for k in ("decision", "reason", "passages", "block_days", "note")}
    try:
        data, values = forms.parse_decision(form)
        result = await run_in_session(request, service.decide_group, case_ids=ids,
                                      moderator_id=signed_in_actor(request).user_id, data=data)
    except ValidationFailed as exc:
        ctx = await _group_context(request, case_id)
        ctx.update(values=values, errors=exc.errors, selected=set(ids))
        return render(request, "moderation/group.html", ctx, status_code=422)
    except InvalidState as exc:
        flash(request, _(exc.message), "error")
        return RedirectResponse(request.app.state.renderer.path("moderation:group", case_id=case_id), status_code=303)
    flash(request, _decided_message(result.decided), "success")
    return RedirectResponse(request.app.state.renderer.path("moderation:queue"), status_code=303)


async def public_log(request: Request):
    page = _page_number(request)
    rows, more = await run_query(request, queries.public_log, page=page)
    return render(request, "moderation/log.html", {"rows": rows, "page": page, "more": more, **_labels()})


@require_roles(Role.ADMIN)
async def audit(request: Request):
    page = _page_number(request)
    rows, more = await run_query(request, queries.audit_log, page=page)
    return render(request, "moderation/audit.html", {"rows": rows, "page": page, "more": more, **_labels()})


@require_roles(Role.ADMIN)
async def audit_csv(request: Request):
    rows = await run_query(request, queries.audit_csv_rows)
    buf = io.StringIO()
    csv_export.writer(buf).writerows(rows)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="moderation-audit.csv"',
                             "Cache-Control": "no-store"})


@require_roles(Role.MODERATOR)
async def quality(request: Request):
    classifier = request.app.state.unit_context.classifier
    version = getattr(classifier, "version", "none") if classifier is not None else "none"
    view = await run_query(request, queries.model_quality, current_version=version)
    versions = queries.model_versions(request.app.state.settings.data_dir)
    report = model_report(classifier.get() if hasattr(classifier, "get") else classifier, _cfg(request))
    charts = {}
    if len(view.weekly) > 1:  # a line needs at least two weeks
        charts["precision"] = line_chart([(r.period, round((r.precision or 0) * 100, 1)) for r in view.weekly],
                                         title=_("Precision by week (per cent)"),
                                         description=_("Share of items the model flagged that moderators removed, per week."))
        charts["recall"] = line_chart([(r.period, round((r.recall or 0) * 100, 1)) for r in view.weekly],
                                      title=_("Recall by week (per cent)"),
                                      description=_("Share of items moderators removed that the model had flagged, per week."))
    if view.totals:
        items = []
        for r in view.totals:
            name = str(policy.LANGUAGE_LABELS.get(r.language, r.language))
            items.append((_("%(language)s precision", language=name), round((r.precision or 0) * 100, 1)))
            items.append((_("%(language)s recall", language=name), round((r.recall or 0) * 100, 1)))
        charts["languages"] = bar_chart(items, title=_("Precision and recall by language (per cent)"), value_suffix="%")
    if report is not None and report.categories:
        charts["categories"] = bar_chart(
            [(f"{policy.LANGUAGE_LABELS.get(r.language, r.language)} · {policy.CATEGORY_LABELS.get(r.category, r.category)}",
              round(r.review_recall * 100, 1)) for r in report.categories],
            title=_("Share caught by the review route, per category (per cent)"), value_suffix="%")
    return render(request, "moderation/quality.html", {"view": view, "charts": charts, "versions": versions,
                                                       "report": report, **_labels()})


async def transparency_page(request: Request):
    """The public transparency report: the default months, or the month asked for; a malformed month is a 422
    with the page's form and the message next to it."""
    from app.clock import utc_now

    now = utc_now()
    text = request.query_params.get("month", "")[:40]
    options = [m.code for m in (transparency.Month(now.year, now.month).shift(-i) for i in range(24))]
    try:
        month = transparency.parse_month(text)
    except ValidationFailed as exc:
        return render(request, "moderation/transparency.html",
                      {"report": None, "options": [(code, code) for code in options], "value": text, "errors": {"month": _(exc.message)},
                       "charts": {}, **_labels()}, status_code=422)
    report = await run_query(request, transparency.transparency_report, month=month, now=now)
    if month is not None and month.code not in options:
        options.append(month.code)
    choices = [(code, code) for code in options]
    trend = report.trend
    chart = multi_line_chart([p.month for p in trend], [
        (_("Screened"), [p.screened for p in trend]), (_("Sent to review"), [p.reviewed for p in trend]),
        (_("Held"), [p.held for p in trend])], title=_("Screened, sent to review and held, per month"),
        description=_("The last 12 months; the table beside the chart gives the same numbers."))
    return render(request, "moderation/transparency.html",
                  {"report": report, "options": choices, "value": report.chosen, "errors": {},
                   "charts": {"trend": chart}, **_labels()})


async def appeal(request: Request):
    state = request.app.state
    cfg = _cfg(request)
    if request.method == "GET":
        token = request.query_params.get("token", "")[:2000]
        info = await run_query(request, service.appeal_info, token=token, signer=state.signer, max_days=cfg.appeal_days)
        return render(request, "moderation/appeal.html",
                      {"info": info, "token": token, "values": {"statement": ""}, "errors": {}, **_labels()})
    form = await request.form()
    token = str(form.get("token", ""))[:2000]
    statement = str(form.get("statement", ""))[:8000]
    try:
        await run_in_session(request, service.submit_appeal, token=token, statement=statement, signer=state.signer)
    except ValidationFailed as exc:
        info = await run_query(request, service.appeal_info, token=token, signer=state.signer, max_days=cfg.appeal_days)
        return render(request, "moderation/appeal.html",
                      {"info": info, "token": token, "values": {"statement": statement}, "errors": exc.errors,
                       **_labels()}, status_code=422)
    return render(request, "moderation/appeal_done.html", {})


routes = [
    Route("/", queue, name="queue"),
    Route("/cases/{case_id:int}", case_page, name="case"),
    Route("/cases/{case_id:int}/claim", claim, methods=["POST"], name="claim"),
    Route("/cases/{case_id:int}/release", release, methods=["POST"], name="release"),
    Route("/cases/{case_id:int}/decide", decide, methods=["POST"], name="decide"),
    Route("/groups/{case_id:int}", group_page, name="group"),
    Route("/groups/{case_id:int}/decide", group_decide, methods=["POST"], name="group_decide"),
    Route("/quality", quality, name="quality"),
    Route("/audit", audit, name="audit"),
    Route("/audit.csv", audit_csv, name="audit_csv"),
    Route("/log", public_log, name="log"),
    Route("/transparency", transparency_page, name="transparency"),
    Route("/appeal", appeal, methods=["GET", "POST"], name="appeal"),
]
