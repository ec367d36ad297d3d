"""Moderation use cases: screening, reports, claims, decisions (single and grouped) and appeals.

Every function takes the unit of work's session, never commits (may flush) and raises `app.errors` types.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select, col

from app import logs
from app.auth import require_user_role
from app.clock import as_utc as _aware
from app.clock import utc_now
from app.context import unit_context
from app.db import insert_ignore
from app.errors import InvalidState, NotFound, PermissionDenied, TokenInvalid, ValidationFailed
from app.events import publish
from app.i18n import gettext as _
from app.mail import queue_email
from app.models import Role, User
from moderation import policy
from moderation.classifier import NullClassifier
from moderation.contract import (
    ContentRef,
    Decision,
    ModerationDecided,
    ModerationSettings,
    ReportOutcome,
    Route,
    Screening,
)
from moderation.models import (
    CaseReason,
    CaseState,
    ItemStatus,
    ModerationAppeal,
    ModerationCase,
    ModerationDecision,
    ModerationItem,
    ModerationReport,
)

log = logging.getLogger("civic.moderation")

APPEAL_PURPOSE = "moderation.appeal"
MAX_TEXT = 100_000          # longest snapshot stored (enormous posts are cut for storage, scored in full)
MAX_SCORE_TEXT = 50_000     # longest text handed to the model
REDACTION_MARK = "[...]"


# ----- helpers -----

def settings_of(session: Session) -> ModerationSettings:
    """The app's moderation settings (from the unit of work's context; raises MissingUnitContext without one)."""
    return unit_context(session).settings("moderation")


def _classifier(session: Session):
    clf = unit_context(session).classifier
    get = getattr(clf, "get", None)
    return get() if callable(get) else clf  # a ClassifierHolder: pin one version for this screening


def _clean_text(value) -> str:
    """Text as stored: str, without NUL bytes (PostgreSQL refuses them), at most MAX_TEXT characters."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text.replace("\x00", "\ufffd")[:MAX_TEXT]


def _item_for(session: Session, kind: str, item_id: int) -> ModerationItem | None:
    return session.exec(select(ModerationItem).where(col(ModerationItem.kind) == kind,
                                                     col(ModerationItem.item_id) == item_id)).first()


def _open_case_of(session: Session, item_pk: int) -> ModerationCase | None:
    return session.exec(select(ModerationCase).where(col(ModerationCase.item_pk) == item_pk,
                                                     col(ModerationCase.state) == CaseState.OPEN)
                        .order_by(col(ModerationCase.id))).first()


def _ensure_open_case(session: Session, item: ModerationItem, reason: str, now: datetime) -> ModerationCase:
    assert item.id is not None  # a stored row (flushed or loaded)
    case = _open_case_of(session, item.id)
    if case is not None:
        return case
    case = ModerationCase(item_pk=item.id, reason=reason, state=CaseState.OPEN, opened_at=now)
    try:
        with session.begin_nested():  # a concurrent report may open the case first (unique partial index)
            session.add(case)
    except IntegrityError:
        existing = _open_case_of(session, item.id)
        if existing is None:
            raise
        return existing
    return case


def _score_safely(classifier, text: str):
    """Score without ever failing the caller's transaction; falls back to 'no score' with a logged reason."""
    try:
        return classifier.score(text[:MAX_SCORE_TEXT]), ""
    except Exception as exc:  # noqa: BLE001 - a broken model must not stop residents posting
        log.exception("abuse scoring failed; routing the item to moderators")
        return NullClassifier().score(text[:2000]), f"scoring failed: {type(exc).__name__}"


# ----- screening -----

def screen(session: Session, ref: ContentRef, *, now: datetime | None = None) -> Screening:
    """Score, route and store an item (re-screening an edited item updates its snapshot and score)."""
    now = now or utc_now()
    cfg = settings_of(session)
    text = _clean_text(ref.text)
    classifier = _classifier(session)
    result, failure = _score_safely(classifier, text)
    probability = result.probability
    available = bool(getattr(classifier, "available", False)) and not failure
    points = policy.model_operating_points(cfg, classifier) if available else None
    thresholds = policy.effective_thresholds(cfg, points, result.language)
    no_model_reason = failure or ("" if available else str(getattr(classifier, "reason", "")))
    explanation = _explanation_items(result.explanation)
    category = getattr(result, "category", "") or ""
    matched = ", ".join(f'"{t}"' for t, _w, c in explanation if c == category)[:120] if category else ""
    choice = policy.route_for(probability, thresholds, strict=ref.strict, no_model_route=cfg.no_model_route,
                              no_model_reason=no_model_reason, category=category,
                              held_categories=tuple(cfg.held_categories), matched=matched)

    item = _item_for(session, ref.kind, ref.item_id)
    if item is None:
        item = ModerationItem(kind=ref.kind[:30], item_id=ref.item_id, text=text, screened_at=now, updated_at=now)
    item.text = text
    item.author_id = ref.author_id
    item.context_id = ref.context_id
    item.context_title = (ref.context_title or "")[:300]
    item.url = (ref.url or "")[:500]
    item.reach = max(0, int(ref.reach or 0))
    item.strict = bool(ref.strict)
    item.language = result.language or "other"
    item.score = probability
    item.model_version = result.model_version or "none"
    item.explanation = json.dumps(explanation, ensure_ascii=False)
    item.category = category[:20]
    item.route = choice.route.value
    item.route_reason = choice.detail
    item.model_flagged = None if probability is None else probability >= thresholds.review
    item.status = ItemStatus.HELD if choice.route == Route.HOLD else ItemStatus.PUBLISHED
    item.redacted_text = None
    item.screened_at = now
    item.updated_at = now
    session.add(item)
    session.flush()
    if choice.route in (Route.REVIEW, Route.HOLD):
        _ensure_open_case(session, item, choice.reason or CaseReason.MODEL, now)
    return _screening_of(item)


def _explanation_items(raw) -> tuple[tuple[str, float, str], ...]:
    """(term, weight, category) triples; rows stored before categories existed hold (term, weight) pairs."""
    out = []
    for entry in raw or ():
        try:
            term, weight = entry[0], entry[1]
            category = entry[2] if len(entry) > 2 else ""
            out.append((str(term), float(weight), str(category or "")))
        except (TypeError, ValueError, IndexError):
            continue
    return tuple(out)


def _screening_of(item: ModerationItem) -> Screening:
    try:
        explanation = _explanation_items(json.loads(item.explanation or "[]"))
    except (ValueError, TypeError):
        explanation = ()
    return Screening(route=Route(item.route), score=item.score, model_version=item.model_version,
                     explanation=explanation, language=item.language, reason=item.route_reason,
                     category=getattr(item, "category", "") or "")


def stored_screening(session: Session, kind: str, item_id: int) -> Screening | None:
    item = _item_for(session, kind, item_id)
    return _screening_of(item) if item is not None else None


# ----- reports -----

def report(session: Session, ref: ContentRef, *, reporter_id: int, reason: str,
           now: datetime | None = None) -> ReportOutcome:
    """Record one report per resident per item, queue the item, and say whether the owner should hide it."""
    now = now or utc_now()
    cfg = settings_of(session)
    item = _item_for(session, ref.kind, ref.item_id)
    if item is None:  # never screened (e.g. posted before moderation was installed): snapshot it now
        item = ModerationItem(kind=ref.kind[:30], item_id=ref.item_id, text=_clean_text(ref.text),
                              author_id=ref.author_id, context_id=ref.context_id,
                              context_title=(ref.context_title or "")[:300], url=(ref.url or "")[:500],
                              reach=max(0, int(ref.reach or 0)), strict=bool(ref.strict), route=Route.PUBLISH.value,
                              route_reason="not screened", screened_at=now, updated_at=now)
        session.add(item)
        session.flush()
    elif ref.reach:
        item.reach = max(item.reach, int(ref.reach))
    code = reason if reason in policy.REASONS_BY_CODE else "other"
    insert_ignore(session, ModerationReport.__table__,  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                  {"item_pk": item.id, "reporter_id": reporter_id, "reason": code, "created_at": now},
                  ["item_pk", "reporter_id"])
    count = session.exec(select(func.count()).select_from(ModerationReport)
                         .where(col(ModerationReport.item_pk) == item.id)).one()
    item.report_count = int(count)
    hide = item.report_count >= cfg.report_threshold and item.status not in (ItemStatus.APPROVED,)
    if hide and item.status == ItemStatus.PUBLISHED:
        item.status = ItemStatus.HELD
    item.updated_at = now
    session.add(item)
    if item.status != ItemStatus.HIDDEN:  # a hidden item is out of view already; the report is still recorded
        _ensure_open_case(session, item, CaseReason.REPORT, now)
    session.flush()
    return ReportOutcome(report_count=item.report_count, hide=hide)


# ----- claims -----

def _moderator(session: Session, user_id: int) -> User:
    return require_user_role(session, user_id, Role.MODERATOR)


def _get_case(session: Session, case_id: int) -> ModerationCase:
    case = session.get(ModerationCase, case_id)
    if case is None:
        raise NotFound(_("That queue item does not exist. Go back to the queue."))
    return case


def _check_not_excluded(case: ModerationCase, moderator_id: int) -> None:
    if case.excluded_moderator_id is not None and case.excluded_moderator_id == moderator_id:
        raise PermissionDenied(_("You made the decision that is being appealed. Another moderator must decide this appeal."))


def claim_case(session: Session, *, case_id: int, moderator_id: int, now: datetime | None = None) -> ModerationCase:
    """Take a case for `claim_minutes`; fails when another moderator's claim is still running.

    Raises:
        InvalidState: the case is decided or claimed by someone else.
        PermissionDenied: not a moderator, or the appealed decision was yours.
    """
    now = now or utc_now()
    _moderator(session, moderator_id)
    case = _get_case(session, case_id)
    _check_not_excluded(case, moderator_id)
    until = now + timedelta(minutes=max(1, settings_of(session).claim_minutes))
    result = session.execute(
        update(ModerationCase)
        .where(col(ModerationCase.id) == case_id, col(ModerationCase.state) == CaseState.OPEN,
               or_(col(ModerationCase.claimed_by).is_(None), col(ModerationCase.claimed_by) == moderator_id,
                   col(ModerationCase.claimed_until) < now))
        .values(claimed_by=moderator_id, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result
        _raise_unavailable(session, case, now)
    return case


def release_case(session: Session, *, case_id: int, moderator_id: int) -> None:
    """Give up your claim so another moderator can take the case."""
    _moderator(session, moderator_id)
    session.execute(update(ModerationCase)
                    .where(col(ModerationCase.id) == case_id, col(ModerationCase.claimed_by) == moderator_id)
                    .values(claimed_by=None, claimed_until=None)
                    .execution_options(synchronize_session=False))


def _raise_unavailable(session: Session, case: ModerationCase, now: datetime):
    if case.state != CaseState.OPEN:
        raise InvalidState(_("This item has already been decided. Go back to the queue for the next one."))
    holder = session.get(User, case.claimed_by) if case.claimed_by else None
    name = (holder.name or _("another moderator")) if holder else _("another moderator")
    raise InvalidState(_("%(name)s is working on this item. Pick another one from the queue.", name=name))


# ----- decisions -----

@dataclass(frozen=True)
class DecisionInput:
    decision: Decision
    reason_code: str
    passages: tuple[str, ...] = ()
    block_days: int = 0
    note: str = ""


class DecidedOnItsOwnPage(InvalidState):
    """The item is decided in its owning domain's workflow, not from the queue: a petition is approved (with the
    department that will respond) or rejected (with a petition reason) on its moderation page (the case page links
    it from the item's url)."""


def _check_decidable_here(item: ModerationItem) -> None:
    """Petitions have one approval rule, petitions' own (approve_petition / reject_petition): a queue decision would
    close the case and leave the petition pending, out of the queue and stuck. Refuse it and point to that page."""
    if item.kind == "petition":
        raise DecidedOnItsOwnPage(_("Nothing was changed. Petitions are approved or rejected on their own moderation "
                                    "page, where you choose the department that responds or a petition reason."))


@dataclass(frozen=True)
class DecisionResult:
    decision_ids: tuple[int, ...]
    decided: int


def redact(text: str, passages: Sequence[str]) -> str:
    """Replace every occurrence of each passage with "[...]" (longest first, so nested passages work)."""
    out = text
    for passage in sorted({p for p in passages if p}, key=len, reverse=True):
        out = out.replace(passage, REDACTION_MARK)
    return out


def _validate(data: DecisionInput, cfg: ModerationSettings) -> None:
    errors = {}
    if data.decision != Decision.APPROVE and data.reason_code not in policy.REASONS_BY_CODE:
        errors["reason"] = _("Choose the rule the text breaks.")
    if data.decision == Decision.REDACT and not data.passages:
        errors["passages"] = _("Paste at least one passage to replace with [...], one per line.")
    if data.block_days < 0 or data.block_days > cfg.max_block_days:
        errors["block_days"] = _("Enter a number of days from 0 to %(max)s.", max=cfg.max_block_days)
    if data.block_days and data.decision == Decision.APPROVE:
        errors["block_days"] = _("Only block an author when you hide or redact their text.")
    if errors:
        raise ValidationFailed(errors)


def _take_for_decision(session: Session, case: ModerationCase, moderator_id: int, now: datetime) -> None:
    """Mark the case decided in one conditional UPDATE, so two moderators can never both decide it."""
    result = session.execute(
        update(ModerationCase)
        .where(col(ModerationCase.id) == case.id, col(ModerationCase.state) == CaseState.OPEN,
               or_(col(ModerationCase.claimed_by).is_(None), col(ModerationCase.claimed_by) == moderator_id,
                   col(ModerationCase.claimed_until) < now))
        .values(state=CaseState.DECIDED, decided_by=moderator_id, decided_at=now, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result
        session.refresh(case)
        _raise_unavailable(session, case, now)
    session.refresh(case)


def _apply(session: Session, case: ModerationCase, moderator: User, data: DecisionInput, now: datetime,
           cfg: ModerationSettings, *, every_passage: bool = True) -> ModerationDecision:
    item = session.get(ModerationItem, case.item_pk)
    assert item is not None  # case.item_pk is a foreign key to the item
    assert item.id is not None and case.id is not None and moderator.id is not None  # stored rows
    _check_decidable_here(item)
    _check_not_excluded(case, moderator.id)
    redacted = None
    previously_redacted = item.status == ItemStatus.REDACTED
    if data.decision == Decision.REDACT:
        missing = [p for p in data.passages if p not in item.text]
        if len(missing) == len(data.passages):
            raise ValidationFailed({"passages": _("None of these passages appear in the text. Copy them exactly from the text shown.")})
        if missing and every_passage:
            raise ValidationFailed({"passages": _("This passage does not appear in the text: “%(passage)s”. Copy it exactly from the text shown.",
                                                  passage=missing[0][:200])})
        redacted = redact(item.text, data.passages)
    _take_for_decision(session, case, moderator.id, now)
    reason_code = policy.APPROVED_CODE if data.decision == Decision.APPROVE else data.reason_code
    blocked_until = None
    author = session.get(User, item.author_id) if item.author_id else None
    if data.block_days and author is not None and data.decision != Decision.APPROVE:
        blocked_until = now + timedelta(days=data.block_days)
        current = _aware(author.blocked_until)
        if current is None or current < blocked_until:
            author.blocked_until = blocked_until
        author.blocked_reason = reason_code[:200]
        session.add(author)
    item.status = {Decision.APPROVE: ItemStatus.APPROVED, Decision.HIDE: ItemStatus.HIDDEN,
                   Decision.REDACT: ItemStatus.REDACTED}[data.decision]
    item.redacted_text = redacted
    item.updated_at = now
    session.add(item)
    record = ModerationDecision(
        case_id=case.id, item_pk=item.id, kind=item.kind, moderator_id=moderator.id, decision=data.decision.value,
        reason_code=reason_code, note=(data.note or "")[:4000], original_text=item.text, redacted_text=redacted,
        block_days=data.block_days if blocked_until else 0, blocked_until=blocked_until,
        is_appeal=case.appeal_id is not None, label=policy.label_for(data.decision.value), language=item.language,
        score=item.score, model_version=item.model_version, model_flagged=item.model_flagged, decided_at=now,
        request_id=logs.current(),
    )
    session.add(record)
    session.flush()
    appeal = session.get(ModerationAppeal, case.appeal_id) if case.appeal_id else None
    if appeal is not None:
        appeal.outcome = "overturned" if data.decision == Decision.APPROVE else "upheld"
        appeal.decided_at = now
        session.add(appeal)
    publish(session, ModerationDecided(
        kind=item.kind, item_id=item.item_id, decision=data.decision, reason_code=reason_code,
        redacted_text=redacted, author_id=item.author_id,
        extra={"case_id": case.id, "decision_id": record.id, "appeal": appeal is not None, "moderator_id": moderator.id,
               "blocked_until": blocked_until.isoformat() if blocked_until else None,
               # Restoring a redacted item (e.g. an appeal upheld for the author): the original text to show again.
               "original_text": item.text if previously_redacted and data.decision != Decision.REDACT else None},
    ))
    if author is not None:
        _notify_author(session, author, item, record, appeal, cfg)
    return record


def _notify_author(session: Session, author: User, item: ModerationItem, record: ModerationDecision,
                   appeal: ModerationAppeal | None, cfg: ModerationSettings) -> None:
    reason = policy.REASONS_BY_CODE.get(record.reason_code)
    context = {
        "name": author.name, "kind": record.kind, "kind_label": policy.KIND_LABELS.get(record.kind, record.kind),
        "decision": record.decision, "reason_title": reason.title if reason else "",
        "reason_description": reason.description if reason else "", "excerpt": item.text[:500],
        "redacted_text": record.redacted_text, "blocked_until": record.blocked_until, "item_url": item.url,
        "context_title": item.context_title,
    }
    if appeal is not None:
        context["outcome"] = appeal.outcome
        queue_email(session, to=author.email_display, template="moderation/appeal_outcome", context=context,
                    locale=author.locale)
        return
    if record.decision == Decision.APPROVE:
        return  # nothing to tell: the text stays or becomes visible
    context["token"] = unit_context(session).signer.sign(APPEAL_PURPOSE, {"d": record.id})
    context["appeal_days"] = cfg.appeal_days
    queue_email(session, to=author.email_display, template="moderation/decision", context=context,
                locale=author.locale)


def decide_case(session: Session, *, case_id: int, moderator_id: int, data: DecisionInput,
                now: datetime | None = None) -> DecisionResult:
    """Decide one case in one transaction: record, update the item, tell the owner (event) and the author (e-mail).

    Raises:
        ValidationFailed: missing reason, passages or a bad block period.
        InvalidState: already decided, or claimed by another moderator.
        DecidedOnItsOwnPage: a petition (an InvalidState): decided on its own moderation page, nothing changes.
        PermissionDenied: not a moderator, or deciding an appeal against your own decision.
    """
    now = now or utc_now()
    cfg = settings_of(session)
    moderator = _moderator(session, moderator_id)
    _validate(data, cfg)
    case = _get_case(session, case_id)
    record = _apply(session, case, moderator, data, now, cfg)
    assert record.id is not None  # _apply flushes the decision
    return DecisionResult(decision_ids=(record.id,), decided=1)


def decide_group(session: Session, *, case_ids: Sequence[int], moderator_id: int, data: DecisionInput,
                 now: datetime | None = None) -> DecisionResult:
    """Decide several near-duplicate cases at once with the same decision (all or nothing).

    For a redaction each passage is replaced wherever it occurs; every item must contain at least one.

    Raises:
        ValidationFailed: no items chosen, or the decision input is invalid.
        InvalidState: one of the items is decided already, claimed by someone else or a petition (decided on its own
            page); nothing is decided.
    """
    now = now or utc_now()
    cfg = settings_of(session)
    moderator = _moderator(session, moderator_id)
    ids = sorted({int(i) for i in case_ids})
    if not ids:
        raise ValidationFailed({"case_ids": _("Tick at least one item to decide.")})
    _validate(data, cfg)
    decision_ids: list[int] = []
    for cid in ids:
        case = _get_case(session, cid)
        if case.appeal_id is not None:
            raise InvalidState(_("Appeals are decided one at a time. Open the appeal from the queue."))
        record = _apply(session, case, moderator, data, now, cfg, every_passage=False)
        assert record.id is not None  # _apply flushes the decision
        decision_ids.append(record.id)
    return DecisionResult(decision_ids=tuple(decision_ids), decided=len(decision_ids))


# ----- appeals -----

@dataclass(frozen=True)
class AppealInfo:
    decision_id: int
    kind: str
    decision: str
    reason_code: str
    decided_at: datetime
    already_appealed: bool


def appeal_info(session: Session, *, token: str, signer, max_days: int) -> AppealInfo:
    """Check an appeal link without using it up (the GET page)."""
    data = signer.unsign(APPEAL_PURPOSE, token, max_age=max_days * 86400)
    record = session.get(ModerationDecision, int(data.get("d", 0) or 0))
    if record is None:
        raise TokenInvalid(_("This appeal link is not valid. Reply to the e-mail if you need help."))
    assert record.id is not None  # a stored row (loaded)
    appealed = session.exec(select(col(ModerationAppeal.id)).where(col(ModerationAppeal.decision_id) == record.id)).first()
    return AppealInfo(record.id, record.kind, record.decision, record.reason_code, record.decided_at, appealed is not None)


def submit_appeal(session: Session, *, token: str, statement: str, signer, now: datetime | None = None) -> ModerationAppeal:
    """Use the single-use appeal link: record the appeal and open a case that a different moderator must decide.

    Raises:
        ValidationFailed: the statement is missing or too long.
        TokenInvalid: the link is bad, expired or already used (an appeal can be made once).
    """
    now = now or utc_now()
    cfg = settings_of(session)
    statement = (statement or "").strip()
    if not statement:
        raise ValidationFailed({"statement": _("Say why you think the decision was wrong.")})
    if len(statement) > 4000:
        raise ValidationFailed({"statement": _("Use 4,000 characters or fewer.")})
    data = signer.consume(session, APPEAL_PURPOSE, token, max_age=cfg.appeal_days * 86400)
    record = session.get(ModerationDecision, int(data.get("d", 0) or 0))
    if record is None or record.is_appeal:
        raise TokenInvalid(_("This appeal link is not valid. Reply to the e-mail if you need help."))
    item = session.get(ModerationItem, record.item_pk)
    assert item is not None and item.id is not None  # record.item_pk is a foreign key to the item
    inserted = insert_ignore(session, ModerationAppeal.__table__,  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                             {"decision_id": record.id, "item_pk": item.id, "author_id": item.author_id,
                              "statement": statement, "created_at": now, "outcome": ""}, ["decision_id"])
    if not inserted:
        raise TokenInvalid(_("This decision has already been appealed. You will get an e-mail with the outcome."))
    appeal = session.exec(select(ModerationAppeal).where(col(ModerationAppeal.decision_id) == record.id)).one()
    # Close any other open case on the item: the appeal case supersedes it.
    session.execute(update(ModerationCase)
                    .where(and_(col(ModerationCase.item_pk) == item.id, col(ModerationCase.state) == CaseState.OPEN))
                    .values(state=CaseState.DECIDED, decided_at=now)
                    .execution_options(synchronize_session=False))
    case = ModerationCase(item_pk=item.id, reason=CaseReason.APPEAL, state=CaseState.OPEN, opened_at=now,
                          appeal_id=appeal.id, excluded_moderator_id=record.moderator_id)
    session.add(case)
    session.flush()
    return appeal
