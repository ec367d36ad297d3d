"""Consultations pages: thin handlers over `service` (writes) and `queries` (reads).

Every form posts normally and redirects (PRG); with htmx the same handler returns the region's partial.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth import current_actor, require_roles, require_signed_in, safe_next, signed_in_actor
from app.charts import choropleth
from app.db import run_in_session, run_query
from app.errors import DomainError, InvalidState, RateLimited, ValidationFailed
from app.geo import SiteAreas
from app.http import client_ip, int_or, settings_reader
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import Role
from app.templating import flash, is_htmx, render

from . import deliberation, forms, participation, queries, service
from .labels import CommentUrls, comment_labels, decision_label, reason_options
from .models import ResponseDecision


_settings = settings_reader("consultations")


def _url(request: Request, name: str, _query: dict | None = None, **params) -> str:
    return request.app.state.renderer.path(name, _query, **params)


def _actor_id(request: Request) -> int | None:
    actor = current_actor(request)
    return actor.user_id if actor else None


def _is_staff(request: Request) -> bool:
    actor = current_actor(request)
    return bool(actor and actor.has_role(Role.OFFICIAL))


async def _staff(request: Request) -> queries.StaffScope | None:
    """The viewer's reach as staff, read from the database (None for everyone else): drafts and staff actions
    are shown and allowed only on the consultations it may manage."""
    if not _is_staff(request):
        return None
    return await run_query(request, queries.staff_scope, user_id=_actor_id(request))


async def _managed(request: Request, cid: int) -> queries.ConsultationView:
    """A staff page or action: the consultation, only for staff who may manage it (else 403, or 404)."""
    return await run_query(request, queries.managed_consultation, consultation_id=cid, staff=await _staff(request))


def _can_manage(staff: queries.StaffScope | None, consultation) -> bool:
    return staff is not None and staff.may_manage(consultation.department_id)


def _decision_options() -> list[tuple[str, str]]:
    return [(d.value, decision_label(d.value)) for d in ResponseDecision]


def _areas(request: Request) -> SiteAreas:
    return request.app.state.areas


async def _my_area(request: Request, cid: int) -> str:
    user_id = _actor_id(request)
    if user_id is None or not _areas(request).names:
        return ""
    return await run_query(request, participation.area_of, consultation_id=cid, user_id=user_id)


def _area_map(request: Request, counts: tuple[participation.AreaCount, ...]):
    """Participants per area as a choropleth, when boundaries are configured and usable; small areas are shaded
    as one class, "fewer than 5", with no count (also in their accessible names)."""
    boundaries = _areas(request).boundaries() if counts else None
    if boundaries is None:
        return None
    small = _("fewer than %(n)s", n=participation.SMALL)

    def label(area: str, n: int) -> str:
        if area in suppressed:
            return _("%(area)s: fewer than %(n)s participants", area=area, n=participation.SMALL)
        return ngettext("%(area)s: %(num)s participant", "%(area)s: %(num)s participants", n, area=area)

    suppressed = {c.area for c in counts if c.suppressed}
    return choropleth(
        boundaries.paths, {c.area: c.participants for c in counts if c.participants is not None},
        width=boundaries.width, height=boundaries.height, title=_("Map of participants by area"),
        description=_("Each area is shaded by how many participants gave it as their area; the table beside "
                      "lists them."),
        area_label=label, legend_title=_("Participants"), empty_label=_("None given"),
        small_areas=suppressed, small_label=small)


def _common(request: Request) -> dict:
    settings = _settings(request)
    renderer = request.app.state.renderer
    return {"decision_label": decision_label, "max_length": settings.comment_max_length, "areas": _areas(request).names,
            "max_depth": settings.max_reply_depth, "is_official": _is_staff(request), "can_manage": False,
            "t": comment_labels(),
            "comment_url": CommentUrls(lambda name, **params: renderer.path(name, **params))}


# ----- list, create, edit -----

async def index(request: Request) -> Response:
    params = request.query_params
    listing = await run_query(request, queries.list_consultations, facet=params.get("facet", "open"),
                              q=params.get("q", "").strip()[:200], page=int_or(params.get("page"), minimum=1),
                              staff=await _staff(request))
    return render(request, "consultations/index.html", {"listing": listing, **_common(request)},
                  partial="consultations/_list.html")


def _form_values(data: forms.ConsultationData | None = None, c=None, questions=None) -> dict:
    if data is not None:
        return {"title": data.title, "summary": data.summary, "body": data.body,
                "department_id": data.department_id or "", "questions": "\n".join(data.questions),
                "opens_on": data.opens_on.isoformat() if data.opens_on else "",
                "closes_on": data.closes_on.isoformat() if data.closes_on else "", "strict_mode": data.strict_mode}
    if c is not None:
        return {"title": c.title, "summary": c.summary, "body": c.body, "department_id": c.department_id or "",
                "questions": "\n".join(q.text for q in questions or []),
                "opens_on": c.opens_at.date().isoformat() if c.opens_at else "",
                "closes_on": c.closes_at.date().isoformat() if c.closes_at else "", "strict_mode": c.strict_mode}
    return {"title": "", "summary": "", "body": "", "department_id": "", "questions": "", "opens_on": "",
            "closes_on": "", "strict_mode": False}


@require_roles(Role.OFFICIAL)
async def new(request: Request) -> Response:
    actor = signed_in_actor(request)
    values, status = _form_values(), 200
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = forms.parse_consultation_form(await request.form())
        values = _form_values(data)
        if not errors:
            try:
                consultation = await run_in_session(request, service.create_consultation, user_id=actor.user_id,
                                                    data=data)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(request, _("The consultation is saved as a draft. Open it when it is ready."), "success")
                return RedirectResponse(_url(request, "consultations:detail", consultation_id=consultation.id), 303)
        status = 422
    departments = await run_query(request, queries.list_departments)
    return render(request, "consultations/form.html", {"values": values, "errors": errors, "consultation": None,
                                                       "departments": departments}, status_code=status)


@require_roles(Role.OFFICIAL)
async def edit(request: Request) -> Response:
    actor = signed_in_actor(request)
    cid = request.path_params["consultation_id"]
    consultation = await _managed(request, cid)
    questions = await run_query(request, queries.list_questions, consultation_id=cid)
    values, status = _form_values(c=consultation, questions=questions), 200
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = forms.parse_consultation_form(await request.form())
        values = _form_values(data)
        if not errors:
            try:
                await run_in_session(request, service.update_consultation, user_id=actor.user_id,
                                     consultation_id=cid, data=data)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(request, _("Your changes are saved."), "success")
                return RedirectResponse(_url(request, "consultations:detail", consultation_id=cid), 303)
        status = 422
    departments = await run_query(request, queries.list_departments)
    return render(request, "consultations/form.html", {"values": values, "errors": errors,
                                                       "consultation": consultation, "departments": departments},
                  status_code=status)


@require_roles(Role.OFFICIAL)
async def change_state(request: Request) -> Response:
    form = await request.form()
    cid = request.path_params["consultation_id"]
    await _managed(request, cid)
    action = forms.text(form, "action", 10)
    await run_in_session(request, service.change_state, user_id=_actor_id(request), consultation_id=cid,
                         action=action)
    flash(request, _("The consultation is open.") if action == "open" else _("The consultation is closed."),
          "success")
    return RedirectResponse(_url(request, "consultations:detail", consultation_id=cid), 303)


@require_roles(Role.OFFICIAL)
async def report(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    consultation = await _managed(request, cid)
    values, errors, status = {"report": consultation.report_text}, {}, 200
    if request.method == "POST":
        form = await request.form()
        values = {"report": forms.text(form, "report", forms.REPORT_MAX + 100)}
        try:
            await run_in_session(request, service.publish_report, user_id=_actor_id(request), consultation_id=cid,
                                 text=values["report"])
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            flash(request, _("The report is published and followers are being e-mailed."), "success")
            return RedirectResponse(_url(request, "consultations:detail", consultation_id=cid), 303)
    return render(request, "consultations/report_form.html", {"consultation": consultation, "values": values,
                                                              "errors": errors}, status_code=status)


# ----- reading threads -----
# Each page is a render function taking its identifiers and paging as arguments: the GET handler passes what the
# URL says, and a POST that shows the page again (a form with errors, a reply posted with htmx) calls it directly.

def _paging(request: Request) -> dict:
    """The sort order and page a thread page was asked for in its query string."""
    params = request.query_params
    return {"sort": params.get("sort", "newest"), "page": int_or(params.get("page"), minimum=1)}


async def _render_thread(request: Request, cid: int, question_id: int | None = None, *, sort: str = "newest",
                         page: int = 1, values=None, errors=None, response_values=None, response_errors=None,
                         status_code: int = 200, full_page: bool = False) -> Response:
    """A consultation's page (question_id None) or one question's page: the comment thread and its forms.

    With htmx only the thread is sent, unless `full_page` (the page shown again after an official's response form,
    which posts without htmx, was refused). The consultation's full page lists the closing report's responses."""
    settings = _settings(request)
    staff = await _staff(request)
    thread = await run_query(request, queries.thread_page, consultation_id=cid, question_id=question_id, sort=sort,
                             page=page, viewer_id=_actor_id(request), page_size=settings.page_size,
                             edit_window=settings.edit_window_minutes, staff=staff,
                             with_questions=question_id is None)
    ctx = {"thread": thread, "consultation": thread.consultation, "following": thread.following,
           "questions": thread.questions, **_common(request), "can_manage": _can_manage(staff, thread.consultation),
           "values": values or {"body": "", "area": await _my_area(request, cid)}, "errors": errors or {},
           "decisions": _decision_options()}
    if response_values is not None:
        ctx.update(response_values=response_values, response_errors=response_errors)
    if question_id is None and (full_page or not is_htmx(request)):
        counts = await run_query(request, participation.by_area, consultation_id=cid)
        ctx.update(participation=counts, area_map=_area_map(request, counts))
    if question_id is None and thread.consultation.report_published_at and (full_page or not is_htmx(request)):
        ctx["report_responses"] = queries.group_responses(
            (await run_query(request, queries.list_responses, consultation_id=cid))[1])
    page_template = "consultations/detail.html" if question_id is None else "consultations/question.html"
    return render(request, page_template, ctx, partial=None if full_page else "consultations/_thread.html",
                  status_code=status_code)


async def _render_comment(request: Request, cid: int, comment_id: int, *, page: int = 1, values=None, errors=None,
                          response_values=None, response_errors=None, status_code: int = 200) -> Response:
    """A comment's page: the comment, its replies (the htmx partial) and the reply and response forms."""
    settings = _settings(request)
    staff = await _staff(request)
    cp = await run_query(request, queries.comment_page, consultation_id=cid, comment_id=comment_id,
                         viewer_id=_actor_id(request), page=page, page_size=settings.replies_page_size,
                         edit_window=settings.edit_window_minutes, staff=staff)
    ctx = {"cp": cp, "consultation": cp.consultation,
           "values": values or {"body": "", "area": await _my_area(request, cid)}, "errors": errors or {},
           "response_values": response_values or {}, "response_errors": response_errors or {},
           "decisions": _decision_options(), **_common(request), "can_manage": _can_manage(staff, cp.consultation),
           "reply_count_oob": _reply_count_oob(request, _url(request, "consultations:comment", consultation_id=cid,
                                                             comment_id=cp.comment.id))}
    return render(request, "consultations/comment.html", ctx, partial="consultations/_replies.html",
                  status_code=status_code)


async def detail(request: Request) -> Response:
    return await _render_thread(request, request.path_params["consultation_id"], **_paging(request))


async def question(request: Request) -> Response:
    return await _render_thread(request, request.path_params["consultation_id"], request.path_params["question_id"],
                                **_paging(request))


async def comment(request: Request) -> Response:
    return await _render_comment(request, request.path_params["consultation_id"], request.path_params["comment_id"],
                                 page=int_or(request.query_params.get("page"), minimum=1))


async def responses(request: Request) -> Response:
    consultation, items = await run_query(request, queries.list_responses,
                                          consultation_id=request.path_params["consultation_id"],
                                          staff=await _staff(request))
    return render(request, "consultations/responses.html", {"consultation": consultation,
                                                            "items": queries.group_responses(items),
                                                            **_common(request)})


# ----- residents' actions -----

@require_signed_in
async def post_comment(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    form = await request.form()
    body = forms.text(form, "body", 200_000)
    parent_id = forms.optional_int(form, "parent_id")
    question_id = forms.optional_int(form, "question_id")
    area = forms.text(form, "area", 200)
    state = request.app.state
    try:
        new_comment = await run_in_session(
            request, service.post_comment, consultation_id=cid, author_id=_actor_id(request), body=body,
            question_id=question_id, parent_id=parent_id, limits=_settings(request), client_ip=client_ip(request),
            ip_allowlisted=state.settings.allowlisted(client_ip(request)), area=area, areas=_areas(request).names)
    except ValidationFailed as exc:
        return await _comment_form_failed(request, cid, parent_id, question_id, body, exc.errors, area=area)
    if new_comment.status == "held":
        flash(request, _("Thank you. Your comment is waiting for a moderator and will appear once it is cleared."),
              "warning")
    else:
        flash(request, _("Your comment is posted."), "success")
    if parent_id is not None:
        target = _url(request, "consultations:comment", consultation_id=cid, comment_id=parent_id)
    elif question_id is not None:
        target = _url(request, "consultations:question", consultation_id=cid, question_id=question_id)
    else:
        target = _url(request, "consultations:detail", consultation_id=cid)
    if is_htmx(request):
        return await _rerender_after_post(request, cid, parent_id, question_id)
    return RedirectResponse(f"{target}#comment-{new_comment.id}", 303)


def _reply_count_oob(request: Request, comment_path: str) -> str:
    """After a reply posted with htmx, which count outside the swapped replies region shows the new number: the
    "Replies (N)" heading on the comment's own page ("heading"), or the "Show N replies" link of a thread whose
    replies were opened in place ("link"); "" when nothing was posted with htmx."""
    if request.method != "POST" or not is_htmx(request):
        return ""
    return "heading" if urlsplit(request.headers.get("hx-current-url", "")).path == comment_path else "link"


async def _comment_form_failed(request, cid, parent_id, question_id, body, errors, *, area: str = "") -> Response:
    """The page the comment form was on, again, with what was typed and why it was refused (422)."""
    values = {"body": body, "area": area}
    if parent_id is not None:
        return await _render_comment(request, cid, parent_id, values=values, errors=errors, status_code=422)
    if question_id is not None:
        return await _render_thread(request, cid, question_id, values=values, errors=errors, status_code=422)
    return await _render_thread(request, cid, **_paging(request), values=values, errors=errors, status_code=422)


async def _rerender_after_post(request, cid, parent_id, question_id) -> Response:
    """With htmx, the region the comment was posted into, first page, showing the new comment."""
    if parent_id is not None:
        return await _render_comment(request, cid, parent_id)
    return await _render_thread(request, cid, question_id)


@require_signed_in
async def edit_comment(request: Request) -> Response:
    cid, comment_id = request.path_params["consultation_id"], request.path_params["comment_id"]
    user_id = _actor_id(request)
    settings = _settings(request)
    existing = await run_query(request, queries.get_comment_for_author, comment_id=comment_id, user_id=user_id,
                               consultation_id=cid, edit_window=settings.edit_window_minutes)
    consultation = await run_query(request, queries.get_consultation, consultation_id=cid)
    values, errors, status = {"body": existing.body}, {}, 200
    locked = _why_not_editable(consultation, existing, settings.edit_window_minutes)
    if request.method == "POST":
        values = {"body": forms.text(await request.form(), "body", 200_000)}
        try:
            await run_in_session(request, service.edit_comment, comment_id=comment_id, user_id=user_id,
                                 body=values["body"], limits=_settings(request), consultation_id=cid)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        except InvalidState as exc:  # the window closed while the form was open: say so, keep what they wrote
            locked, status = exc.message, exc.status_code
        else:
            flash(request, _("Your comment is updated."), "success")
            return RedirectResponse(_url(request, "consultations:comment", consultation_id=cid,
                                         comment_id=comment_id), 303)
    return render(request, "consultations/edit_comment.html", {"consultation": consultation, "comment": existing,
                                                               "values": values, "errors": errors,
                                                               "locked": locked, **_common(request)},
                  status_code=status)


def _why_not_editable(consultation: queries.ConsultationView, comment: queries.CommentView, window: int) -> str:
    """Why the edit form would only fail (the service's own refusals, said before anyone types), or ""."""
    if not consultation.is_open:
        return _("This consultation is closed, so comments can't be changed any more.")
    if comment.status not in ("published", "held"):
        return _("This comment was removed or hidden, so it can't be edited.")
    if not comment.editable:
        return _("Comments can be edited for %(minutes)s minutes after posting. Post a reply to add to what you "
                 "said.", minutes=window)
    return ""


@require_signed_in
async def delete_comment(request: Request) -> Response:
    cid, comment_id = request.path_params["consultation_id"], request.path_params["comment_id"]
    await run_in_session(request, service.delete_comment, comment_id=comment_id, user_id=_actor_id(request),
                         consultation_id=cid)
    flash(request, _("Your comment is deleted. Replies to it stay in the discussion."), "success")
    return RedirectResponse(_url(request, "consultations:comment", consultation_id=cid, comment_id=comment_id), 303)


@require_signed_in
async def vote(request: Request) -> Response:
    cid, comment_id = request.path_params["consultation_id"], request.path_params["comment_id"]
    form = await request.form()
    try:
        result = await run_in_session(request, service.cast_vote, comment_id=comment_id,
                                      user_id=_actor_id(request), vote=forms.text(form, "vote", 20),
                                      limits=_settings(request), consultation_id=cid,
                                      area=forms.text(form, "area", 200), areas=_areas(request).names)
    except DomainError as exc:
        if not is_htmx(request) or exc.status_code not in (409, 422, 429):
            raise
        error, status = (_field_error(exc) if isinstance(exc, ValidationFailed) else exc.message), exc.status_code
    else:
        error, status = "", 200
    if is_htmx(request):
        view = await run_query(request, queries.get_comment_for_vote, comment_id=comment_id,
                               viewer_id=_actor_id(request))
        return render(request, "consultations/_votes.html", {"c": view, "consultation_id": cid,
                                                             "next_url": forms.text(form, "next", 500),
                                                             "can_vote": True, "vote_error": error,
                                                             **_common(request)}, status_code=status)
    flash(request, _("Your vote is changed.") if result.changed else _("Your vote is recorded."), "success")
    default = _url(request, "consultations:comment", consultation_id=cid, comment_id=comment_id)
    return RedirectResponse(safe_next(forms.text(form, "next", 500) or default) + f"#comment-{comment_id}", 303)


@require_signed_in
async def report_comment(request: Request) -> Response:
    cid, comment_id = request.path_params["consultation_id"], request.path_params["comment_id"]
    target = await run_query(request, queries.get_comment, consultation_id=cid, comment_id=comment_id)
    errors, status, reason = {}, 200, ""
    if request.method == "POST":
        reason = forms.text(await request.form(), "reason", 40)
        try:
            await run_in_session(request, service.report_comment, comment_id=comment_id,
                                 reporter_id=_actor_id(request), reason=reason, limits=_settings(request),
                                 consultation_id=cid)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            flash(request, _("Thank you. A moderator will review the comment."), "success")
            return RedirectResponse(_url(request, "consultations:detail", consultation_id=cid), 303)
    consultation = await run_query(request, queries.get_consultation, consultation_id=cid)
    return render(request, "consultations/report_comment.html", {
        "consultation": consultation, "comment": target, "errors": errors, "reason": reason,
        "reasons": reason_options(), **_common(request)}, status_code=status)


@require_roles(Role.OFFICIAL)
async def respond(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    await _managed(request, cid)
    form = await request.form()
    comment_id = forms.optional_int(form, "comment_id")
    question_id = forms.optional_int(form, "question_id")
    data, errors = forms.parse_response_form(form)
    if not errors:
        try:
            await run_in_session(request, service.publish_response, consultation_id=cid,
                                 official_id=_actor_id(request), data=data, comment_id=comment_id,
                                 question_id=question_id)
        except ValidationFailed as exc:
            errors = exc.errors
    values = {"decision": data.decision, "text": data.text, "commitment": data.commitment,
              "follow_up_on": data.follow_up_on.isoformat() if data.follow_up_on else ""}
    if errors:  # the page the response form was on, again, with what was typed and why it was refused
        if comment_id is not None:
            return await _render_comment(request, cid, comment_id, response_values=values, response_errors=errors,
                                         status_code=422)
        paging = _paging(request) if question_id is None else {}
        return await _render_thread(request, cid, question_id, **paging, response_values=values,
                                    response_errors=errors, status_code=422, full_page=True)
    flash(request, _("Your response is published. The comment's author and the consultation's followers are "
                     "being e-mailed."), "success")
    if comment_id is not None:
        target = _url(request, "consultations:comment", consultation_id=cid, comment_id=comment_id)
    elif question_id is not None:
        target = _url(request, "consultations:question", consultation_id=cid, question_id=question_id)
    else:
        target = _url(request, "consultations:detail", consultation_id=cid)
    return RedirectResponse(target + "#responses", 303)


@require_signed_in
async def follow(request: Request) -> Response:
    cid = request.path_params["consultation_id"]
    form = await request.form()
    if forms.text(form, "action", 10) == "unfollow":
        await run_in_session(request, service.unfollow, consultation_id=cid, user_id=_actor_id(request))
        flash(request, _("You no longer follow this consultation."), "success")
    else:
        await run_in_session(request, service.follow, consultation_id=cid, user_id=_actor_id(request))
        flash(request, _("You follow this consultation. We'll e-mail you officials' responses and the report."),
              "success")
    return RedirectResponse(_url(request, "consultations:detail", consultation_id=cid), 303)


async def unsubscribe(request: Request) -> Response:
    """The e-mailed link shows a button (link checkers open links, so a GET changes nothing); the button, or a
    mail program's one-click POST (RFC 8058, token in the query string), stops the e-mails."""
    token = request.query_params.get("token", "")
    if request.method == "POST":
        token = forms.text(await request.form(), "token", 2000) or token
    run, use_case = (run_in_session, service.unfollow_by_token) if request.method == "POST" \
        else (run_query, service.unfollow_target)
    try:
        consultation = await run(request, use_case, token=token[:2000], signer=request.app.state.signer)
    except DomainError as exc:
        return render(request, "consultations/unsubscribed.html", {"consultation": None, "message": exc.message},
                      status_code=exc.status_code)
    return render(request, "consultations/unsubscribed.html",
                  {"consultation": consultation, "message": "", "done": request.method == "POST", "token": token},
                  headers={"Cache-Control": "no-store"})


# ----- residents see the deliberation: vote on statements, where you stand -----

def _field_error(exc: ValidationFailed) -> str | None:
    return exc.errors.get("vote") or exc.errors.get("area")


async def _render_statements(request: Request, cid: int, skipped: tuple[int, ...], *, current: int | None = None,
                             error: str | None = "", area_error: str | None = "", area: str = "",
                             status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The vote-on-statements page; with htmx only its card (the next statement, or the end of the deck)."""
    deck = await run_query(request, deliberation.statement_deck, consultation_id=cid, viewer_id=_actor_id(request),
                           skipped=skipped, current=current, staff=await _staff(request))
    return render(request, "consultations/statements.html",
                  {"deck": deck, "consultation": deck.consultation, "vote_error": error, "area_error": area_error,
                   "area_value": area or await _my_area(request, cid),
                   # the next statement's heading takes focus; a refusal's message or field keeps it (civic.js)
                   "focus_heading": is_htmx(request) and status_code == 200, **_common(request)},
                  partial="consultations/_statement_card.html", status_code=status_code,
                  headers={"Cache-Control": "no-store", **(headers or {})})


async def statements(request: Request) -> Response:
    skipped = deliberation.parse_skipped(request.query_params.get("skip", ""))
    return await _render_statements(request, request.path_params["consultation_id"], skipped)


@require_signed_in
async def vote_statement(request: Request) -> Response:
    """One statement's Agree / Disagree / Pass (a vote, through `service.vote_on_statement`) or Skip (not a vote: the
    statement joins the skipped list in the query string). Then the next statement: a redirect (PRG), or with
    htmx the next card; a refused vote (409/422/429) shows the card again, at the same place, with the reason."""
    cid = request.path_params["consultation_id"]
    form = await request.form()
    comment_id = forms.optional_int(form, "comment_id")
    skipped = deliberation.parse_skipped(forms.text(form, "skip", 2000))
    choice = forms.text(form, "vote", 20)
    area = forms.text(form, "area", 200)
    if choice == "skip" and comment_id is not None:
        skipped = (*skipped, comment_id)
    else:
        try:
            await run_in_session(request, service.vote_on_statement, consultation_id=cid, comment_id=comment_id,
                                 user_id=_actor_id(request), vote=choice, limits=_settings(request), area=area,
                                 areas=_areas(request).names)
        except DomainError as exc:
            if exc.status_code not in (409, 422, 429):
                raise
            if isinstance(exc, ValidationFailed) and "area" in exc.errors:
                return await _render_statements(request, cid, skipped, current=comment_id,
                                                area_error=exc.errors["area"], area=area, status_code=422)
            error = exc.errors.get("vote") if isinstance(exc, ValidationFailed) else exc.message
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
            return await _render_statements(request, cid, skipped, current=comment_id, error=error, area=area,
                                            status_code=exc.status_code, headers=headers)
    if is_htmx(request):
        return await _render_statements(request, cid, skipped)
    query = {"skip": ",".join(map(str, skipped))} if skipped else None
    return RedirectResponse(_url(request, "consultations:statements", query, consultation_id=cid) + "#statement",
                            303)


async def stance(request: Request) -> Response:
    """Where you stand: the opinion groups, and the viewer's own place among them (for the viewer alone)."""
    page = await run_query(request, deliberation.stance_page, consultation_id=request.path_params["consultation_id"],
                           viewer_id=_actor_id(request), secret=request.app.state.settings.secret_key,
                           staff=await _staff(request))
    return render(request, "consultations/stance.html", {"s": page, "consultation": page.consultation,
                                                         "min_group": deliberation.MIN_GROUP_SIZE,
                                                         **_common(request)},
                  headers={"Cache-Control": "private, no-store"})


routes = [
    Route("/", index, name="index"),
    Route("/new", new, methods=["GET", "POST"], name="new"),
    Route("/unsubscribe", unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
    Route("/{consultation_id:int}", detail, name="detail"),
    Route("/{consultation_id:int}/edit", edit, methods=["GET", "POST"], name="edit"),
    Route("/{consultation_id:int}/state", change_state, methods=["POST"], name="state"),
    Route("/{consultation_id:int}/report", report, methods=["GET", "POST"], name="report"),
    Route("/{consultation_id:int}/responses", responses, name="responses"),
    Route("/{consultation_id:int}/respond", respond, methods=["POST"], name="respond"),
    Route("/{consultation_id:int}/follow", follow, methods=["POST"], name="follow"),
    Route("/{consultation_id:int}/questions/{question_id:int}", question, name="question"),
    Route("/{consultation_id:int}/comments", post_comment, methods=["POST"], name="post_comment"),
    Route("/{consultation_id:int}/comments/{comment_id:int}", comment, name="comment"),
    Route("/{consultation_id:int}/comments/{comment_id:int}/edit", edit_comment, methods=["GET", "POST"],
          name="edit_comment"),
    Route("/{consultation_id:int}/comments/{comment_id:int}/delete", delete_comment, methods=["POST"],
          name="delete_comment"),
    Route("/{consultation_id:int}/comments/{comment_id:int}/vote", vote, methods=["POST"], name="vote"),
    Route("/{consultation_id:int}/comments/{comment_id:int}/report", report_comment, methods=["GET", "POST"],
          name="report_comment"),
    Route("/{consultation_id:int}/statements", statements, name="statements"),
    Route("/{consultation_id:int}/statements", vote_statement, methods=["POST"], name="vote_statement"),
    Route("/{consultation_id:int}/stance", stance, name="stance"),
]
