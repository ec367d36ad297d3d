"""Feedback analysis in the background, and the dashboard's write use cases.

Jobs (registered by app.main.build_job_registry):
- `consultations.analysis_scan` every 5 minutes: enqueues an analysis of each visible consultation with at least
  `MIN_NEW_COMMENTS` new comments or `MIN_NEW_VOTES` new votes since its last analysis (or never analysed);
- `consultations.analyse` (payload `{"consultation_id": ...}`): reads the comments and pseudonymous votes in a
  read-only session, computes outside any transaction (scikit-learn can take seconds) and stores the run in a
  short unit of work. Enqueued with a dedupe key per consultation and last run, so double clicks and the
  periodic scan never queue it twice.

- `consultations.answer_theme` (payload: the comment ids and the response): publishes an official's answer to a
  theme of more than `ANSWER_INLINE_LIMIT` comments in one transaction, so a theme of thousands never holds up a
  request.

Use cases (each runs inside the caller's unit of work, like service.py): `request_reanalysis`, `rename_theme`,
`merge_themes`, `split_theme`, `request_theme_answer`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.clock import utc_now
from app.db import read_session
from app.errors import InvalidState, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.jobs import enqueue
from moderation import (
    AnalysisEditError,
    analysis_status,
    compute_analysis,
    merge_themes as _merge,
    needs_reanalysis,
    rename_theme as _rename,
    save_analysis,
    split_theme as _split,
)

from . import dashboard_queries as dq
from . import forms, service
from .models import VISIBLE_STATES, Comment, CommentStatus, Consultation, OfficialResponse

log = logging.getLogger("civic.consultations.analysis")

# Re-analyse automatically once this much has changed since the last run.
MIN_NEW_COMMENTS = 10
MIN_NEW_VOTES = 50
SCAN_EVERY = timedelta(minutes=5)
# Answering a theme costs about 2 ms per thread; beyond this many threads it runs as a job instead of in the request.
ANSWER_INLINE_LIMIT = 250
ANSWER_JOB = "consultations.answer_theme"


# ----- jobs -----

def enqueue_analysis(session: Session, consultation_id: int) -> bool:
    """Queue an analysis of the consultation unless one is already waiting; True if queued now."""
    status = analysis_status(session, dq.SUBJECT, consultation_id)
    return enqueue(session, dq.ANALYSE_JOB, {"consultation_id": consultation_id},
                   dedupe_key=dq.analyse_dedupe_key(consultation_id, status.run_id if status else None),
                   max_attempts=3)


def scan(ctx, payload: dict) -> None:
    """Queue analyses of consultations that changed enough since their last analysis.

    Counting happens in a read-only session, so the write transaction (SQLite's single writer) stays short.
    """
    due = []
    with read_session(ctx.engine) as session:
        ids = list(session.exec(select(col(Consultation.id))
                                .where(col(Consultation.state).in_(list(VISIBLE_STATES)))
                                .order_by(col(Consultation.id))))
        for cid in ids:
            assert cid is not None  # primary keys of stored rows
            n_items, n_votes = dq.current_counts(session, cid)
            if needs_reanalysis(session, subject_kind=dq.SUBJECT, subject_id=cid, n_items=n_items, n_votes=n_votes,
                                min_new_items=MIN_NEW_COMMENTS, min_new_votes=MIN_NEW_VOTES):
                due.append(cid)
    if due:
        with ctx.unit_of_work() as session:
            for cid in due:
                enqueue_analysis(session, cid)


def analyse(ctx, payload: dict) -> None:
    """Analyse one consultation now (idempotent: a re-run stores a fresh run with the same results)."""
    cid = int(payload["consultation_id"])
    with read_session(ctx.engine) as session:
        if session.get(Consultation, cid) is None:
            return
        items, votes = dq.analysis_inputs(session, consultation_id=cid, secret=ctx.settings.secret_key)
    started = utc_now()
    computed = compute_analysis(items, votes, now=started)
    with ctx.unit_of_work() as session:
        save_analysis(session, computed, subject_kind=dq.SUBJECT, subject_id=cid, now=utc_now())
    log.info("Analysed consultation %s: %s comments, %s votes in %.1fs", cid, len(items), len(votes),
             (utc_now() - started).total_seconds())


def register(registry) -> None:
    """Register the analysis jobs and the periodic scan."""
    registry.register(dq.ANALYSE_JOB, analyse)
    registry.register("consultations.analysis_scan", scan, every=SCAN_EVERY)
    registry.register(ANSWER_JOB, answer_theme_job)


# ----- officials' actions -----

def _official(session: Session, official_id: int | None, consultation_id: int):
    """An official who may act on this consultation (the department rule). Raises: NotFound, PermissionDenied."""
    return service.require_manager(session, user_id=official_id, consultation_id=consultation_id)


def _edit_error(exc: AnalysisEditError):
    messages = {
        "no_analysis": NotFound(_("This consultation has not been analysed yet. Press “Re-analyse now” first.")),
        "not_found": dq._theme_not_found(),
        "need_two": ValidationFailed({"themes": _("Choose at least two themes to merge.")}),
        "cannot_split": InvalidState(_("This theme can't be split: its comments are (nearly) all the same. "
                                       "Rename it or merge it instead.")),
        "label": ValidationFailed({"label": _("Enter a name of up to 200 characters.")}),
    }
    return messages.get(exc.code, InvalidState(_("That change could not be made. Reload the page and try again.")))


def request_reanalysis(session: Session, *, consultation_id: int, official_id: int) -> bool:
    """Queue a re-analysis now (not in the request: the worker runs it). True if queued, False if already."""
    _official(session, official_id, consultation_id)
    return enqueue_analysis(session, consultation_id)


def rename_theme(session: Session, *, consultation_id: int, theme_key: int, label: str, official_id: int) -> int:
    _official(session, official_id, consultation_id)
    try:
        return _rename(session, subject_kind=dq.SUBJECT, subject_id=consultation_id, theme_key=theme_key,
                       label=label, actor_id=official_id, now=utc_now())
    except AnalysisEditError as exc:
        raise _edit_error(exc) from None


def merge_themes(session: Session, *, consultation_id: int, theme_keys: list[int], label: str,
                 official_id: int) -> int:
    _official(session, official_id, consultation_id)
    try:
        return _merge(session, subject_kind=dq.SUBJECT, subject_id=consultation_id, theme_keys=theme_keys,
                      label=label, actor_id=official_id, now=utc_now())
    except AnalysisEditError as exc:
        raise _edit_error(exc) from None


def split_theme(session: Session, *, consultation_id: int, theme_key: int, official_id: int) -> list[int]:
    _official(session, official_id, consultation_id)
    try:
        ids = dq.theme_member_ids(session, consultation_id=consultation_id, theme_key=theme_key)
        items = dq.items_for(session, consultation_id=consultation_id, ids=ids)
        return _split(session, subject_kind=dq.SUBJECT, subject_id=consultation_id, theme_key=theme_key,
                      items=items, actor_id=official_id, now=utc_now())
    except AnalysisEditError as exc:
        raise _edit_error(exc) from None


def request_theme_answer(session: Session, *, consultation_id: int, theme_key: int, official_id: int,
                         data: forms.ResponseData) -> tuple[int, bool]:
    """Publish one official response into the thread of each published comment of a theme (through
    service.publish_response, so each is screened and e-mailed like any response), all in one transaction:
    this one when the theme is small, else `answer_theme_job`'s, so the request stays short.

    Comments that already carry this exact response are skipped, so resubmitting does not duplicate it; the
    job answers the comments the official saw, and its dedupe key makes a double submission queue it once.
    Returns (number of threads answered or to be answered, queued).
    Raises: ValidationFailed, NotFound, PermissionDenied, InvalidState.
    """
    targets = _theme_targets(session, consultation_id=consultation_id, theme_key=theme_key,
                             official_id=official_id, data=data)
    if len(targets) <= ANSWER_INLINE_LIMIT:
        return _publish(session, consultation_id, official_id, data, targets), False
    payload = {"consultation_id": consultation_id, "official_id": official_id, "comment_ids": targets,
               "decision": data.decision, "text": data.text, "commitment": data.commitment,
               "follow_up_on": data.follow_up_on.isoformat() if data.follow_up_on else None}
    digest = hashlib.sha256(json.dumps([payload[k] for k in ("decision", "text", "commitment", "follow_up_on")])
                            .encode()).hexdigest()[:24]
    enqueue(session, ANSWER_JOB, payload, dedupe_key=f"{ANSWER_JOB}:{consultation_id}:{theme_key}:{digest}",
            max_attempts=3)
    return len(targets), True


def answer_theme_job(ctx, payload: dict) -> None:
    """Publish a queued theme answer in one transaction (roles and comment states are checked again)."""
    follow_up = payload.get("follow_up_on")
    data = forms.ResponseData(payload["decision"], payload["text"], payload.get("commitment") or "",
                              date.fromisoformat(follow_up) if follow_up else None)
    with ctx.unit_of_work() as session:
        _official(session, payload["official_id"], payload["consultation_id"])
        targets = _unanswered(session, payload["consultation_id"], payload["comment_ids"], data)
        count = _publish(session, payload["consultation_id"], payload["official_id"], data, targets) if targets else 0
    log.info("theme answer published in %d comment threads of consultation %s", count, payload["consultation_id"])


def _theme_targets(session: Session, *, consultation_id: int, theme_key: int, official_id: int,
                   data: forms.ResponseData) -> list[int]:
    _official(session, official_id, consultation_id)
    errors = forms.check_response(data)
    if errors:
        raise ValidationFailed(errors)
    ids = dq.theme_member_ids(session, consultation_id=consultation_id, theme_key=theme_key)
    targets = _unanswered(session, consultation_id, ids, data)
    if not targets:
        raise InvalidState(_("Every published comment of this theme already has this response."))
    return targets


def _unanswered(session: Session, consultation_id: int, ids: list[int], data: forms.ResponseData) -> list[int]:
    """Published comments among `ids` that do not carry this response yet, in id order."""
    targets: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        published = list(session.exec(select(Comment.id).where(
            Comment.consultation_id == consultation_id, col(Comment.id).in_(chunk),
            Comment.status == CommentStatus.PUBLISHED)))
        done = set(session.exec(select(OfficialResponse.comment_id).where(
            OfficialResponse.consultation_id == consultation_id, col(OfficialResponse.comment_id).in_(chunk),
            OfficialResponse.text == data.text, OfficialResponse.decision == data.decision)))
        targets.extend(t for t in published if t is not None and t not in done)  # ids: never None
    return sorted(targets)


def _publish(session: Session, consultation_id: int, official_id: int, data: forms.ResponseData,
             targets: list[int]) -> int:
    for position, comment_id in enumerate(targets):
        service.publish_response(session, consultation_id=consultation_id, official_id=official_id, data=data,
                                 comment_id=comment_id, notify_followers=position == 0)
    return len(targets)
