"""Petitions pages: thin handlers calling services and queries (mounted at /petitions)."""
from __future__ import annotations


from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth import current_actor, require_roles, signed_in_actor
from app.charts import bar_chart
from app.clock import utc_now
from app.db import run_in_session, run_query
from app.errors import InvalidState, NotFound, RateLimited, TokenInvalid, ValidationFailed
from app.http import client_ip as _ip
from app.http import int_or as _int
from app.http import read_form, settings_reader
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import Role
from app.response_cache import public_for_anonymous
from app.templating import flash, is_htmx, render

from . import accountability, cache, forms, paper, queries, service
from .models import SPONSORABLE, PetitionState
from .writes import run_batched_write

_settings = settings_reader("petitions")


def _allowlisted(request: Request) -> bool:
    return request.app.state.settings.allowlisted(_ip(request))


# ----- the response cache (app.response_cache) holds anonymous visitors' pages -----

def _public(request: Request, response: Response) -> Response:
    """Let shared caches (the app's own response cache first) keep an anonymous visitor's 200 for a few seconds."""
    if response.status_code != 200:
        return response
    settings = _settings(request)
    return public_for_anonymous(request, response, max_age=settings.page_cache_seconds,
                                stale=settings.stale_while_revalidate_seconds)


def _changed(request: Request, petition_id: int) -> None:
    cache.purge_petition(request.app.state.response_cache, petition_id)


# ----- browse -----

async def index(request: Request):
    params = request.query_params
    settings = _settings(request)

    asked_area = params.get("area", "").strip()
    area = next((a for a in settings.areas if a.casefold() == asked_area.casefold()), "")
    area_error = _("There is no area called “%(area)s”. Choose one of the listed areas.",
                   area=asked_area[:80]) if asked_area and not area else ""

    result = await run_query(request, queries.list_petitions, facet=params.get("state", ""), q=params.get("q", ""),
                             sort=params.get("sort", "signatures"), page=_int(params.get("page")),
                             page_size=settings.page_size, area=area)
    return _public(request, render(request, "petitions/index.html", {
        "result": result, "facets": queries.FACETS, "ps": settings, "area_error": area_error},
        partial="petitions/_list.html", status_code=400 if area_error else 200))


async def awaiting(request: Request):
    items = await run_query(request, queries.awaiting_response)
    return _public(request, render(request, "petitions/awaiting.html", {"items": items, "ps": _settings(request)}))


async def how_we_respond(request: Request):
    """How we respond: response-time figures as of a chosen day, overall or for one department."""
    params = request.query_params
    settings = _settings(request)
    as_of_text, code = params.get("as_of", "")[:40], params.get("department", "")[:40]

    departments = await run_query(request, accountability.departments)
    locale = request.scope.get("state", {}).get("locale", "en")
    options = [(d.code, d.label(locale)) for _id, d in departments]
    values = {"as_of": as_of_text, "department": code}
    now = utc_now()
    try:
        as_of = accountability.parse_as_of(as_of_text, today=now.date())
    except ValidationFailed as exc:
        return _bad_report_input(request, settings, options, values, {"as_of": _(exc.message)}, 422)
    report = await run_query(request, accountability.response_report, as_of=as_of, department=code,
                             deadline_days=settings.response_deadline_days, now=now)
    if report is None:
        return _bad_report_input(request, settings, options, values,
                                 {"department": _(accountability.unknown_department().message)}, 404)
    values["as_of"] = report.as_of.isoformat()
    sections = [s for provider in getattr(request.app.state, "how_we_respond_sections", ())
                if (s := await run_query(request, provider, as_of=as_of, department=code, now=now)) is not None]
    return _public(request, render(request, "petitions/how_we_respond.html",
                  {"report": report, "ps": settings, "department_options": options, "values": values, "errors": {},
                   "charts": _response_charts(report), "sections": sections, "combined": _combined(request),
                   "future": bool(as_of_text.strip()) and as_of_text.strip() > report.as_of.isoformat()}))


def _combined(request: Request) -> bool:
    """Whether other domains add sections to the page (its title then names them too)."""
    return bool(getattr(request.app.state, "how_we_respond_sections", ()))


def _bad_report_input(request: Request, settings, options, values, errors: dict, status: int):
    """The page with its form and the message next to the field: a usable page, not an error page."""
    return render(request, "petitions/how_we_respond.html",
                  {"report": None, "ps": settings, "department_options": options, "values": values, "charts": {},
                   "errors": errors, "future": False, "sections": [], "combined": _combined(request)}, status_code=status)


def _response_charts(report) -> dict:
    from app.charts import line_chart
    from app.i18n import format_date

    if not any(w.answered for w in report.weeks):
        return {}
    points = [(format_date(w.start), w) for w in report.weeks]
    return {
        "answered": line_chart([(label, w.answered) for label, w in points], title=_("Petitions answered per week"),
                               description=_("Number of petitions answered in each of the last %(n)s weeks, oldest first.",
                                             n=len(points))),
        "median": line_chart([(label, w.median_days or 0) for label, w in points],
                             title=_("Median days to respond, per week"),
                             description=_("Median days from reaching the threshold to the response, for the petitions "
                                           "answered in each week, oldest first (0 where none was answered).")),
    }


def _can_see_unpublished(request: Request) -> bool:
    actor = current_actor(request)
    return actor is not None and actor.has_role(Role.MODERATOR)


async def detail(request: Request):
    petition_id = request.path_params["petition_id"]

    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None or (view.state not in (*queries.VISIBLE, PetitionState.HIDDEN) and not _can_see_unpublished(request)):
        raise NotFound(_("We couldn't find that petition. It may not be published yet; search the list of petitions."))
    return _public(request, render(request, "petitions/detail.html", _detail_context(request, view),
                                   partial="petitions/_count.html"))


def _may_respond(actor, view) -> bool:
    """Only the responsible department's officials (and admins) see, open and use the response forms."""
    return actor is not None and service.may_respond(actor.role, actor.department_id, view.department_id)


def _detail_context(request: Request, view, values=None, errors=None) -> dict:
    settings = _settings(request)
    chart = None
    if view.areas:
        chart = bar_chart([(a or _("Not given"), n) for a, n in view.areas[:15]], title=_("Signatures by area"),
                          description=_("Confirmed signatures in each area, largest first."))
    actor = current_actor(request)
    return {"p": view, "ps": settings, "chart": chart, "area_map": _area_map(request, view), "values": values or {"name": "", "email": "", "area": "", "notify": False},
            "errors": errors or {}, "can_respond": _may_respond(actor, view),
            "can_moderate": bool(actor and actor.has_role(Role.MODERATOR)),
            "can_record_paper": bool(actor and paper.may_record(actor.role, actor.department_id, view.department_id)),
            "can_see_paper": bool(actor and actor.has_role(Role.CLERK, Role.OFFICIAL, Role.MODERATOR)),
            "polling": view.state == PetitionState.OPEN}  # for the count partial an htmx request gets


def _boundaries(request: Request):
    """The configured area boundaries (app.geo.SiteAreas reads the file once); None: no map."""
    return request.app.state.areas.boundaries()


def _area_map(request: Request, view):
    """Signatures by area as a choropleth, when boundaries are configured and usable."""
    from app.charts import choropleth

    boundaries = _boundaries(request) if view.areas else None
    if boundaries is None:
        return None

    def label(area: str, n: int) -> str:
        text = ngettext("%(area)s: %(num)s signature", "%(area)s: %(num)s signatures", n, area=area)
        on_paper = view.paper_in(area)
        if on_paper:
            text += " " + ngettext("(%(num)s on paper)", "(%(num)s on paper)", on_paper)
        return text

    return choropleth(
        boundaries.paths, dict(view.areas), width=boundaries.width, height=boundaries.height,
        title=_("Map of signatures by area"),
        description=_("Each area is shaded by its number of confirmed signatures, online and on paper; the table "
                      "below lists them."),
        area_label=label,
        legend_title=_("Signatures"), empty_label=_("No signatures"))


async def count(request: Request):
    """Tiny, cacheable count fragment for htmx polling."""
    petition_id = request.path_params["petition_id"]
    view = await run_query(request, queries.count_view, petition_id=petition_id)
    if view is None or view.state not in queries.VISIBLE:
        raise NotFound(_("We couldn't find that petition."))
    return _public(request, render(request, "petitions/_count.html", {
        "p": view, "ps": _settings(request), "polling": view.state == PetitionState.OPEN}))


# ----- signing -----

def _blank_values():
    return {"name": "", "email": "", "area": "", "notify": False}


async def sign(request: Request):
    """GET: the sign form. POST: the hot path of a viral day: parse, one short transaction, a small answer."""
    petition_id = request.path_params["petition_id"]
    settings = _settings(request)
    values, errors, status, headers = _blank_values(), {}, 200, None
    if request.method == "POST":
        form = await read_form(request)
        values = forms.sign_values(form)
        try:
            data = forms.parse_signature(values, areas=settings.areas, postcode_areas=settings.postcode_areas)
            state = request.app.state
            # signed here, outside the write transaction, which then only inserts two rows
            links = service.signature_links(state.renderer, state.signer, petition_id=petition_id, email=data.email)
            result = await run_batched_write(  # sign_petition raises before it writes: no savepoint needed
                request, service.sign_petition, savepoint=False, petition_id=petition_id, data=data, settings=settings,
                links=links, locale=request.state.locale, client_ip=_ip(request), allowlisted=_allowlisted(request))
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        except RateLimited as exc:
            errors, status = {"form": _(exc.message)}, 429
            headers = {"Retry-After": str(exc.retry_after)}
        except InvalidState as exc:
            errors, status = {"form": _(exc.message)}, 409  # raised in the writer thread, in English
        else:
            if result.status in ("created", "resent"):
                ctx = {"email": data.email, "resent": result.status == "resent"}
                if is_htmx(request):
                    return render(request, "petitions/_sign_done.html", ctx)
                return render(request, "petitions/sign_done.html", {"action": result.action, **ctx})
            status = 422
            if result.status == "already_signed":
                errors = {"email": _("This email address has already signed this petition. Each person can sign once.")}
            else:
                errors = {"email": _("This email address has already been used to sign this petition. "
                                     "Find the confirmation email we sent you and click its link.")}
    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None or view.state not in queries.VISIBLE:
        raise NotFound(_("We couldn't find that petition."))
    return render(request, "petitions/sign.html", _detail_context(request, view, values, errors),
                  partial="petitions/_sign_form.html", status_code=status, headers=headers)


async def sponsor(request: Request):
    petition_id = request.path_params["petition_id"]
    settings = _settings(request)
    signer = request.app.state.signer
    token = (request.query_params.get("token") or "")[:2000]
    if request.method == "POST":
        form = await request.form()
        token = str(form.get("token", ""))[:2000]
    data = signer.unsign(service.SPONSOR_PURPOSE, token, max_age=settings.sponsor_link_days * 86400)
    if _int(data.get("pid"), 0) != petition_id:
        raise TokenInvalid(_("This supporter link is for a different petition. Ask the creator for the right link."))
    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None:
        raise NotFound(_("We couldn't find that petition."))
    if view.state in queries.PUBLISHED:  # public now: its own page shows it, and signing replaces supporting
        return RedirectResponse(request.app.state.renderer.path("petitions:detail", petition_id=petition_id),
                                status_code=303)
    if view.state not in SPONSORABLE:  # rejected or hidden: the link shows nothing any more
        raise NotFound(_("This supporter link no longer works: the petition was not published. "
                         "See the list of petitions for the ones you can sign."))
    values, errors, status = _blank_values(), {}, 200
    if request.method == "POST":
        values = forms.sign_values(form)
        try:
            parsed = forms.parse_signature(values, areas=settings.areas, postcode_areas=settings.postcode_areas)
            links = service.signature_links(request.app.state.renderer, signer, petition_id=petition_id,
                                            email=parsed.email)
            result = await run_in_session(
                request, service.sign_petition, petition_id=petition_id, data=parsed, settings=settings, links=links,
                locale=request.state.locale, client_ip=_ip(request), allowlisted=_allowlisted(request), sponsor=True)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        except RateLimited as exc:
            errors, status = {"form": _(exc.message)}, 429
        else:
            if result.status in ("created", "resent"):
                return render(request, "petitions/sign_done.html", {"action": view.action, "email": parsed.email,
                                                                    "resent": result.status == "resent", "sponsor": True})
            errors, status = {"email": _("This email address has already supported this petition.")}, 422
    ctx = _detail_context(request, view, values, errors)
    ctx.update(token=token, sponsors_needed=max(0, settings.sponsor_threshold - view.sponsor_count))
    return render(request, "petitions/sponsor.html", ctx, status_code=status)


async def confirm(request: Request):
    if request.method == "GET":
        # A page with a button: link-prefetching mail scanners never confirm anything.
        token = (request.query_params.get("token") or "")[:2000]
        return render(request, "petitions/confirm.html", {"token": token},
                      headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    form = await read_form(request)
    result = await run_batched_write(request, service.confirm_signature, token=str(form.get("token", ""))[:2000],
                                  signer=request.app.state.signer, settings=_settings(request))
    _changed(request, result.petition_id)
    url = request.app.state.renderer.path("petitions:confirmed", _query={"petition": result.petition_id,
                                                                          "kind": result.kind})
    return RedirectResponse(url, status_code=303)


async def confirmed(request: Request):
    petition_id = _int(request.query_params.get("petition"), 0)
    kind = request.query_params.get("kind", "signature")
    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None:
        raise NotFound(_("We couldn't find that petition."))
    return render(request, "petitions/confirmed.html", {"p": view, "kind": kind, "ps": _settings(request)})


async def withdraw(request: Request):
    token = (request.query_params.get("token") or "")[:2000]
    if request.method == "GET":
        request.app.state.signer.unsign(service.WITHDRAW_PURPOSE, token, max_age=None)
        return render(request, "petitions/withdraw.html", {"token": token}, headers={"Cache-Control": "no-store"})
    form = await request.form()
    petition_id = await run_in_session(request, service.withdraw_signature, token=str(form.get("token", ""))[:2000],
                                       signer=request.app.state.signer)
    flash(request, _("Your signature has been withdrawn. It will be taken off the count within a minute."), "success")
    return RedirectResponse(request.app.state.renderer.path("petitions:detail", petition_id=petition_id), status_code=303)


async def stop_updates(request: Request):
    """The link in update e-mails shows a button (link checkers open links, so a GET changes nothing); the button,
    or a mail program's one-click POST (RFC 8058, token in the query string), stops them."""
    token = (request.query_params.get("token") or "")[:2000]
    signer = request.app.state.signer
    if request.method == "GET":
        petition = await run_query(request, service.stop_updates_target, token=token, signer=signer)
        return render(request, "petitions/stop_updates.html", {"petition": petition, "token": token, "done": False},
                      headers={"Cache-Control": "no-store"})
    form = await request.form()
    token = (str(form.get("token") or "") or token)[:2000]
    petition = await run_in_session(request, service.stop_updates, token=token, signer=signer)
    return render(request, "petitions/stop_updates.html", {"petition": petition, "token": "", "done": True},
                  headers={"Cache-Control": "no-store"})


# ----- starting a petition -----

async def start(request: Request):
    settings = _settings(request)
    values = {"action": "", "background": "", "details": "", **_blank_values()}
    errors, status, stage = {}, 200, "write"
    similar: tuple[queries.SimilarPetition, ...] = ()
    if request.method == "POST":
        form = await request.form()
        values = forms.start_values(form)
        try:
            if form.get("stage") == "edit":  # "Change my petition": back to the form with what was typed
                return render(request, "petitions/start.html", {"values": values, "errors": {}, "similar": (),
                                                                 "stage": "write", "ps": settings})
            data = forms.parse_petition(values, areas=settings.areas, postcode_areas=settings.postcode_areas)
            if form.get("stage") != "submit":
                similar = await run_query(request, queries.similar_petitions, text=data.action + " " + data.background)
                stage = "check"
            else:
                petition = await run_in_session(
                    request, service.start_petition, data=data, settings=settings, signer=request.app.state.signer,
                    locale=request.state.locale, client_ip=_ip(request), allowlisted=_allowlisted(request))
                return render(request, "petitions/start_done.html", {"email": data.signer.email, "petition_id": petition.id,
                                                                     "ps": settings})
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        except RateLimited as exc:
            errors, status = {"form": _(exc.message)}, 429
    return render(request, "petitions/start.html", {"values": values, "errors": errors, "similar": similar,
                                                     "stage": stage, "ps": settings}, status_code=status)


async def similar(request: Request):
    text = (request.query_params.get("action", "") + " " + request.query_params.get("background", ""))[:1200]
    items = await run_query(request, queries.similar_petitions, text=text)
    return render(request, "petitions/_similar.html", {"similar": items}, partial="petitions/_similar.html")


# ----- moderation -----

@require_roles(Role.MODERATOR)
async def moderation_queue(request: Request):
    items = await run_query(request, queries.moderation_queue, include_decided=request.query_params.get("all") == "1")
    return render(request, "petitions/moderation.html", {"items": items, "ps": _settings(request)})


def _ensure_reasons(session):
    service.ensure_reasons(session)


@require_roles(Role.MODERATOR)
async def moderate(request: Request):
    petition_id = request.path_params["petition_id"]
    actor = signed_in_actor(request)
    errors, status, values = {}, 200, {"code": "", "detail": "", "department_id": ""}
    if request.method == "POST":
        form = await request.form()
        values = {"code": str(form.get("code", ""))[:60], "detail": str(form.get("detail", ""))[:4000].strip(),
                  "department_id": str(form.get("department_id", ""))}
        try:
            if form.get("decision") == "approve":
                await run_in_session(request, service.approve_petition, petition_id=petition_id, moderator_id=actor.user_id,
                                     department_id=_int(values["department_id"], 0) or None, settings=_settings(request))
                flash(request, _("The petition is published and its creator has been told."), "success")
            else:
                await run_in_session(request, service.reject_petition, petition_id=petition_id, moderator_id=actor.user_id,
                                     code=values["code"], detail=values["detail"])
                flash(request, _("The petition is rejected and its creator has been told."), "success")
            _changed(request, petition_id)
            return RedirectResponse(request.app.state.renderer.path("petitions:moderation"), status_code=303)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    await run_in_session(request, _ensure_reasons)
    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None:
        raise NotFound(_("We couldn't find that petition."))
    reasons = await run_query(request, queries.rejection_reasons)
    depts = await run_query(request, queries.departments)
    return render(request, "petitions/moderate.html", {"p": view, "reasons": reasons, "departments": depts,
                                                        "values": values, "errors": errors}, status_code=status)


@require_roles(Role.ADMIN)
async def reasons(request: Request):
    actor = signed_in_actor(request)
    errors, status, values = {}, 200, {"code": "", "title": "", "description": "", "hides_petition": False}
    if request.method == "POST":
        form = await request.form()
        values = {"code": str(form.get("code", ""))[:80].strip(), "title": str(form.get("title", ""))[:400],
                  "description": str(form.get("description", ""))[:4000], "hides_petition": bool(form.get("hides_petition"))}
        try:
            await run_in_session(request, service.update_reason, admin_id=actor.user_id, **values)
            flash(request, _("The rejection reason is saved."), "success")
            return RedirectResponse(request.app.state.renderer.path("petitions:reasons"), status_code=303)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    await run_in_session(request, _ensure_reasons)
    items = await run_query(request, queries.rejection_reasons)
    return render(request, "petitions/reasons.html", {"reasons": items, "values": values, "errors": errors},
                  status_code=status)


# ----- officials -----

async def _official_outcome(request: Request, *, initial, parse, publish, template: str, done: str):
    """The form an official uses to publish a response or a debate outcome: show, validate, publish, redirect."""
    petition_id = request.path_params["petition_id"]
    actor = signed_in_actor(request)
    view = await run_query(request, queries.petition_view, petition_id=petition_id)
    if view is None or view.state not in queries.PUBLISHED:
        raise NotFound(_("We couldn't find a published petition with that number."))
    if not _may_respond(actor, view):  # before the form is shown or read: never a form that can only fail
        raise service.not_your_department()
    values = initial(view)
    errors, status = {}, 200
    if request.method == "POST":
        form = await request.form()
        try:
            values, data = parse(form)
            await run_in_session(request, publish, petition_id=petition_id, official_id=actor.user_id, data=data)
            _changed(request, petition_id)
            flash(request, done, "success")
            return RedirectResponse(request.app.state.renderer.path("petitions:detail", petition_id=petition_id), status_code=303)
        except ValidationFailed as exc:
            values = {k: str(form.get(k, ""))[:20000] for k in values}
            errors, status = exc.errors, 422
    return render(request, template, {"p": view, "values": values, "errors": errors}, status_code=status)


def _response_values(view) -> dict:
    r = view.response
    return {"summary": r.summary if r else "", "details": r.details if r else "", "decision": r.decision if r else "",
            "follow_up_on": r.follow_up_on.isoformat() if r and r.follow_up_on else ""}


def _debate_values(view) -> dict:
    d = view.debate
    return {"debated_on": d.debated_on.isoformat() if d else "", "summary": d.summary if d else "",
            "links": "\n".join(d.links) if d else ""}


@require_roles(Role.OFFICIAL)
async def respond(request: Request):
    return await _official_outcome(
        request, initial=_response_values, parse=forms.parse_response, publish=service.publish_response,
        template="petitions/respond.html",
        done=_("The response is published and will be e-mailed to signers who asked for updates."))


@require_roles(Role.OFFICIAL)
async def debate(request: Request):
    return await _official_outcome(
        request, initial=_debate_values, parse=forms.parse_debate, publish=service.publish_debate,
        template="petitions/debate.html", done=_("The debate outcome is published."))


# ----- paper signatures (clerks) -----

def _today():
    return utc_now().date()


async def _paper_petition(request: Request):
    """The petition a paper form is for, if this clerk may record for it (before any form is shown or read)."""
    view = await run_query(request, queries.petition_view, petition_id=request.path_params["petition_id"])
    if view is None or view.state not in queries.PUBLISHED:
        raise NotFound(_("We couldn't find a published petition with that number."))
    actor = signed_in_actor(request)
    if not paper.may_record(actor.role, actor.department_id, view.department_id):
        raise paper.not_your_petition()
    return view, actor


def _paper_page(request: Request, template: str, ctx: dict, status: int = 200):
    settings = _settings(request)
    ctx = {"ps": settings, "rows": forms.paper_rows(settings.areas), **ctx}
    return render(request, template, ctx, status_code=status, headers={"Cache-Control": "no-store"})


async def _paper_submit(request: Request, view, actor, *, use_case, correction: bool, **kwargs):
    """Validate and record a paper form; returns (response or None, values, errors, status)."""
    settings = _settings(request)
    form = await read_form(request)
    values = forms.paper_values(form, settings.areas)
    try:
        data = forms.parse_paper(form, values, areas=settings.areas, max_total=settings.paper_max_per_entry,
                                 today=_today(), correction=correction)
        result = await run_in_session(request, use_case, petition_id=view.id, clerk_id=actor.user_id, data=data,
                                      settings=settings, **kwargs)
    except ValidationFailed as exc:
        return None, values, exc.errors, 422
    except RateLimited as exc:
        return None, values, {"form": _(exc.message)}, 429
    _changed(request, view.id)
    if result.status == paper.DUPLICATE:
        flash(request, _("This form was already submitted: the entry is recorded once."), "success")
    elif correction:
        flash(request, _("The correction is recorded. The public count changes within a minute."), "success")
    else:
        flash(request, ngettext("%(num)s paper signature is recorded. It is added to the public count within a minute.",
                                "%(num)s paper signatures are recorded. They are added to the public count within a "
                                "minute.", data.total), "success")
    url = request.app.state.renderer.path("petitions:paper_record", petition_id=view.id)
    return RedirectResponse(url, status_code=303), values, {}, 200


@require_roles(Role.CLERK)
async def paper_form(request: Request):
    """A clerk records a batch of paper signatures: counts by area, when collected, where the paper is kept."""
    view, actor = await _paper_petition(request)
    if not view.is_open or (view.closes_at is not None and view.closes_at <= utc_now()):
        raise paper.not_signable()
    values = {"collected_on": "", "reference": "", "reason": "", "nonce": forms.new_nonce(), "counts": {}}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        done, values, errors, status = await _paper_submit(request, view, actor, use_case=paper.record_paper,
                                                           correction=False)
        if done is not None:
            return done
        values["nonce"] = values["nonce"] or forms.new_nonce()
    return _paper_page(request, "petitions/paper.html", {"p": view, "values": values, "errors": errors}, status)


@require_roles(Role.CLERK)
async def paper_correct(request: Request):
    """A clerk corrects a recorded batch: the right counts (zeros reverse it), date and reference, and why."""
    view, actor = await _paper_petition(request)
    entry_id = request.path_params["entry_id"]
    values: dict | None = None
    errors: dict = {}
    status = 200
    if request.method == "POST":  # correct_paper finds the record the entry belongs to (or raises NotFound)
        done, values, errors, status = await _paper_submit(request, view, actor, use_case=paper.correct_paper,
                                                           correction=True, entry_id=entry_id)
        if done is not None:
            return done
        values["nonce"] = values["nonce"] or forms.new_nonce()
    # the form is shown (again): the entry's history, and on a GET its current values
    record = await run_query(request, paper.paper_record, petition_id=view.id, viewer_id=actor.user_id,
                             areas=_settings(request).areas)
    asked = next((e for e in record.entries if e.id == entry_id), None)
    if asked is None:
        raise NotFound(_("This petition has no paper entry with that number. See its paper record for the entries."))
    root_id = asked.corrects_id or asked.id
    chain = [e for e in record.entries if (e.corrects_id or e.id) == root_id]
    root = next(e for e in chain if e.id == root_id)
    if values is None:
        current = next(e for e in chain if e.current)
        counts = dict(current.counts)
        values = {"collected_on": current.collected_on.isoformat(), "reference": current.reference, "reason": "",
                  "nonce": forms.new_nonce(),
                  "counts": {i: str(counts.get(a, 0)) for i, a in enumerate(forms.paper_rows(_settings(request).areas))}}
    return _paper_page(request, "petitions/paper_correct.html",
                      {"p": view, "values": values, "errors": errors, "record": root,
                       "history": sorted(chain, key=lambda e: e.id)}, status)


@require_roles(Role.CLERK, Role.OFFICIAL, Role.MODERATOR)
async def paper_record(request: Request):
    """Staff: every paper entry of a petition, who recorded it and when, corrections with their reasons."""
    actor = signed_in_actor(request)
    record = await run_query(request, paper.paper_record, petition_id=request.path_params["petition_id"],
                             viewer_id=actor.user_id, areas=_settings(request).areas)
    return _paper_page(request, "petitions/paper_record.html", {"record": record})


routes = [
    Route("/", index, name="index"),
    Route("/awaiting-response", awaiting, name="awaiting"),
    Route("/how-we-respond", how_we_respond, name="how_we_respond"),
    Route("/start", start, methods=["GET", "POST"], name="start"),
    Route("/similar", similar, name="similar"),
    Route("/signatures/confirm", confirm, methods=["GET", "POST"], name="confirm"),
    Route("/signatures/confirmed", confirmed, name="confirmed"),
    Route("/signatures/withdraw", withdraw, methods=["GET", "POST"], name="withdraw"),
    Route("/signatures/stop-updates", stop_updates, methods=["GET", "POST"], name="stop_updates"),
    Route("/moderation", moderation_queue, name="moderation"),
    Route("/reasons", reasons, methods=["GET", "POST"], name="reasons"),
    Route("/{petition_id:int}", detail, name="detail"),
    Route("/{petition_id:int}/count", count, name="count"),
    Route("/{petition_id:int}/sign", sign, methods=["GET", "POST"], name="sign"),
    Route("/{petition_id:int}/sponsor", sponsor, methods=["GET", "POST"], name="sponsor"),
    Route("/{petition_id:int}/moderate", moderate, methods=["GET", "POST"], name="moderate"),
    Route("/{petition_id:int}/respond", respond, methods=["GET", "POST"], name="respond"),
    Route("/{petition_id:int}/debate", debate, methods=["GET", "POST"], name="debate"),
    Route("/{petition_id:int}/paper", paper_form, methods=["GET", "POST"], name="paper"),
    Route("/{petition_id:int}/paper/entries", paper_record, name="paper_record"),
    Route("/{petition_id:int}/paper/entries/{entry_id:int}/correct", paper_correct, methods=["GET", "POST"],
          name="paper_correct"),
]
