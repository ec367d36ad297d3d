"""Where a consultation's participants come from: distinct participants per area they gave.

Privacy: no area is ever shown for an individual, and an area with fewer than `SMALL` participants is reported
as "fewer than 5", never as its exact count (on the page, in the API and in the export). No total is published
alongside, so the small counts can't be worked out by subtraction.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from .models import ParticipantArea

SMALL = 5


@dataclass(frozen=True)
class AreaCount:
    area: str
    participants: int | None   # None: fewer than SMALL, not shown exactly

    @property
    def suppressed(self) -> bool:
        return self.participants is None


def by_area(session: Session, *, consultation_id: int) -> tuple[AreaCount, ...]:
    """Participants per area (largest first, then by name); areas below SMALL carry no count."""
    rows = session.exec(select(ParticipantArea.area, func.count())
                        .where(col(ParticipantArea.consultation_id) == consultation_id)
                        .group_by(col(ParticipantArea.area))).all()
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
    return tuple(AreaCount(area, n if n >= SMALL else None) for area, n in ordered)


def area_of(session: Session, *, consultation_id: int, user_id: int | None) -> str:
    """The area the viewer gave in this consultation ("" if none): their own answer, shown back only to them."""
    if user_id is None:
        return ""
    return session.exec(select(ParticipantArea.area).where(col(ParticipantArea.consultation_id) == consultation_id,
                                                            col(ParticipantArea.user_id) == user_id)).first() or ""
