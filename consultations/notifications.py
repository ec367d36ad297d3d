"""E-mails about consultations: officials' responses (to the comment's author and followers) and closing reports.

Run from background jobs, so a response with thousands of followers never slows the official's request.
"""
from __future__ import annotations

from typing import TypeGuard

from sqlmodel import Session, col, select

from app.context import unit_context
from app.db import pk
from app.i18n import gettext as _
from app.i18n import use_locale
from app.mail import queue_email
from app.models import Department, User
from app.sanitize import strip_all

from . import service
from .labels import decision_label
from .models import Comment, CommentStatus, Consultation, Follower, OfficialResponse

PLACEHOLDER_DOMAIN = "@invalid"  # imported Polis participants: internal addresses, never mailed or shown


def _mailable(user: User | None) -> TypeGuard[User]:
    return bool(user and user.email and not user.email.endswith(PLACEHOLDER_DOMAIN))


def _followers(session: Session, consultation_id: int) -> list[User]:
    return list(session.exec(select(User).join(Follower, onclause=col(Follower.user_id) == col(User.id))
                             .where(Follower.consultation_id == consultation_id).order_by(col(User.id))))


def _decision_text(decision: str, locale: str) -> str:
    with use_locale(locale):
        return decision_label(decision)


def notify_people_of_response(session: Session, *, response_id: int, followers: bool = True) -> int:
    """Queue e-mails about a published response; returns how many were queued."""
    response = session.get(OfficialResponse, response_id)
    if response is None or response.status != CommentStatus.PUBLISHED:
        return 0
    consultation = session.get(Consultation, response.consultation_id)
    assert consultation is not None  # the response's consultation (foreign key)
    department = session.get(Department, response.department_id) if response.department_id else None
    signer = unit_context(session).signer
    recipients: dict[int, tuple[User, bool]] = {}
    if response.comment_id is not None:
        comment = session.get(Comment, response.comment_id)
        author = session.get(User, comment.author_id) if comment else None
        if _mailable(author) and author.id != response.author_id:
            recipients[pk(author.id)] = (author, True)
    for user in (_followers(session, pk(consultation.id)) if followers else ()):
        if _mailable(user) and user.id != response.author_id and user.id not in recipients:
            recipients[pk(user.id)] = (user, False)
    if response.comment_id is not None:
        link = ("consultations:comment", {"consultation_id": consultation.id, "comment_id": response.comment_id})
    elif response.question_id is not None:
        link = ("consultations:question", {"consultation_id": consultation.id, "question_id": response.question_id})
    else:
        link = ("consultations:detail", {"consultation_id": consultation.id})
    renderer = unit_context(session).renderer
    link_url = renderer.absolute_url(link[0], **link[1]) + f"#response-{response.id}"
    for user, to_author in recipients.values():
        locale = user.locale or "en"
        dept_name = ""
        if department is not None:
            dept_name = (department.name_zh or department.name) if locale == "zh-Hans" else department.name
        unsubscribe = ""
        if not to_author:
            unsubscribe = renderer.absolute_url("consultations:unsubscribe", _query={
                "token": service.unfollow_token(signer, pk(consultation.id), pk(user.id))})
        queue_email(session, to=user.email_display or user.email, template="consultations/response", locale=locale,
                    context={"title": consultation.title, "department": dept_name or _("the council"),
                             "decision": _decision_text(response.decision, locale), "text": response.text,
                             "commitment": response.commitment,
                             "follow_up_on": response.follow_up_on.isoformat() if response.follow_up_on else "",
                             "link": link_url, "unsubscribe": unsubscribe, "to_author": to_author},
                    unsubscribe=unsubscribe)
    return len(recipients)


def notify_followers_of_report(session: Session, *, consultation_id: int) -> int:
    """Queue the closing report to every follower; returns how many were queued."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.report_published_at is None:
        return 0
    signer = unit_context(session).signer
    renderer = unit_context(session).renderer
    link = renderer.absolute_url("consultations:responses", consultation_id=consultation.id)
    report = strip_all(consultation.report_text.replace("</p>", "</p>\n\n").replace("<br>", "\n")).strip()
    responses = list(session.exec(select(OfficialResponse).where(
        OfficialResponse.consultation_id == consultation.id, OfficialResponse.status == CommentStatus.PUBLISHED)
        .order_by(col(OfficialResponse.created_at), col(OfficialResponse.id))))
    sent = 0
    for user in _followers(session, pk(consultation.id)):
        if not _mailable(user):
            continue
        locale = user.locale or "en"
        items = [{"decision": _decision_text(r.decision, locale), "text": r.text, "commitment": r.commitment}
                 for r in responses]
        unsubscribe = renderer.absolute_url("consultations:unsubscribe", _query={
            "token": service.unfollow_token(signer, pk(consultation.id), pk(user.id))})
        queue_email(session, to=user.email_display or user.email, template="consultations/report",
                    locale=locale, context={"title": consultation.title, "report": report, "responses": items,
                                            "link": link, "unsubscribe": unsubscribe},
                    unsubscribe=unsubscribe)
        sent += 1
    return sent
