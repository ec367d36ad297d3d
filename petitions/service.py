"""Petition use cases: one function per use case; never commits (may flush); raises app.errors types.

The hot path (`sign_petition`) is one INSERT into `signature` plus one INSERT into the mail outbox. Counts are
never incremented in place: `settle_counts` recounts confirmed signatures of recently changed petitions in
batches, so no request ever waits on a hot petition row.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, cast, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.auth import require_user_role
from app.clock import as_utc as _aware
from app.clock import utc_now
from app.context import unit_context
from app.db import HotStatement
from app.emails import canonical_email
from app.errors import InvalidState, NotFound, PermissionDenied, TokenInvalid, ValidationFailed, N_
from app.i18n import gettext as _
from app.jobs import enqueue
from app.mail import add_to_outbox, queue_email
from app.models import Department, Role
from moderation import ContentRef, close_content_cases, screen_content

from . import paper, reasons
from .lookup import get_petition, rate
from .config import PetitionSettings
from .forms import PetitionInput, ResponseInput, DebateInput, SignatureInput
from .models import (
    MODERATABLE, PUBLISHED, SIGNABLE, SPONSORABLE, AreaCount, CountSnapshot, Debate, Mailing, Petition,
    PetitionState, RejectionReason, Response, SettleMark, Signature, SignatureState,
)

log = logging.getLogger(__name__)

SIGNATURE_PURPOSE = "petitions.signature"
WITHDRAW_PURPOSE = "petitions.withdraw"
STOP_UPDATES_PURPOSE = "petitions.stop_updates"
SPONSOR_PURPOSE = "petitions.sponsor"
SETTLE_OVERLAP = timedelta(seconds=60)

DEFAULT_REASONS = reasons.DEFAULT_REASONS  # the built-in rejection reasons (data: admins may edit them)


# ----- helpers -----

def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def ensure_reasons(session: Session) -> None:
    """Create the default rejection reasons once (they are data: admins may edit them afterwards)."""
    if session.execute(select(func.count()).select_from(RejectionReason)).scalar_one():
        return
    for position, (code, title, description, hides) in enumerate(DEFAULT_REASONS):
        session.execute(_insert(session)(RejectionReason.__table__).values(  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
            code=code, title=title, description=description, hides_petition=hides, position=position,
        ).on_conflict_do_nothing(index_elements=["code"]))


def _signature_tokens(signer, signature_id: int) -> dict:
    token = signer.sign(SIGNATURE_PURPOSE, {"sid": signature_id})
    withdraw_token = signer.sign(WITHDRAW_PURPOSE, {"sid": signature_id}, single_use=False)
    return {"token": token, "withdraw_token": withdraw_token}


def signature_links(renderer, signer, *, petition_id: int, email: str) -> dict[str, str]:
    """The confirm and withdraw links of a signature's e-mail, made before the write transaction.

    Their tokens name the signature by (petition, canonical e-mail), which is unique, so they need no row id:
    the route signs them (HMAC work) in its own thread, and the one writer thread only puts them in the mail.
    """
    payload = {"p": petition_id, "e": canonical_email(email)}
    return {
        "confirm_url": renderer.absolute_url("petitions:confirm", {"token": signer.sign(SIGNATURE_PURPOSE, payload)}),
        "withdraw_url": renderer.absolute_url(
            "petitions:withdraw", {"token": signer.sign(WITHDRAW_PURPOSE, payload, single_use=False)}),
    }


def sponsor_token(signer, petition_id: int) -> str:
    return signer.sign(SPONSOR_PURPOSE, {"pid": petition_id}, single_use=False)


# ----- starting and signing -----

# Built once: the hot path only binds parameters to already-compiled statements.
_PETITION_FOR_SIGNING = select(col(Petition.state), col(Petition.closes_at), col(Petition.action)).where(col(Petition.id) == bindparam("pid"))
# Petitions' rows as read in this transaction, kept in `session.info` (which lives exactly as long as the unit of
# work's session): scratch state of one transaction, not a dependency, so it does not belong in the app's
# UnitContext. A state change in the same transaction drops it (`_petition_state_changed`).
_SIGNING_STATE = "petitions_signing_state"
_EXISTING_SIGNATURE = HotStatement(select(col(Signature.id), col(Signature.state), col(Signature.confirmations_sent), col(Signature.locale)).where(
    col(Signature.petition_id) == bindparam("pid"), col(Signature.canonical_email) == bindparam("canonical")))
_REACTIVATE_SIGNATURE = HotStatement(update(Signature).where(col(Signature.id) == bindparam("sid")).values(
    state=SignatureState.PENDING.value, withdrawn_at=None, confirmations_sent=1, name=bindparam("name"),
    area=bindparam("area"), notify=bindparam("notify"), updated_at=bindparam("now")))
_COUNT_RESENT = HotStatement(update(Signature).where(col(Signature.id) == bindparam("sid")).values(
    confirmations_sent=col(Signature.confirmations_sent) + 1, updated_at=bindparam("now")))


_SIGN_COLUMNS = ("petition_id", "name", "email", "canonical_email", "area", "notify", "ip_address", "locale", "state",
                 "is_creator", "is_sponsor", "confirmations_sent", "created_at", "updated_at")


def _sign_insert(dialect) -> HotStatement:
    """INSERT ... ON CONFLICT (petition_id, canonical_email) DO NOTHING RETURNING id, in `dialect`'s spelling."""
    table = Signature.__table__  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
    return HotStatement(dialect.insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in _SIGN_COLUMNS})
                        .on_conflict_do_nothing(index_elements=["petition_id", "canonical_email"])
                        .returning(table.c.id))


_SIGN_INSERT = {"postgresql": _sign_insert(postgresql), "sqlite": _sign_insert(sqlite)}

@dataclass(frozen=True)
class SignResult:
    """`created`: new signature, e-mail sent; `resent`: pending signature, e-mail sent again;
    `resend_limit`: pending, no more e-mails; `already_signed`: confirmed before."""

    status: str
    petition_id: int
    signature_id: int | None = None
    action: str = ""  # the petition's title, for the answer page


def start_petition(session: Session, *, data: PetitionInput, settings: PetitionSettings, signer, locale: str,
                   client_ip: str | None, allowlisted: bool, now: datetime | None = None) -> Petition:
    """Record a new petition and its creator's signature, and e-mail the creator a confirmation link.

    Raises:
        RateLimited: too many petitions started from this network.
    """
    now = now or utc_now()
    if client_ip and not allowlisted:
        message = N_("Too many petitions were started from your network. Wait a few minutes and try again; your text is kept below.")
        rate(session, f"petitions:start:burst:{client_ip}", settings.start_rate_burst, message)
        rate(session, f"petitions:start:sustained:{client_ip}", settings.start_rate_sustained, message)
    petition = Petition(action=data.action, background=data.background, details=data.details,
                        creator_name=data.signer.name, creator_email=data.signer.email, creator_locale=locale,
                        state=PetitionState.UNCONFIRMED, created_at=now, updated_at=now)
    session.add(petition)
    session.flush()
    assert petition.id is not None  # a stored row (flushed or loaded)
    signature = Signature(petition_id=petition.id, name=data.signer.name, email=data.signer.email,
                          canonical_email=canonical_email(data.signer.email), area=data.signer.area,
                          notify=data.signer.notify, ip_address=(client_ip or "")[:64], locale=locale,
                          is_creator=True, created_at=now, updated_at=now)
    session.add(signature)
    session.flush()
    assert signature.id is not None  # a stored row (flushed or loaded)
    queue_email(session, to=data.signer.email, template="petitions/confirm_petition", locale=locale,
                context={"petition": petition, **_signature_tokens(signer, signature.id)})
    return petition


def _queue_confirmation(session: Session, *, to: str, petition_id: int, action: str, links: dict[str, str],
                        locale: str, sponsor: bool) -> None:
    """The confirmation e-mail of a signature. Rendered from a skeleton per petition and language with the links
    put in (`Renderer.render_email_personal`): this runs in the writer thread, the one serial step of signing."""
    template = "petitions/confirm_sponsor" if sponsor else "petitions/confirm_signature"
    # No names in e-mails: a name is whatever the signer typed, and the mail goes to an address anyone can type.
    subject, body = unit_context(session).renderer.render_email_personal(
        template, {"petition_id": petition_id, "action": action}, links, locale)
    add_to_outbox(session, to=to, subject=subject, body=body, template=template)


def _petition_for_signing(session: Session, petition_id: int):
    """(state, closes_at, action), read once per transaction: a group commit signs hundreds at a time."""
    known = session.info.setdefault(_SIGNING_STATE, {})
    if petition_id not in known:
        known[petition_id] = session.execute(_PETITION_FOR_SIGNING, {"pid": petition_id}).first()
    return known[petition_id]


def _petition_state_changed(session: Session) -> None:
    session.info.pop(_SIGNING_STATE, None)


def sign_petition(session: Session, *, petition_id: int, data: SignatureInput, settings: PetitionSettings,
                  links: dict[str, str], locale: str, client_ip: str | None, allowlisted: bool, sponsor: bool = False,
                  now: datetime | None = None) -> SignResult:
    """Add a pending signature and e-mail its confirmation `links` (`signature_links`): one INSERT into
    `signature` and one into the outbox.

    A repeated e-mail address (in any spelling its provider treats as the same) never adds a row: the
    confirmation is sent again, at most `max_confirmation_emails` times in all.

    Raises:
        NotFound: no such petition.
        InvalidState: the petition is not open for signatures (or supporters, when `sponsor`).
        RateLimited: too many signatures from this network for this petition.
    Each is raised before anything is written but the rate-limit counters (a refused attempt still counts),
    so the group commit runs this without a savepoint.
    """
    now = now or utc_now()
    row = _petition_for_signing(session, petition_id)
    if row is None:
        raise NotFound(_("We couldn't find that petition. It may have been removed; search the list of petitions."))
    state, closes_at, action = row
    if sponsor:
        if state not in SPONSORABLE:
            raise InvalidState(_("This petition isn't collecting supporters any more. You can sign it once it is published."))
    elif state not in SIGNABLE or (closes_at is not None and _aware(closes_at) <= now):
        raise InvalidState(_("This petition is closed, so it can't be signed any more. Look for an open petition about the same subject."))
    if client_ip and not allowlisted:
        message = N_("Too many signatures came from your network for this petition. Wait a few minutes and try again; what you entered is kept.")
        rate(session, f"petitions:sign:burst:{petition_id}:{client_ip}", settings.sign_rate_burst, message)
        rate(session, f"petitions:sign:sustained:{petition_id}:{client_ip}", settings.sign_rate_sustained, message)
    canonical = canonical_email(data.email)
    inserted = _SIGN_INSERT[session.get_bind().dialect.name](session, dict(
        petition_id=petition_id, name=data.name, email=data.email, canonical_email=canonical, area=data.area,
        notify=data.notify, ip_address=(client_ip or "")[:64], locale=locale, state=SignatureState.PENDING.value,
        is_creator=False, is_sponsor=sponsor, confirmations_sent=1, created_at=now, updated_at=now,
    ))
    if inserted:
        new_id = inserted[0][0]
        _queue_confirmation(session, to=data.email, petition_id=petition_id, action=action, links=links,
                            locale=locale, sponsor=sponsor)
        return SignResult("created", petition_id, new_id, action)
    (sig_id, state, sent, first_locale), = _EXISTING_SIGNATURE(session, {"pid": petition_id, "canonical": canonical})
    if state == SignatureState.VALIDATED:
        return SignResult("already_signed", petition_id, sig_id, action)
    if state == SignatureState.WITHDRAWN:  # signing again after withdrawing: a fresh start
        _REACTIVATE_SIGNATURE(session, {"sid": sig_id, "name": data.name, "area": data.area, "notify": data.notify,
                                        "now": now})
    elif sent >= settings.max_confirmation_emails:
        return SignResult("resend_limit", petition_id, sig_id, action)
    else:
        _COUNT_RESENT(session, {"sid": sig_id, "now": now})
    # the links name the signature by petition and address, so they fit this row too
    _queue_confirmation(session, to=data.email, petition_id=petition_id, action=action, links=links,
                        locale=first_locale or locale, sponsor=sponsor)
    return SignResult("resent", petition_id, sig_id, action)


def _signature_for(session: Session, data: dict) -> Signature | None:
    """The signature a token names: by id, or by (petition, canonical e-mail) for hot-path tokens."""
    if "sid" in data:
        return session.get(Signature, int(data.get("sid") or 0))
    try:
        petition_id, email = int(data.get("p") or 0), str(data.get("e") or "")
    except (TypeError, ValueError):
        return None
    return session.execute(select(Signature).where(col(Signature.petition_id) == petition_id,
                                                   col(Signature.canonical_email) == email)).scalar_one_or_none()


@dataclass(frozen=True)
class ConfirmResult:
    petition_id: int
    kind: str          # "signature" | "creator" | "sponsor"
    already: bool = False


def confirm_signature(session: Session, *, token: str, signer, settings: PetitionSettings,
                      renderer_url=None, now: datetime | None = None) -> ConfirmResult:
    """Confirm a signature from its e-mailed link (one short transaction).

    Confirming the creator's signature starts the sponsor stage; the last sponsor needed sends the
    petition to moderation.

    Raises:
        TokenInvalid: the link is bad, expired or already used.
        InvalidState: the petition closed before the signature was confirmed.
    """
    now = now or utc_now()
    data = signer.consume(session, SIGNATURE_PURPOSE, token, max_age=settings.confirm_token_days * 86400)
    signature = _signature_for(session, data)
    if signature is None or signature.state == SignatureState.WITHDRAWN:
        raise TokenInvalid(_("This signature was withdrawn or removed. You can sign the petition again from its page."))
    petition = get_petition(session, signature.petition_id)
    assert petition.id is not None  # a stored row (loaded)
    kind = "creator" if signature.is_creator else "sponsor" if signature.is_sponsor else "signature"
    if signature.state == SignatureState.VALIDATED:
        return ConfirmResult(petition.id, kind, already=True)
    if kind == "signature" and petition.state not in SIGNABLE:
        raise InvalidState(_("This petition closed before you confirmed, so your signature can't be added."))
    signature.state, signature.validated_at, signature.updated_at = SignatureState.VALIDATED, now, now
    session.add(signature)
    if kind == "creator" and petition.state == PetitionState.UNCONFIRMED:
        petition.state, petition.updated_at = PetitionState.SPONSORING, now
        _petition_state_changed(session)
        session.add(petition)
        session.flush()
        queue_email(session, to=petition.creator_email, template="petitions/sponsor_link", locale=petition.creator_locale,
                    context={"petition": petition, "sponsor_token": sponsor_token(signer, petition.id),
                             "threshold": settings.sponsor_threshold})
    elif kind == "sponsor" and petition.state == PetitionState.SPONSORING:
        session.flush()
        petition.sponsor_count = session.execute(select(func.count()).select_from(Signature).where(
            col(Signature.petition_id) == petition.id, col(Signature.is_sponsor).is_(True),
            col(Signature.state) == SignatureState.VALIDATED)).scalar_one()
        petition.updated_at = now
        session.add(petition)
        if petition.sponsor_count >= settings.sponsor_threshold:
            submit_for_moderation(session, petition=petition, now=now, url=renderer_url)
    return ConfirmResult(petition.id, kind)


def submit_for_moderation(session: Session, *, petition: Petition, now: datetime, url: str | None = None) -> None:
    """Move a sponsored petition into the moderation queue and ask the moderation pipeline to score it."""
    petition.state, petition.submitted_at, petition.updated_at = PetitionState.PENDING, now, now
    _petition_state_changed(session)
    session.add(petition)
    session.flush()
    queue_for_moderation(session, petition, url=url)
    queue_email(session, to=petition.creator_email, template="petitions/awaiting_moderation",
                locale=petition.creator_locale, context={"petition": petition})


def queue_for_moderation(session: Session, petition: Petition, *, url: str | None = None) -> None:
    """Put a pending petition in the moderation queue, scored. Every petition waits for a moderator before it is
    published ("strict": held, always queued), so it is in the one queue with comments and responses; its reach
    is the people who have signed it so far. Never raises: the petitions' own page lists it anyway."""
    assert petition.id is not None  # a stored row (flushed or loaded)
    try:
        with session.begin_nested():
            screen_content(session, ContentRef(
                kind="petition", item_id=petition.id,
                text="\n".join(t for t in (petition.action, petition.background, petition.details) if t),
                reach=max(petition.signature_count, petition.sponsor_count + 1), strict=True,
                url=url or f"/petitions/{petition.id}/moderate"))
    except Exception:  # the queue works without a score; never lose the submission
        log.exception("Moderation screening failed for petition %s", petition.id)


def withdraw_signature(session: Session, *, token: str, signer, now: datetime | None = None) -> int:
    """Withdraw a signature from the link in its confirmation e-mail; returns the petition id.

    Raises:
        TokenInvalid: the link is bad.
        InvalidState: the creator can't withdraw, or the petition was already anonymised.
    """
    now = now or utc_now()
    data = signer.unsign(WITHDRAW_PURPOSE, token, max_age=None)
    signature = _signature_for(session, data)
    if signature is None:
        raise TokenInvalid(_("This link is not valid any more: the signature no longer exists."))
    if signature.is_creator:
        raise InvalidState(_("The creator of a petition can't withdraw their signature. Contact the site team if you need help."))
    if signature.state != SignatureState.WITHDRAWN:
        signature.state, signature.withdrawn_at, signature.updated_at = SignatureState.WITHDRAWN, now, now
        signature.name, signature.ip_address = "", ""
        session.add(signature)
    return signature.petition_id


def _updates_signature(session: Session, token: str, signer) -> Signature:
    data = signer.unsign(STOP_UPDATES_PURPOSE, token, max_age=None)
    signature = _signature_for(session, data)
    if signature is None or signature.email == "":
        raise TokenInvalid(_("This link is not valid any more: the signature no longer exists."))
    return signature


def stop_updates_target(session: Session, *, token: str, signer) -> Petition:
    """The petition a stop-updates link is for, changing nothing. Raises: TokenInvalid."""
    return get_petition(session, _updates_signature(session, token, signer).petition_id)


def stop_updates(session: Session, *, token: str, signer) -> Petition:
    """Stop e-mails about a petition to one signer (from the link in those e-mails); idempotent.

    Raises: TokenInvalid.
    """
    signature = _updates_signature(session, token, signer)
    if signature.notify:
        signature.notify, signature.updated_at = False, utc_now()
        session.add(signature)
    return get_petition(session, signature.petition_id)


def stop_updates_url(session: Session, signature_id: int) -> str:
    unit = unit_context(session)
    return unit.renderer.absolute_url("petitions:stop_updates", {"token": unit.signer.sign(
        STOP_UPDATES_PURPOSE, {"sid": signature_id}, single_use=False)})


# ----- moderation -----

def _staff_emails(session: Session, petition: Petition) -> list[tuple[str, str]]:
    """The creator and confirmed sponsors (address, locale)."""
    rows = session.execute(select(col(Signature.email), col(Signature.locale)).where(
        col(Signature.petition_id) == petition.id, col(Signature.state) == SignatureState.VALIDATED,
        (col(Signature.is_creator).is_(True)) | (col(Signature.is_sponsor).is_(True)))).all()
    seen, out = set(), []
    for email, locale in [(petition.creator_email, petition.creator_locale), *rows]:
        key = canonical_email(email)
        if email and key not in seen:
            seen.add(key)
            out.append((email, locale))
    return out


def _close_queue_cases(session: Session, petition: Petition, moderator_id: int, *, hidden: bool, now: datetime) -> None:
    """The petition was decided here: it leaves the moderation queue (in this transaction)."""
    assert petition.id is not None  # a stored row (flushed or loaded)
    close_content_cases(session, "petition", petition.id, moderator_id=moderator_id, hidden=hidden, now=now)


def approve_petition(session: Session, *, petition_id: int, moderator_id: int, department_id: int | None,
                     settings: PetitionSettings, now: datetime | None = None) -> Petition:
    """Publish a pending (or previously rejected) petition for `open_days`.

    Raises:
        PermissionDenied: not a moderator.
        InvalidState: the petition is not waiting for moderation.
        ValidationFailed: unknown department.
    """
    now = now or utc_now()
    require_user_role(session, moderator_id, Role.MODERATOR)
    petition = get_petition(session, petition_id)
    if petition.state not in MODERATABLE:
        raise InvalidState(_("This petition has already been moderated or isn't ready for moderation."))
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed({"department_id": _("Choose a department from the list.")})
    if department_id is None:
        department_id = session.execute(select(col(Department.id)).order_by(col(Department.id)).limit(1)).scalar()
    petition.state, petition.department_id = PetitionState.OPEN, department_id
    petition.opened_at, petition.closes_at, petition.updated_at = now, now + timedelta(days=settings.open_days), now
    petition.rejected_at, petition.rejection_code, petition.rejection_detail = None, "", ""
    session.add(petition)
    _close_queue_cases(session, petition, moderator_id, hidden=False, now=now)
    for email, locale in _staff_emails(session, petition):
        queue_email(session, to=email, template="petitions/published", locale=locale, context={"petition": petition})
    return petition


def reject_petition(session: Session, *, petition_id: int, moderator_id: int, code: str, detail: str,
                    now: datetime | None = None) -> Petition:
    """Reject with a coded reason; reasons that hide (offensive, defamatory, personal information) hide it.

    Raises:
        PermissionDenied: not a moderator.
        InvalidState: the petition is not waiting for moderation.
        ValidationFailed: unknown reason or over-long detail.
    """
    now = now or utc_now()
    require_user_role(session, moderator_id, Role.MODERATOR)
    petition = get_petition(session, petition_id)
    if petition.state not in MODERATABLE:
        raise InvalidState(_("This petition has already been moderated or isn't ready for moderation."))
    ensure_reasons(session)
    reason = session.get(RejectionReason, code)
    errors = {}
    if reason is None:
        errors["code"] = _("Choose a reason for rejecting the petition.")
    if len(detail) > 2000:
        errors["detail"] = _("The explanation must be %(max)s characters or fewer.", max=2000)
    if errors:
        raise ValidationFailed(errors)
    assert reason is not None  # else errors["code"] was set above
    petition.state = PetitionState.HIDDEN if reason.hides_petition else PetitionState.REJECTED
    petition.rejected_at, petition.rejection_code, petition.rejection_detail = now, code, detail
    petition.updated_at = now
    session.add(petition)
    _close_queue_cases(session, petition, moderator_id, hidden=petition.state == PetitionState.HIDDEN, now=now)
    for email, locale in _staff_emails(session, petition):
        queue_email(session, to=email, template="petitions/rejected", locale=locale,
                    context={"petition": petition, "reason": reasons.ReasonText(
                        reason.code, reason.title, reason.description, reason.hides_petition)})
    return petition


def hide_petition(session: Session, *, petition_id: int, code: str = "other", now: datetime | None = None) -> None:
    """Hide a petition after a moderation decision taken in the moderation domain."""
    petition = session.get(Petition, petition_id)
    if petition is None or petition.state == PetitionState.HIDDEN:
        return
    now = now or utc_now()
    petition.state, petition.rejected_at, petition.updated_at = PetitionState.HIDDEN, now, now
    petition.rejection_code = code[:60] or "other"
    session.add(petition)


def update_reason(session: Session, *, admin_id: int, code: str, title: str, description: str,
                  hides_petition: bool) -> RejectionReason:
    """Edit a rejection reason, or add one when `code` is new.

    Raises:
        PermissionDenied: not an admin.
        ValidationFailed: bad code or empty title.
    """
    user = require_user_role(session, admin_id, Role.ADMIN)
    if user.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators can change rejection reasons."))
    errors = {}
    if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", code or "") or len(code) > 60:
        errors["code"] = _("Use lower-case letters, digits and hyphens, like not-government-responsibility.")
    if not title.strip() or len(title) > 200:
        errors["title"] = _("Enter a title of 200 characters or fewer.")
    if errors:
        raise ValidationFailed(errors)
    ensure_reasons(session)
    reason = session.get(RejectionReason, code)
    if reason is None:
        position = session.execute(select(func.coalesce(func.max(col(RejectionReason.position)), 0))).scalar_one() + 1
        reason = RejectionReason(code=code, title=title.strip(), position=position)
    reason.title, reason.description, reason.hides_petition = title.strip(), description.strip()[:2000], hides_petition
    session.add(reason)
    return reason


# ----- officials -----

def may_respond(role: str | None, user_department_id: int | None, petition_department_id: int | None) -> bool:
    """The department rule for petitions: admins always; officials of the department responsible for it."""
    if role == Role.ADMIN:
        return True
    return role == Role.OFFICIAL and petition_department_id is not None and user_department_id == petition_department_id


def not_your_department() -> PermissionDenied:
    return PermissionDenied(_("Only officials of the department responsible for this petition can respond to it."))


def _check_official(session: Session, official_id: int, petition: Petition):
    user = require_user_role(session, official_id, Role.OFFICIAL)
    if not may_respond(user.role, user.department_id, petition.department_id):
        raise not_your_department()
    if petition.state not in PUBLISHED:
        raise InvalidState(_("Only published petitions can get a response."))
    return user


def publish_response(session: Session, *, petition_id: int, official_id: int, data: ResponseInput,
                     now: datetime | None = None) -> Response:
    """Publish (or correct) the official response; the first publication is e-mailed to consenting signers.

    Raises:
        PermissionDenied: not an official of the responsible department.
        InvalidState: the petition is not published.
    """
    def fill(response: Response, user, petition: Petition) -> None:
        response.summary, response.details, response.decision = data.summary, data.details, data.decision
        response.follow_up_on, response.official_id = data.follow_up_on, user.id
        response.department_id = petition.department_id
        petition.responded_at = petition.responded_at or response.published_at

    return _publish_outcome(session, Response, "response", petition_id, official_id, fill, now)


def publish_debate(session: Session, *, petition_id: int, official_id: int, data: DebateInput,
                   now: datetime | None = None) -> Debate:
    """Record (or correct) the debate outcome; the first publication is e-mailed to consenting signers.

    Raises:
        PermissionDenied: not an official of the responsible department.
        InvalidState: the petition is not published.
    """
    def fill(debate: Debate, user, petition: Petition) -> None:
        debate.debated_on, debate.summary, debate.links = data.debated_on, data.summary, "\n".join(data.links)
        debate.official_id = user.id
        petition.debated_at = petition.debated_at or debate.published_at

    return _publish_outcome(session, Debate, "debate", petition_id, official_id, fill, now)


def _publish_outcome(session: Session, model, kind: str, petition_id: int, official_id: int, fill, now):
    """The one row of `model` (response or debate) per petition: create or correct it; signers are e-mailed
    (by the `petitions.mail_signers` job) only when it is first published."""
    now = now or utc_now()
    petition = get_petition(session, petition_id)
    user = _check_official(session, official_id, petition)
    row = session.execute(select(model).where(model.petition_id == petition_id)).scalar_one_or_none()
    first = row is None
    if first:
        row = model(petition_id=petition_id, published_at=now)  # table models do not validate; fill() sets the rest
    fill(row, user, petition)
    petition.updated_at = now
    session.add(row)
    session.add(petition)
    if first:
        enqueue(session, "petitions.mail_signers", {"petition_id": petition_id, "kind": kind},
                dedupe_key=f"petitions.mail_signers:{kind}:{petition_id}")
    session.flush()
    return row


def mail_signers_batch(session: Session, *, petition_id: int, kind: str, batch: int = 500) -> bool:
    """E-mail the next batch of consenting, confirmed signers; returns True when everyone has been sent it."""
    mailing = session.execute(select(Mailing).where(col(Mailing.petition_id) == petition_id, col(Mailing.kind) == kind)).scalar_one_or_none()
    if mailing is None:
        mailing = Mailing(petition_id=petition_id, kind=kind)
        session.add(mailing)
        session.flush()
    if mailing.finished_at is not None:
        return True
    petition = get_petition(session, petition_id)
    response = session.execute(select(Response).where(col(Response.petition_id) == petition_id)).scalar_one_or_none()
    debate = session.execute(select(Debate).where(col(Debate.petition_id) == petition_id)).scalar_one_or_none()
    rows = session.execute(select(col(Signature.id), col(Signature.email), col(Signature.locale)).where(
        col(Signature.petition_id) == petition_id, col(Signature.state) == SignatureState.VALIDATED,
        col(Signature.notify).is_(True), col(Signature.id) > mailing.last_signature_id, col(Signature.email) != "",
    ).order_by(col(Signature.id)).limit(batch)).all()
    for sid, email, locale in rows:
        stop = stop_updates_url(session, sid)
        queue_email(session, to=email, template=f"petitions/{kind}", locale=locale, unsubscribe=stop,
                    context={"petition": petition, "response": response, "debate": debate,
                             "stop_updates": stop})
        mailing.last_signature_id = sid
    mailing.sent += len(rows)
    if len(rows) < batch:
        mailing.finished_at = utc_now()
    session.add(mailing)
    return mailing.finished_at is not None


# ----- scheduled work -----

def close_expired(session: Session, *, now: datetime | None = None) -> int:
    """Close open petitions whose time is up."""
    now = now or utc_now()
    result = session.execute(update(Petition).where(col(Petition.state) == PetitionState.OPEN, col(Petition.closes_at) <= now)
                             .values(state=PetitionState.CLOSED, closed_at=now, updated_at=now))
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed as Result


def anonymise_closed(session: Session, *, settings: PetitionSettings, now: datetime | None = None, batch: int = 5000) -> int:
    """Erase names, e-mail and IP addresses of signatures on petitions closed (or rejected) long enough ago."""
    now = now or utc_now()
    cutoff = now - timedelta(days=settings.anonymise_after_days)
    petitions = session.execute(select(col(Petition.id)).where(
        col(Petition.anonymised_at).is_(None),
        ((col(Petition.state) == PetitionState.CLOSED) & (col(Petition.closed_at) <= cutoff))
        | (col(Petition.state).in_([PetitionState.REJECTED, PetitionState.HIDDEN]) & (col(Petition.rejected_at) <= cutoff))
    ).limit(20)).scalars().all()
    done = 0
    for pid in petitions:
        ids = session.execute(select(col(Signature.id)).where(col(Signature.petition_id) == pid, col(Signature.ip_address) != "anon")
                              .limit(batch)).scalars().all()
        if ids:
            session.execute(update(Signature).where(col(Signature.id).in_(ids)).values(
                name="", email="", ip_address="anon",
                canonical_email=literal("anonymised-", String) + cast(col(Signature.id), String)))
            done += len(ids)
        if len(ids) < batch:
            session.execute(update(Petition).where(col(Petition.id) == pid).values(
                anonymised_at=now, creator_name="", creator_email=""))
    return done


@dataclass(frozen=True)
class Tally:
    petition_id: int
    total: int   # online and paper together: the thresholds count both
    areas: dict  # area -> online and paper together
    paper_areas: dict = field(default_factory=dict)  # area -> paper signatures
    taken: int = 0  # online signatures in every state (pending, confirmed, withdrawn)

    @property
    def paper(self) -> int:
        """The part of `total` collected on paper."""
        return sum(self.paper_areas.values())


def count_changed(session: Session, *, since: datetime) -> list[Tally]:
    """Read-only: recount confirmed signatures (and the paper ones, and the online ones in every state) of every
    petition with a signature changed, or a paper entry recorded, after `since`."""
    ids = session.execute(select(col(Signature.petition_id)).where(col(Signature.updated_at) > since).distinct()).scalars().all()
    ids = sorted(set(ids) | set(paper.changed_petitions(session, since=since)))
    on_paper = paper.effective_counts(session, ids)
    tallies = []
    for pid in ids:
        rows = session.execute(select(col(Signature.state), col(Signature.area), func.count())
                               .where(col(Signature.petition_id) == pid)
                               .group_by(col(Signature.state), col(Signature.area))).all()
        areas: dict[str, int] = {}
        for state, area, n in rows:
            if state == SignatureState.VALIDATED:
                areas[area or ""] = areas.get(area or "", 0) + n
        paper_areas = {a: n for a, n in on_paper.get(pid, {}).items() if n}
        for area, n in paper_areas.items():
            areas[area] = areas.get(area, 0) + n
        tallies.append(Tally(pid, sum(areas.values()), areas, paper_areas, taken=sum(n for _s, _a, n in rows)))
    return tallies


def apply_tallies(session: Session, *, tallies: list[Tally], settings: PetitionSettings, started: datetime,
                  now: datetime | None = None) -> int:
    """Write settled counts, area counts, the hourly series and threshold stamps; move the watermark."""
    now = now or utc_now()
    changed = 0
    hour = started.replace(minute=0, second=0, microsecond=0)
    insert = _insert(session)
    for tally in tallies:
        petition = session.get(Petition, tally.petition_id)
        if petition is None:
            continue
        if (petition.signature_count, petition.paper_signature_count) != (tally.total, tally.paper):
            changed += 1
            petition.signature_count, petition.paper_signature_count = tally.total, tally.paper
            if tally.total >= settings.response_threshold and petition.response_threshold_at is None:
                petition.response_threshold_at = now
            if tally.total >= settings.debate_threshold and petition.debate_threshold_at is None:
                petition.debate_threshold_at = now
            session.add(petition)
            stmt = insert(CountSnapshot.__table__).values(petition_id=tally.petition_id, hour=hour, count=tally.total)  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
            session.execute(stmt.on_conflict_do_update(index_elements=["petition_id", "hour"],
                                                       set_={"count": tally.total}))
        if petition.signatures_taken != tally.taken:
            petition.signatures_taken = tally.taken
            session.add(petition)
        wanted = {area: (n, tally.paper_areas.get(area, 0)) for area, n in tally.areas.items()}
        existing = {area: (n, p) for area, n, p in session.execute(
            select(col(AreaCount.area), col(AreaCount.count), col(AreaCount.paper))
            .where(col(AreaCount.petition_id) == tally.petition_id))}
        if existing != wanted:
            session.execute(delete(AreaCount).where(col(AreaCount.petition_id) == tally.petition_id))
            if wanted:
                session.execute(insert(AreaCount.__table__), [  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                    {"petition_id": tally.petition_id, "area": area, "count": n, "paper": p}
                    for area, (n, p) in wanted.items()])
    mark = session.get(SettleMark, 1)
    if mark is None:
        session.add(SettleMark(id=1, settled_through=started))
    elif _aware(mark.settled_through) < started:
        mark.settled_through = started
        session.add(mark)
    return changed


def settle_watermark(session: Session) -> datetime:
    mark = session.get(SettleMark, 1)
    if mark is None:
        return datetime(2000, 1, 1, tzinfo=utc_now().tzinfo)
    return _aware(mark.settled_through) - SETTLE_OVERLAP
