"""Consultations use cases: one function per action, each inside the caller's unit of work (never commits).

Counters on comments and consultations change in the same transaction as the row that moves them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, select, col

from app import ratelimit
from app.auth import require_user_role
from app.clock import utc_now
from app.context import unit_context
from app.config import parse_rate
from app.db import insert_ignore, is_postgres
from app.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from app.i18n import gettext as _
from app.jobs import enqueue
from app.models import Role, User
from app.sanitize import clean_rich_text
from moderation import ContentRef, Decision, Route, is_blocked, report_content, screen_content

from . import access, forms
from .config import ConsultationSettings
from .models import (
    LISTED_STATUSES,
    PARTICIPATION_STATES,
    RESPONDABLE_STATES,
    VOTE_VALUES,
    Comment,
    CommentEdit,
    CommentReport,
    CommentStatus,
    CommentVote,
    CommentVoteEvent,
    Consultation,
    ConsultationState,
    Follower,
    OfficialResponse,
    ParticipantArea,
    Question,
)

VOTE_COUNTER = {1: "agree_count", -1: "disagree_count", 0: "pass_count"}
UNFOLLOW_PURPOSE = "consultations.unfollow"


# ----- helpers -----

def _path(session: Session, name: str, **params) -> str:
    renderer = unit_context(session).renderer
    try:
        return renderer.path(name, **params)
    except Exception:  # a renderer built without the app's router (e.g. a CLI's): a link is a convenience only
        return ""


def get_consultation(session: Session, consultation_id: int) -> Consultation:
    """Raises: NotFound."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(_("We couldn't find that consultation. It may have been removed; see the list of consultations."))
    return consultation


def _get_comment(session: Session, comment_id: int, consultation_id: int | None = None) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or (consultation_id is not None and comment.consultation_id != consultation_id):
        raise NotFound(_("We couldn't find that comment. It may have been removed."))
    return comment


def _require_official_for(session: Session, user_id: int | None, consultation: Consultation | None = None) -> User:
    """An official (or admin); with a consultation, one who may act on it (`access.may_manage`)."""
    user = require_user_role(session, user_id, Role.OFFICIAL)
    if consultation is not None:
        access.require_manager(session, user, consultation.department_id)
    return user


def require_manager(session: Session, *, user_id: int | None, consultation_id: int) -> Consultation:
    """The consultation, when `user_id` may act on it as staff. Raises: NotFound, PermissionDenied."""
    consultation = get_consultation(session, consultation_id)
    _require_official_for(session, user_id, consultation)
    return consultation


def _bump(session: Session, model, row_id: int, column: str, delta: int) -> None:
    col = getattr(model, column)
    session.execute(update(model).where(model.id == row_id).values({column: col + delta}))


def set_comment_status(session: Session, comment: Comment, status: str, *, new: bool = False) -> None:
    """Move a comment to `status`, keeping the parent's reply count and the published counts exact."""
    was_listed = False if new else comment.listed
    was_published = False if new else comment.status == CommentStatus.PUBLISHED
    comment.status = status
    comment.listed = status in LISTED_STATUSES
    session.add(comment)
    session.flush()
    if comment.parent_id is not None and was_listed != comment.listed:
        _bump(session, Comment, comment.parent_id, "reply_count", 1 if comment.listed else -1)
    is_published = status == CommentStatus.PUBLISHED
    if was_published != is_published:
        delta = 1 if is_published else -1
        _bump(session, Consultation, comment.consultation_id, "comment_count", delta)
        if comment.question_id is not None:
            _bump(session, Question, comment.question_id, "comment_count", delta)


def _enforce(session: Session, key: str, spec: str, message: str) -> None:
    limit, window = parse_rate(spec)
    ratelimit.enforce(session, key, limit=limit, window=window, message=message)


# ----- consultations -----

def _apply(session: Session, consultation: Consultation, data: forms.ConsultationData, user: User) -> None:
    consultation.title = data.title
    consultation.summary = data.summary
    consultation.body = clean_rich_text(data.body)
    if user.role == Role.ADMIN and data.department_id:
        consultation.department_id = data.department_id
    elif consultation.department_id is None:
        consultation.department_id = user.department_id
    consultation.opens_at = forms.day_start(data.opens_on)
    consultation.closes_at = forms.day_end(data.closes_on)
    consultation.strict_mode = data.strict_mode
    consultation.updated_at = utc_now()


def _sync_questions(session: Session, consultation: Consultation, texts: tuple[str, ...]) -> None:
    existing = list(session.exec(select(Question).where(col(Question.consultation_id) == consultation.id)
                                 .order_by(col(Question.position), col(Question.id))))
    for position, text in enumerate(texts):
        if position < len(existing):
            existing[position].text = text
            existing[position].position = position
            session.add(existing[position])
        else:
            assert consultation.id is not None  # a stored row (flushed or loaded)
            session.add(Question(consultation_id=consultation.id, position=position, text=text))
    for question in existing[len(texts):]:
        used = session.exec(select(col(Comment.id)).where(col(Comment.question_id) == question.id).limit(1)).first()
        used = used or session.exec(select(col(OfficialResponse.id)).where(col(OfficialResponse.question_id) == question.id)
                                    .limit(1)).first()
        if used:
            raise ValidationFailed({"questions": _(
                "The question \u201c%(text)s\u201d already has comments, so it can't be removed. Keep it in the list.",
                text=question.text[:80])})
        session.delete(question)


def create_consultation(session: Session, *, user_id: int, data: forms.ConsultationData) -> Consultation:
    """Create a consultation in draft.

    Raises: PermissionDenied (not an official or admin), ValidationFailed.
    """
    user = _require_official_for(session, user_id)
    now = utc_now()
    consultation = Consultation(title="", created_by=user.id, created_at=now, updated_at=now,
                                state=ConsultationState.DRAFT)
    _apply(session, consultation, data, user)
    session.add(consultation)
    session.flush()
    _sync_questions(session, consultation, data.questions)
    session.flush()
    return consultation


def update_consultation(session: Session, *, user_id: int, consultation_id: int,
                        data: forms.ConsultationData) -> Consultation:
    """Edit a consultation's text, dates, questions and strict mode.

    Raises: NotFound, PermissionDenied, ValidationFailed (a question with comments removed).
    """
    consultation = get_consultation(session, consultation_id)
    user = _require_official_for(session, user_id, consultation)
    _apply(session, consultation, data, user)
    session.add(consultation)
    _sync_questions(session, consultation, data.questions)
    session.flush()
    return consultation


def change_state(session: Session, *, user_id: int, consultation_id: int, action: str) -> Consultation:
    """Open a draft (or reopen a closed consultation) or close an open one.

    Raises: NotFound, PermissionDenied, InvalidState.
    """
    consultation = get_consultation(session, consultation_id)
    _require_official_for(session, user_id, consultation)
    now = utc_now()
    if action == "open" and consultation.state in (ConsultationState.DRAFT, ConsultationState.CLOSED):
        consultation.state = ConsultationState.OPEN
        if consultation.opens_at is None or consultation.opens_at > now:
            consultation.opens_at = now
        if consultation.closes_at is not None and consultation.closes_at <= now:
            consultation.closes_at = None
    elif action == "close" and consultation.state == ConsultationState.OPEN:
        consultation.state = ConsultationState.CLOSED
        consultation.closes_at = now
        # Write-once: a reopened and closed-again consultation keeps its first closing, so past figures hold.
        consultation.closed_at = consultation.closed_at or now
    else:
        raise InvalidState(_("This consultation can't be changed that way in its current state."))
    consultation.updated_at = now
    session.add(consultation)
    session.flush()
    return consultation


def open_scheduled(session: Session, *, now: datetime | None = None) -> int:
    """Open drafts whose opening date has come (an official set it, so it is their schedule); returns how many.

    A draft whose closing date has also passed stays a draft: opening it only to close it would be no use to anyone.
    """
    now = now or utc_now()
    rows = list(session.exec(select(Consultation).where(
        col(Consultation.state) == ConsultationState.DRAFT, col(Consultation.opens_at).is_not(None),
        col(Consultation.opens_at) <= now, or_(col(Consultation.closes_at).is_(None), col(Consultation.closes_at) > now))))
    for consultation in rows:
        consultation.state = ConsultationState.OPEN
        consultation.updated_at = now
        session.add(consultation)
    return len(rows)


def close_expired(session: Session, *, now: datetime | None = None) -> int:
    """Close open consultations whose closing date has passed; returns how many closed."""
    now = now or utc_now()
    rows = list(session.exec(select(Consultation).where(col(Consultation.state) == ConsultationState.OPEN,
                                                        col(Consultation.closes_at).is_not(None),
                                                        col(Consultation.closes_at) <= now)))
    for consultation in rows:
        consultation.state = ConsultationState.CLOSED
        consultation.closed_at = consultation.closed_at or now
        consultation.updated_at = now
        session.add(consultation)
    return len(rows)


def publish_report(session: Session, *, user_id: int, consultation_id: int, text: str) -> Consultation:
    """Publish the closing report of a closed consultation and e-mail its followers (through a job).

    Raises: NotFound, PermissionDenied, InvalidState (not closed), ValidationFailed (empty).
    """
    consultation = get_consultation(session, consultation_id)
    _require_official_for(session, user_id, consultation)
    if consultation.state not in (ConsultationState.CLOSED, ConsultationState.REPORTED):
        raise InvalidState(_("Close the consultation before publishing its report."))
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"report": _("Write the report: what you heard and what you will do.")})
    if len(text) > forms.REPORT_MAX:
        raise ValidationFailed({"report": _("Use %(max)s characters or fewer.", max=forms.REPORT_MAX)})
    first = consultation.report_published_at is None
    consultation.report_text = clean_rich_text(text)
    consultation.report_published_at = consultation.report_published_at or utc_now()
    consultation.state = ConsultationState.REPORTED
    consultation.updated_at = utc_now()
    session.add(consultation)
    if first:
        enqueue(session, "consultations.notify_report", {"consultation_id": consultation.id},
                dedupe_key=f"consultations.report:{consultation.id}")
    return consultation


# ----- comments -----

def _reach(consultation: Consultation, comment: Comment | None = None) -> int:
    """How many people an item reaches, for the moderation queue's order: the consultation's published comments
    (its discussion's size) plus the comment's own votes and replies."""
    own = 0 if comment is None else (comment.agree_count + comment.disagree_count + comment.pass_count
                                     + comment.reply_count)
    return max(0, consultation.comment_count) + own


def _screen(session: Session, consultation: Consultation, *, kind: str, item_id: int, text: str, author_id: int,
            url: str, comment: Comment | None = None) -> Route:
    screening = screen_content(session, ContentRef(
        kind=kind, item_id=item_id, text=text, author_id=author_id, context_id=consultation.id,
        context_title=consultation.title, url=url, strict=consultation.strict_mode,
        reach=_reach(consultation, comment)))
    return Route(screening.route)


def check_area(area: str, areas: tuple[str, ...]) -> str:
    """The configured area a participant chose ("" for none given), matched without regard to case.

    Raises: ValidationFailed (not one of the configured areas), with the message for the `area` field.
    """
    area = (area or "").strip()
    if not area:
        return ""
    match = next((a for a in areas if a.casefold() == area.casefold()), None)
    if match is None:
        raise ValidationFailed({"area": _("Choose your area from the list, or leave it empty.")})
    return match


def record_area(session: Session, *, consultation_id: int, user_id: int, area: str) -> None:
    """Remember the area a participant gave in a consultation: one per participant, the latest wins.
    An empty area leaves an earlier answer as it was (not giving it again is not taking it back)."""
    if not area:
        return
    now = utc_now()
    inserted = insert_ignore(session, ParticipantArea.__table__, {  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        "consultation_id": consultation_id, "user_id": user_id, "area": area, "updated_at": now},
        ["consultation_id", "user_id"])
    if not inserted:
        session.execute(update(ParticipantArea).where(col(ParticipantArea.consultation_id) == consultation_id,
                                                      col(ParticipantArea.user_id) == user_id)
                        .values(area=area, updated_at=now))


def post_comment(session: Session, *, consultation_id: int, author_id: int, body: str, limits: ConsultationSettings,
                 question_id: int | None = None, parent_id: int | None = None,
                 client_ip: str | None = None, ip_allowlisted: bool = False, area: str = "",
                 areas: tuple[str, ...] = ()) -> Comment:
    """Post a comment or a reply; it passes moderation screening before anyone else sees it. `area` (optional,
    one of `areas`) is remembered as the author's area in this consultation.

    Raises: NotFound, InvalidState (consultation not open, parent hidden/removed or too deep),
    ValidationFailed (empty or too long, unknown area), RateLimited.
    """
    consultation = get_consultation(session, consultation_id)
    if consultation.state not in PARTICIPATION_STATES:
        raise InvalidState(_("This consultation is not open for comments. You can still read the discussion."))
    if is_blocked(session, author_id):
        raise PermissionDenied(_("A moderator has paused your account from posting for a while. "
                                 "The e-mail you received says until when and how to appeal."))
    body = forms.text({"b": body}, "b")
    errors = forms.check_comment_body(body, limits.comment_max_length)
    try:
        area = check_area(area, areas)
    except ValidationFailed as exc:
        errors = {**errors, **exc.errors}
    if errors:
        raise ValidationFailed(errors)
    depth = 1
    if parent_id is not None:
        parent = _get_comment(session, parent_id, consultation.id)
        if parent.status != CommentStatus.PUBLISHED:
            raise InvalidState(_("You can't reply to this comment because it was removed or hidden. "
                                 "Add a new comment to the discussion instead."))
        if parent.depth >= limits.max_reply_depth:
            raise InvalidState(_("Replies can only go %(depth)s levels deep. Reply to an earlier comment in this "
                                 "conversation instead.", depth=limits.max_reply_depth))
        question_id = parent.question_id
        depth = parent.depth + 1
    elif question_id is not None:
        question = session.get(Question, question_id)
        if question is None or question.consultation_id != consultation.id:
            raise NotFound(_("We couldn't find that question in this consultation."))
    message = _("You've posted a lot of comments in a short time. Wait a few minutes, then try again.")
    _enforce(session, f"consultations:comment:user:{author_id}", limits.comment_rate_limit, message)
    if client_ip and not ip_allowlisted:
        _enforce(session, f"consultations:comment:ip:{client_ip}", limits.comment_ip_rate_limit, message)
    assert consultation.id is not None  # a stored row (flushed or loaded)
    comment = Comment(consultation_id=consultation.id, question_id=question_id, parent_id=parent_id, depth=depth,
                      author_id=author_id, body=body, status=CommentStatus.HELD, listed=False, created_at=utc_now())
    session.add(comment)
    session.flush()
    assert comment.id is not None  # a stored row (flushed or loaded)
    route = _screen(session, consultation, kind="comment", item_id=comment.id, text=body, author_id=author_id,
                    url=_path(session, "consultations:comment", consultation_id=consultation.id, comment_id=comment.id))
    comment.route = route.value
    set_comment_status(session, comment, CommentStatus.HELD if route == Route.HOLD else CommentStatus.PUBLISHED,
                       new=True)
    record_area(session, consultation_id=consultation.id, user_id=author_id, area=area)
    return comment


def edit_comment(session: Session, *, comment_id: int, user_id: int, body: str,
                 limits: ConsultationSettings, consultation_id: int | None = None) -> Comment:
    """Change a comment's text within the edit window; the earlier text is kept in its history.

    Raises: NotFound, PermissionDenied (someone else's comment), InvalidState (window passed, removed or hidden,
    consultation closed), ValidationFailed.
    """
    comment = _get_comment(session, comment_id, consultation_id)
    if comment.author_id != user_id:
        raise PermissionDenied(_("You can only edit your own comments."))
    consultation = get_consultation(session, comment.consultation_id)
    if consultation.state not in PARTICIPATION_STATES:
        raise InvalidState(_("This consultation is closed, so comments can't be changed any more."))
    if comment.status not in (CommentStatus.PUBLISHED, CommentStatus.HELD):
        raise InvalidState(_("This comment was removed or hidden, so it can't be edited."))
    if utc_now() - comment.created_at > timedelta(minutes=limits.edit_window_minutes):
        raise InvalidState(_("Comments can be edited for %(minutes)s minutes after posting. Post a reply to add to "
                             "what you said.", minutes=limits.edit_window_minutes))
    body = forms.text({"b": body}, "b")
    errors = forms.check_comment_body(body, limits.comment_max_length)
    if errors:
        raise ValidationFailed(errors)
    if body == comment.body:
        return comment
    assert comment.id is not None  # a stored row (flushed or loaded)
    session.add(CommentEdit(comment_id=comment.id, body=comment.body, kind="edit", edited_by=user_id,
                            created_at=utc_now()))
    comment.body = body
    comment.edited_at = utc_now()
    route = _screen(session, consultation, kind="comment", item_id=comment.id, text=body, author_id=user_id,
                    url=_path(session, "consultations:comment", consultation_id=consultation.id, comment_id=comment.id),
                    comment=comment)
    comment.route = route.value
    if route == Route.HOLD and comment.status == CommentStatus.PUBLISHED:
        set_comment_status(session, comment, CommentStatus.HELD)
    session.add(comment)
    return comment


def delete_comment(session: Session, *, comment_id: int, user_id: int, consultation_id: int | None = None) -> Comment:
    """Remove one's own comment: its text is erased and it shows as "[removed by author]", keeping replies.

    Raises: NotFound, PermissionDenied, InvalidState (already removed).
    """
    comment = _get_comment(session, comment_id, consultation_id)
    if comment.author_id != user_id:
        raise PermissionDenied(_("You can only delete your own comments."))
    if comment.status == CommentStatus.REMOVED:
        raise InvalidState(_("This comment was already deleted."))
    comment.body = ""
    set_comment_status(session, comment, CommentStatus.REMOVED)
    return comment


@dataclass(frozen=True)
class VoteResult:
    comment: Comment
    vote: int
    changed: bool


def cast_vote(session: Session, *, comment_id: int, user_id: int, vote: str,
              limits: ConsultationSettings, consultation_id: int | None = None,
              area: str = "", areas: tuple[str, ...] = ()) -> VoteResult:
    """Agree, disagree or pass on a comment; voting again with another choice changes the vote. `area`
    (optional, one of `areas`) is remembered as the voter's area in this consultation.

    Raises: ValidationFailed (unknown choice or area), NotFound, InvalidState (closed consultation, hidden
    comment, the same vote twice), RateLimited.
    """
    return _cast_vote(session, comment_id=comment_id, user_id=user_id, vote=vote, limits=limits,
                      consultation_id=consultation_id, area=area, areas=areas, on_statement=False)


def _cast_vote(session: Session, *, comment_id: int, user_id: int, vote: str, limits: ConsultationSettings,
               consultation_id: int | None, area: str, areas: tuple[str, ...], on_statement: bool) -> VoteResult:
    """`cast_vote` for both forms; `on_statement` names what was voted on in the "same vote twice" refusal (the
    statements card calls it a statement, the discussion a comment)."""
    choice = forms.parse_vote(vote)
    if choice is None:
        raise ValidationFailed({"vote": _("Choose Agree, Disagree or Pass.")})
    area = check_area(area, areas)
    value = VOTE_VALUES[choice]
    comment = _get_comment(session, comment_id, consultation_id)
    assert comment.id is not None  # a stored row (loaded)
    consultation = get_consultation(session, comment.consultation_id)
    if consultation.state not in PARTICIPATION_STATES:
        raise InvalidState(_("Voting has closed for this consultation. The results stay on the page."))
    if comment.status != CommentStatus.PUBLISHED:
        raise InvalidState(_("This comment was removed or hidden, so it can't be voted on."))
    _enforce(session, f"consultations:vote:user:{user_id}", limits.vote_rate_limit,
             _("You've voted many times in a short time. Wait a few minutes, then try again."))
    now = utc_now()
    inserted = insert_ignore(session, CommentVote.__table__, {  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        "consultation_id": comment.consultation_id, "comment_id": comment.id, "user_id": user_id,
        "vote": value, "created_at": now}, ["comment_id", "user_id"])
    changed = False
    if inserted:
        _bump(session, Comment, comment.id, VOTE_COUNTER[value], 1)
    else:
        query = select(CommentVote).where(col(CommentVote.comment_id) == comment.id, col(CommentVote.user_id) == user_id)
        if is_postgres(session):
            query = query.with_for_update()
        existing = session.exec(query).one()
        if existing.vote == value:
            raise InvalidState(_already_voted(value, on_statement=on_statement))
        _bump(session, Comment, comment.id, VOTE_COUNTER[existing.vote], -1)
        _bump(session, Comment, comment.id, VOTE_COUNTER[value], 1)
        existing.vote = value
        existing.created_at = now
        session.add(existing)
        changed = True
    session.add(CommentVoteEvent(consultation_id=comment.consultation_id, comment_id=comment.id, user_id=user_id,
                                 vote=value, created_at=now))
    record_area(session, consultation_id=comment.consultation_id, user_id=user_id, area=area)
    session.flush()
    session.refresh(comment)
    return VoteResult(comment=comment, vote=value, changed=changed)


def vote_on_statement(session: Session, *, consultation_id: int, comment_id: int | None, user_id: int, vote: str,
                      limits: ConsultationSettings, area: str = "",
                      areas: tuple[str, ...] = ()) -> VoteResult:
    """`cast_vote` from the "vote on statements" form. The statement's id came with the page, so an id that is none
    of this consultation's statements (missing, another consultation's comment, a reply) is a mistake in the form,
    not a missing page; a statement moderated out since the page was shown says the vote was not counted, since the
    page goes on to the next statement.

    Raises: ValidationFailed (the choice, the area, or the statement under "vote"), NotFound (the consultation),
    InvalidState (closed consultation, statement moderated out, the same vote twice), RateLimited.
    """
    comment = session.get(Comment, comment_id) if comment_id is not None else None
    if comment is None or comment.consultation_id != consultation_id or comment.parent_id is not None:
        raise ValidationFailed({"vote": _("That isn't one of this consultation's statements. Vote on the statement "
                                          "shown here.")})
    if (comment.status != CommentStatus.PUBLISHED
            and get_consultation(session, consultation_id).state in PARTICIPATION_STATES):
        raise InvalidState(_("The statement you voted on was removed or hidden, so your vote was not counted. "
                             "Carry on with what is shown here."))
    assert comment.id is not None  # a stored row (loaded)
    return _cast_vote(session, comment_id=comment.id, user_id=user_id, vote=vote, limits=limits,
                      consultation_id=consultation_id, area=area, areas=areas, on_statement=True)


def vote_label(value: int) -> str:
    return {1: _("Agree"), -1: _("Disagree"), 0: _("Pass")}[value]


def _already_voted(value: int, *, on_statement: bool) -> str:
    if on_statement:
        return _("You already voted \u201c%(vote)s\u201d on this statement. Choose another option to change your "
                 "vote.", vote=vote_label(value))
    return _("You already voted \u201c%(vote)s\u201d on this comment. Choose another option to change your vote.",
             vote=vote_label(value))


def report_comment(session: Session, *, comment_id: int, reporter_id: int, reason: str,
                   limits: ConsultationSettings, consultation_id: int | None = None) -> bool:
    """Record a resident's report; enough reports hide the comment pending review. Returns True when hidden.

    Raises: ValidationFailed (no reason), NotFound, InvalidState (own comment, already reported, not shown).
    """
    choice = forms.parse_reason(reason)
    if choice is None:
        raise ValidationFailed({"reason": _("Choose why you are reporting this comment.")})
    comment = _get_comment(session, comment_id, consultation_id)
    if comment.status != CommentStatus.PUBLISHED:
        raise InvalidState(_("This comment is already hidden or removed. Thank you for looking out."))
    if comment.author_id == reporter_id:
        raise InvalidState(_("You can't report your own comment. Edit or delete it instead."))
    inserted = insert_ignore(session, CommentReport.__table__, {  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        "comment_id": comment.id, "reporter_id": reporter_id, "reason": choice.value, "created_at": utc_now()},
        ["comment_id", "reporter_id"])
    if not inserted:
        raise InvalidState(_("You have already reported this comment. A moderator will look at it."))
    assert comment.id is not None  # a stored row (flushed or loaded)
    _bump(session, Comment, comment.id, "report_count", 1)
    session.flush()
    session.refresh(comment)
    consultation = get_consultation(session, comment.consultation_id)
    outcome = report_content(session, ContentRef(
        kind="comment", item_id=comment.id, text=comment.body, author_id=comment.author_id,
        context_id=consultation.id, context_title=consultation.title,
        url=_path(session, "consultations:comment", consultation_id=consultation.id, comment_id=comment.id),
        strict=consultation.strict_mode, reach=_reach(consultation, comment)), reporter_id=reporter_id,
        reason=choice.value)
    count = max(comment.report_count, getattr(outcome, "report_count", 0) or 0)
    if getattr(outcome, "hide", False) or count >= limits.report_threshold:
        set_comment_status(session, comment, CommentStatus.HIDDEN)
        return True
    return False


# ----- officials' responses -----

def publish_response(session: Session, *, consultation_id: int, official_id: int, data: forms.ResponseData,
                     comment_id: int | None = None, question_id: int | None = None,
                     notify_followers: bool = True) -> OfficialResponse:
    """Answer a comment, a question's thread or the general discussion; e-mails the author and followers.

    Raises: PermissionDenied (not an official of its department), NotFound, InvalidState (draft or hidden comment),
    ValidationFailed.
    """
    consultation = get_consultation(session, consultation_id)
    user = _require_official_for(session, official_id, consultation)
    if consultation.state not in RESPONDABLE_STATES:
        raise InvalidState(_("Open the consultation before responding in it."))
    if comment_id is not None:
        comment = _get_comment(session, comment_id, consultation.id)
        if comment.status not in (CommentStatus.PUBLISHED, CommentStatus.REMOVED):
            raise InvalidState(_("This comment is hidden, so it can't be answered in public."))
        question_id = comment.question_id
    elif question_id is not None:
        question = session.get(Question, question_id)
        if question is None or question.consultation_id != consultation.id:
            raise NotFound(_("We couldn't find that question in this consultation."))
    errors = forms.check_response(data)
    if errors:
        raise ValidationFailed(errors)
    assert consultation.id is not None  # a stored row (flushed or loaded)
    assert user.id is not None  # a stored row (flushed or loaded)
    response = OfficialResponse(
        consultation_id=consultation.id, comment_id=comment_id, question_id=question_id, author_id=user.id,
        department_id=user.department_id or consultation.department_id, decision=data.decision, text=data.text,
        commitment=data.commitment, follow_up_on=data.follow_up_on, status=CommentStatus.HELD, created_at=utc_now())
    session.add(response)
    session.flush()
    url = _path(session, "consultations:comment", consultation_id=consultation.id, comment_id=comment_id) \
        if comment_id else _path(session, "consultations:detail", consultation_id=consultation.id)
    assert response.id is not None  # a stored row (flushed or loaded)
    route = _screen(session, consultation, kind="response", item_id=response.id,
                    text=data.text + "\n\n" + data.commitment, author_id=user.id, url=url)
    response.route = route.value
    if route != Route.HOLD:
        # A theme answered at once is one piece of news for followers: only the first response tells them.
        _set_response_published(session, response, notify_followers=notify_followers)
    session.add(response)
    return response


def _set_response_published(session: Session, response: OfficialResponse, *, notify_followers: bool = True) -> None:
    if response.status == CommentStatus.PUBLISHED:
        return
    response.status = CommentStatus.PUBLISHED
    response.published_at = response.published_at or utc_now()  # hidden and cleared again: the first one counts
    session.add(response)
    if response.comment_id is not None:
        _bump(session, Comment, response.comment_id, "response_count", 1)
    enqueue(session, "consultations.notify_response", {"response_id": response.id, "followers": notify_followers},
            dedupe_key=f"consultations.response:{response.id}")


def _set_response_hidden(session: Session, response: OfficialResponse) -> None:
    if response.status == CommentStatus.PUBLISHED and response.comment_id is not None:
        _bump(session, Comment, response.comment_id, "response_count", -1)
    response.status = CommentStatus.HIDDEN
    session.add(response)


# ----- following -----

def follow(session: Session, *, consultation_id: int, user_id: int) -> bool:
    """Follow a consultation (e-mails for officials' responses and the report). Returns True when new.

    Raises: NotFound.
    """
    consultation = get_consultation(session, consultation_id)
    if consultation.state == ConsultationState.DRAFT:
        raise NotFound(_("We couldn't find that consultation. It may have been removed; see the list of consultations."))
    return insert_ignore(session, Follower.__table__, {"consultation_id": consultation.id, "user_id": user_id,  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                                                       "created_at": utc_now()}, ["consultation_id", "user_id"])


def unfollow(session: Session, *, consultation_id: int, user_id: int) -> bool:
    """Stop following; returns True when the person was following."""
    row = session.exec(select(Follower).where(col(Follower.consultation_id) == consultation_id,
                                              col(Follower.user_id) == user_id)).first()
    if row is None:
        return False
    session.delete(row)
    return True


def _unfollow_link(session: Session, token: str, signer) -> tuple[Consultation, int]:
    data = signer.unsign(UNFOLLOW_PURPOSE, token, max_age=None)
    return get_consultation(session, int(data.get("c", 0))), int(data.get("u", 0))


def unfollow_target(session: Session, *, token: str, signer) -> Consultation:
    """The consultation an unsubscribe link is for, changing nothing. Raises: TokenInvalid, NotFound."""
    return _unfollow_link(session, token, signer)[0]


def unfollow_by_token(session: Session, *, token: str, signer) -> Consultation:
    """One-click unsubscribe from an e-mailed link (the link works until the person follows again).

    Raises: TokenInvalid, NotFound.
    """
    consultation, user_id = _unfollow_link(session, token, signer)
    assert consultation.id is not None  # a stored row (flushed or loaded)
    unfollow(session, consultation_id=consultation.id, user_id=user_id)
    return consultation


def unfollow_token(signer, consultation_id: int, user_id: int) -> str:
    return signer.sign(UNFOLLOW_PURPOSE, {"c": consultation_id, "u": user_id}, single_use=False)


# ----- moderation decisions -----

def apply_moderation_decision(session: Session, *, kind: str, item_id: int, decision: str,
                              redacted_text: str | None = None, moderator_id: int | None = None,
                              original_text: str | None = None) -> None:
    """Show, hide or redact a comment or response after a moderator's decision (idempotent)."""
    decision = Decision(decision)
    if kind == "comment":
        comment = session.get(Comment, item_id)
        if comment is None or comment.status == CommentStatus.REMOVED:
            return
        comment.moderation_decision = decision.value
        if decision == Decision.APPROVE:
            if original_text is not None and original_text != comment.body:
                # An upheld appeal against a redaction puts the author's words back; the redacted text is kept.
                assert comment.id is not None  # a stored row (flushed or loaded)
                session.add(CommentEdit(comment_id=comment.id, body=comment.body, kind="restore",
                                        edited_by=moderator_id, created_at=utc_now()))
                comment.body = original_text
            set_comment_status(session, comment, CommentStatus.PUBLISHED)
        elif decision == Decision.HIDE:
            set_comment_status(session, comment, CommentStatus.HIDDEN)
        elif decision == Decision.REDACT:
            if redacted_text is not None and redacted_text != comment.body:
                assert comment.id is not None  # a stored row (flushed or loaded)
                session.add(CommentEdit(comment_id=comment.id, body=comment.body, kind="redact",
                                        edited_by=moderator_id, created_at=utc_now()))
                comment.body = redacted_text
            set_comment_status(session, comment, CommentStatus.PUBLISHED)
    elif kind == "response":
        response = session.get(OfficialResponse, item_id)
        if response is None:
            return
        if decision == Decision.HIDE:
            _set_response_hidden(session, response)
        else:
            if decision == Decision.APPROVE and original_text is not None:
                response.text = original_text
            if decision == Decision.REDACT and redacted_text is not None:
                response.text = redacted_text
            _set_response_published(session, response)
