"""Paper signatures: clerks record the counts of paper petitions collected at libraries and council offices.

Entries are never edited or deleted. A correction is a new entry naming the record it corrects, with a reason;
the newest entry of a record's chain is the one that counts (all zeros reverses the record). The settle tick
adds the effective counts to the petition's total (`service.count_changed`), so thresholds are reached the same
way as by online signatures. Public pages and the API show totals only; who recorded what is for staff.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth import require_user_role
from app.clock import as_utc, utc_now
from app.db import insert_ignore
from app.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed, N_
from app.i18n import gettext as _
from app.models import Role, User

from .config import PetitionSettings
from .forms import PaperInput
from .lookup import get_petition, rate
from .models import PUBLISHED, SIGNABLE, PaperCount, PaperEntry, PaperEntryKind, Petition, PetitionState

RECORDED, DUPLICATE = "recorded", "duplicate"


# ----- who may -----

def may_record(role: str | None, user_department_id: int | None, petition_department_id: int | None) -> bool:
    """Admins always; clerks without a department (a central records office) for every petition, clerks with one
    for that department's petitions, like officials' responses."""
    if role == Role.ADMIN:
        return True
    return role == Role.CLERK and (user_department_id is None or user_department_id == petition_department_id)


def not_your_petition() -> PermissionDenied:
    return PermissionDenied(_("Only clerks of the department responsible for this petition can record its paper "
                              "signatures. Ask an administrator if this petition should be yours."))


def _check_clerk(session: Session, clerk_id: int, petition: Petition) -> User:
    user = require_user_role(session, clerk_id, Role.CLERK)
    if not may_record(user.role, user.department_id, petition.department_id):
        raise not_your_petition()
    return user


def not_signable() -> InvalidState:
    return InvalidState(_("This petition is not open for signatures, so paper signatures can't be added to it. "
                          "Paper collected while it was open can still be corrected from its paper record."))


def is_signable(petition: Petition, now: datetime) -> bool:
    return petition.state in SIGNABLE and (petition.closes_at is None or as_utc(petition.closes_at) > now)


# ----- recording -----

@dataclass(frozen=True)
class PaperResult:
    status: str          # RECORDED, or DUPLICATE: the same form was submitted before and recorded nothing new
    entry_id: int
    petition_id: int


def _check_dates(petition: Petition, collected_on: date) -> None:
    opened = as_utc(petition.opened_at)
    if opened is not None and collected_on < opened.date():
        raise ValidationFailed({"collected_on": _("The paper can't have been collected before the petition opened "
                                                  "on %(date)s.", date=opened.date().isoformat())})
    closed = as_utc(petition.closed_at) or as_utc(petition.closes_at)
    if petition.state != PetitionState.OPEN and closed is not None and collected_on > closed.date():
        raise ValidationFailed({"collected_on": _("The petition closed on %(date)s: paper collected after that "
                                                  "doesn't count.", date=closed.date().isoformat())})


def _same(entry: PaperEntry, counts: dict[str, int], data: PaperInput, petition_id: int, clerk_id: int,
          corrects_id: int | None) -> bool:
    return (entry.petition_id, entry.clerk_id, entry.corrects_id, entry.collected_on, entry.reference, entry.reason,
            counts) == (petition_id, clerk_id, corrects_id, data.collected_on, data.reference, data.reason,
                        data.counts)


def _entry_counts(session: Session, entry_id: int) -> dict[str, int]:
    return dict(session.execute(select(col(PaperCount.area), col(PaperCount.count))
                                .where(col(PaperCount.entry_id) == entry_id)).all())


def _write(session: Session, *, petition: Petition, clerk_id: int, data: PaperInput, corrects_id: int | None,
           settings: PetitionSettings, now: datetime) -> PaperResult:
    """Insert the entry unless this form (its nonce) was submitted before: then the earlier entry is the answer
    if it says the same, and a 409 if it doesn't (an old form re-sent with other numbers). The stored `kind`
    follows from `corrects_id`: an entry that names a record is its correction."""
    assert petition.id is not None  # a stored row (loaded)
    existing = session.execute(select(PaperEntry).where(col(PaperEntry.nonce) == data.nonce)).scalar_one_or_none()
    if existing is None:
        rate(session, f"petitions:paper:{clerk_id}", settings.paper_rate, N_(
            "You have recorded many entries in a short time. Wait a few minutes, then submit the form again; "
            "what you entered is kept."))
        table = PaperEntry.__table__  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        inserted = insert_ignore(session, table, {
            "petition_id": petition.id, "corrects_id": corrects_id, "collected_on": data.collected_on,
            "reference": data.reference, "reason": data.reason, "total": data.total, "clerk_id": clerk_id,
            "nonce": data.nonce, "created_at": now,
            "kind": PaperEntryKind.RECORD if corrects_id is None else PaperEntryKind.CORRECTION}, ["nonce"])
        entry = session.execute(select(PaperEntry).where(col(PaperEntry.nonce) == data.nonce)).scalar_one()
        assert entry.id is not None  # a stored row (loaded)
        if inserted:
            for area, n in data.counts.items():
                session.add(PaperCount(entry_id=entry.id, area=area, count=n))
            session.flush()
            return PaperResult(RECORDED, entry.id, petition.id)
        existing = entry  # a concurrent submission of the same form got there first (PostgreSQL waits for it)
    assert existing.id is not None  # a stored row (loaded)
    if not _same(existing, _entry_counts(session, existing.id), data, petition.id, clerk_id, corrects_id):
        raise InvalidState(_("This form was already used to record an entry. Open the form again to record "
                             "another batch or correct this one."))
    return PaperResult(DUPLICATE, existing.id, petition.id)


def record_paper(session: Session, *, petition_id: int, clerk_id: int, data: PaperInput, settings: PetitionSettings,
                 now: datetime | None = None) -> PaperResult:
    """Record a batch of paper signatures, counted into the petition's total by the next settle tick.

    `data` is as `forms.parse_paper` returns it: the counts, date, reference and their limits are checked there;
    this checks what depends on the petition, the clerk and earlier entries.

    Raises:
        NotFound: no petition with that id.
        PermissionDenied: not a clerk (or admin), or a clerk of another department.
        InvalidState: the petition is not open for signatures; the form was already used for other numbers.
        ValidationFailed: collected before the petition opened.
        RateLimited: too many entries by this clerk in a short time.
    """
    now = now or utc_now()
    petition = get_petition(session, petition_id)
    _check_clerk(session, clerk_id, petition)
    if not is_signable(petition, now):
        raise not_signable()
    _check_dates(petition, data.collected_on)
    return _write(session, petition=petition, clerk_id=clerk_id, data=data, corrects_id=None, settings=settings, now=now)


def correct_paper(session: Session, *, petition_id: int, entry_id: int, clerk_id: int, data: PaperInput,
                  settings: PetitionSettings, now: datetime | None = None) -> PaperResult:
    """Correct a recorded batch: a new entry with the right counts (all zeros reverses it), date, reference and a
    reason. The record and its earlier corrections stay in the audit trail.

    `data` is as `forms.parse_paper(..., correction=True)` returns it (with a reason, counts within the limit).

    Raises:
        NotFound: no such petition, or no such record on it.
        PermissionDenied: not a clerk (or admin), or a clerk of another department.
        InvalidState: the petition is not published (open or closed); the form was already used for other numbers.
        ValidationFailed: a date outside the petition's open time.
        RateLimited: too many entries by this clerk in a short time.
    """
    now = now or utc_now()
    petition = get_petition(session, petition_id)
    _check_clerk(session, clerk_id, petition)
    if petition.state not in PUBLISHED:
        raise InvalidState(_("This petition is not published, so its paper signatures can't be corrected."))
    record = correctable(session, petition_id=petition_id, entry_id=entry_id)
    _check_dates(petition, data.collected_on)
    return _write(session, petition=petition, clerk_id=clerk_id, data=data, corrects_id=record.id, settings=settings, now=now)


def correctable(session: Session, *, petition_id: int, entry_id: int) -> PaperEntry:
    """The record an entry belongs to (a correction names it), on this petition. Raises: NotFound."""
    entry = session.get(PaperEntry, entry_id)
    if entry is not None and entry.corrects_id is not None:
        entry = session.get(PaperEntry, entry.corrects_id)
    if entry is None or entry.petition_id != petition_id:
        raise NotFound(_("This petition has no paper entry with that number. See its paper record for the entries."))
    return entry


# ----- counting -----

def effective_counts(session: Session, petition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Paper signatures by petition and area: for each record, the counts of its newest entry (itself or its
    latest correction)."""
    if not petition_ids:
        return {}
    latest: dict[int, tuple[int, int]] = {}  # record id -> (newest entry id, petition id)
    for eid, pid, corrects in session.execute(select(col(PaperEntry.id), col(PaperEntry.petition_id),
                                                     col(PaperEntry.corrects_id))
                                              .where(col(PaperEntry.petition_id).in_(petition_ids))):
        root = corrects or eid
        if root not in latest or latest[root][0] < eid:
            latest[root] = (eid, pid)
    result: dict[int, dict[str, int]] = {}
    if not latest:
        return result
    petition_of = {eid: pid for eid, pid in latest.values()}
    for eid, area, n in session.execute(select(col(PaperCount.entry_id), col(PaperCount.area), col(PaperCount.count))
                                        .where(col(PaperCount.entry_id).in_(list(petition_of)))):
        areas = result.setdefault(petition_of[eid], {})
        areas[area] = areas.get(area, 0) + n
    return result


def changed_petitions(session: Session, *, since: datetime) -> list[int]:
    """Petitions with a paper entry recorded after `since` (the settle tick recounts them)."""
    return list(session.execute(select(col(PaperEntry.petition_id)).where(col(PaperEntry.created_at) > since)
                                .distinct()).scalars())


# ----- the audit trail (staff only) -----

@dataclass(frozen=True)
class EntryView:
    id: int
    kind: str
    corrects_id: int | None
    collected_on: date
    reference: str
    reason: str
    total: int
    counts: tuple[tuple[str, int], ...]
    clerk_name: str
    clerk_email: str
    created_at: datetime
    current: bool  # the newest entry of its record: the one that counts


@dataclass(frozen=True)
class PaperRecord:
    petition_id: int
    action: str
    state: str
    entries: tuple[EntryView, ...]   # newest first
    counts: tuple[tuple[str, int], ...]  # effective, by area
    total: int
    can_record: bool
    may_record: bool


def paper_record(session: Session, *, petition_id: int, viewer_id: int, areas: tuple[str, ...],
                 now: datetime | None = None) -> PaperRecord:
    """Every paper entry of a petition with who recorded it and when, for staff.

    Raises:
        NotFound: no petition with that id.
        PermissionDenied: the viewer is not staff (checked against the database).
    """
    now = now or utc_now()
    viewer = require_user_role(session, viewer_id, Role.CLERK, Role.OFFICIAL, Role.MODERATOR)
    petition = get_petition(session, petition_id)
    rows = session.execute(select(PaperEntry, User).join(User, col(User.id) == col(PaperEntry.clerk_id))
                           .where(col(PaperEntry.petition_id) == petition_id)
                           .order_by(col(PaperEntry.id).desc())).all()
    counts: dict[int, list[tuple[str, int]]] = {}
    if rows:
        for eid, area, n in session.execute(select(col(PaperCount.entry_id), col(PaperCount.area),
                                                   col(PaperCount.count))
                                            .where(col(PaperCount.entry_id).in_([e.id for e, _u in rows]))):
            counts.setdefault(eid, []).append((area, n))
    order = {a: i for i, a in enumerate((*areas, ""))}
    newest: dict[int, int] = {}
    for entry, _user in rows:
        assert entry.id is not None  # a stored row (loaded)
        newest.setdefault(entry.corrects_id or entry.id, entry.id)  # rows are newest first
    current = set(newest.values())
    entries = tuple(EntryView(
        id=e.id, kind=e.kind, corrects_id=e.corrects_id, collected_on=e.collected_on, reference=e.reference,
        reason=e.reason, total=e.total, counts=tuple(sorted(counts.get(e.id, []), key=lambda c: order.get(c[0], 99))),
        clerk_name=u.name, clerk_email=u.email_display, created_at=as_utc(e.created_at), current=e.id in current)
        for e, u in rows if e.id is not None)
    effective: dict[str, int] = {}
    for e in entries:
        if e.current:
            for area, n in e.counts:
                effective[area] = effective.get(area, 0) + n
    return PaperRecord(
        petition_id=petition_id, action=petition.action, state=petition.state, entries=entries,
        counts=tuple(sorted(((a, n) for a, n in effective.items() if n), key=lambda c: order.get(c[0], 99))),
        total=sum(effective.values()), can_record=is_signable(petition, now),
        may_record=may_record(viewer.role, viewer.department_id, petition.department_id))
