"""Petitions demo content: 40 real UK Parliament petition titles (OGL v3.0, see demo_data/ATTRIBUTION.txt)
with synthetic backgrounds, synthetic signers (example.org addresses), counts by area and official responses.

Idempotent: a second run adds nothing.
"""
from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import col

from app.clock import utc_now
from app.db import pk
from app.models import Department, Role, User

from . import service
from .models import (
    AreaCount, CountSnapshot, Debate, PaperCount, PaperEntry, Petition, PetitionState, Response, Signature, SignatureState,
)

DATA = Path(__file__).resolve().parent / "demo_data" / "uk_petitions_sample.csv"
BOUNDARIES = Path(__file__).resolve().parent / "demo_data" / "areas.geojson"
"""Synthetic boundaries of AREAS for the area map (scripts/make_demo_boundaries.py); `civic serve --demo` uses them."""
DEMO_CREATOR = "demo-creator@example.org"
AREAS = ("Central", "North", "South", "East", "West", "Riverside", "Hillside", "Outside the city")
AREA_WEIGHTS = (9, 7, 6, 5, 5, 4, 3, 1)
BACKGROUND = ("Demo petition. The title is a real petition to the UK Parliament (2017-2019, Open Government "
              "Licence v3.0); this background was written for the Civic demo and is not the petitioner's text.")
REJECT_CODES = ("duplicate", "not-government-responsibility", "already-happening")
PAPER_PETITION = 2  # the row that also has a box of paper signatures, recorded by the demo clerk
PAPER = {"Central": 180, "Riverside": 64, "": 12}


def _rows() -> list[dict]:
    with DATA.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _add_signers(session, petition: Petition, n: int, start, paper: dict | None = None) -> dict:
    """Insert `n` synthetic, confirmed signers (the first is the creator) and the area counts, with `paper`
    signatures by area on top; returns the online counts by area."""
    petition_id = pk(petition.id)  # flushed by the caller
    areas: dict[str, int] = {}
    weights = [a for a, w in zip(AREAS, AREA_WEIGHTS) for _ in range(w)]
    batch = []
    for k in range(n):
        area = weights[(k * 7 + petition_id) % len(weights)]
        areas[area] = areas.get(area, 0) + 1
        at = start + timedelta(minutes=k % 5000)
        email = DEMO_CREATOR if k == 0 else f"demo-signer-{petition_id}-{k}@example.org"
        batch.append({"petition_id": petition_id, "name": "Demo creator" if k == 0 else f"Demo signer {k}",
                      "email": email, "canonical_email": email, "area": area, "notify": k % 3 == 0,
                      "ip_address": "", "locale": "en", "state": SignatureState.VALIDATED.value, "is_creator": k == 0,
                      "is_sponsor": 0 < k <= 5, "confirmations_sent": 1, "created_at": at, "updated_at": at,
                      "validated_at": at})
        if len(batch) >= 2000:
            session.execute(insert(Signature.__table__), batch)  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
            batch = []
    if batch:
        session.execute(insert(Signature.__table__), batch)  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
    paper = paper or {}
    for area in {*areas, *paper}:
        session.add(AreaCount(petition_id=petition_id, area=area, count=areas.get(area, 0) + paper.get(area, 0),
                              paper=paper.get(area, 0)))
    return areas


def _add_paper(session, petition: Petition, clerk: User, now) -> None:
    """The demo clerk's entry for a box of paper signatures (its counts are in the area counts already)."""
    entry = PaperEntry(petition_id=pk(petition.id), collected_on=(now - timedelta(days=1)).date(),
                       reference="Demo: box 12, Central Library", total=sum(PAPER.values()), clerk_id=pk(clerk.id),
                       nonce=f"demo-paper-{petition.id}", created_at=now)
    session.add(entry)
    session.flush()
    session.add_all([PaperCount(entry_id=pk(entry.id), area=area, count=n) for area, n in PAPER.items()])


def load(session, *, renderer=None, now=None) -> int:
    """Load demo content idempotently; return how many items were added."""
    now = now or utc_now()
    if session.execute(select(col(Petition.id)).where(col(Petition.creator_email) == DEMO_CREATOR).limit(1)).first():
        return 0
    service.ensure_reasons(session)
    departments = list(session.execute(select(col(Department.id)).order_by(col(Department.id))).scalars())
    official = session.execute(select(User).where(col(User.role) == Role.OFFICIAL).order_by(col(User.id))
                               .limit(1)).scalar()
    clerk = session.execute(select(User).where(col(User.role) == Role.CLERK).order_by(col(User.id)).limit(1)).scalar()
    added = 0
    for i, row in enumerate(_rows()):
        real = int(row["signatures_count"] or 0)
        dept = departments[i % len(departments)] if departments else None
        if official is not None and i in (0, 1, 32):
            dept = official.department_id
        opened = now - timedelta(days=3 * i + 2)
        state = PetitionState.OPEN
        if i in (29, 35):
            state = PetitionState.PENDING
        elif i == 32 or i % 5 == 4:
            state, opened = PetitionState.CLOSED, now - timedelta(days=200 + i)
        elif i % 7 == 3:
            state = PetitionState.REJECTED
        petition = Petition(action=row["title"][:80], background=BACKGROUND, details="",
                            creator_name="Demo creator", creator_email=DEMO_CREATOR, state=state,
                            department_id=dept, created_at=opened - timedelta(days=3), updated_at=now,
                            submitted_at=opened - timedelta(days=1))
        if state in (PetitionState.OPEN, PetitionState.CLOSED):
            petition.opened_at, petition.closes_at = opened, opened + timedelta(days=182)
            if state == PetitionState.CLOSED:
                petition.closed_at = petition.closes_at
        if state == PetitionState.REJECTED:
            petition.rejected_at, petition.rejection_code = opened, REJECT_CODES[i % len(REJECT_CODES)]
        session.add(petition)
        session.flush()
        added += 1
        if state == PetitionState.PENDING:
            n = 6
        elif state == PetitionState.REJECTED:
            n = 6
        elif real >= 10_000 and i in (0, 1):
            n = 10_200  # past the response threshold
        else:
            n = max(6, min(real // 20, 2_000))
        on_paper = PAPER if clerk is not None and i == PAPER_PETITION and state == PetitionState.OPEN else {}
        _add_signers(session, petition, n, petition.created_at, on_paper)
        petition.signatures_taken = n  # as the settle tick would count them
        if on_paper:
            assert clerk is not None  # on_paper is empty without one
            _add_paper(session, petition, clerk, now)
        petition.sponsor_count = min(5, n - 1)
        if state == PetitionState.PENDING:  # waiting in the moderation queue, like a petition its supporters sent
            session.add(petition)
            session.flush()
            service.queue_for_moderation(session, petition)
        if state in (PetitionState.OPEN, PetitionState.CLOSED):
            petition.signature_count = n + sum(on_paper.values())
            petition.paper_signature_count = sum(on_paper.values())
            for h in range(4, 0, -1):
                session.add(CountSnapshot(petition_id=pk(petition.id),
                                          hour=(now - timedelta(hours=h)).replace(minute=0, second=0, microsecond=0),
                                          count=max(1, n * (5 - h) // 4)))
            if n >= 10_000:
                petition.response_threshold_at = opened + timedelta(days=1)
        session.add(petition)
        if official is not None and i in (1, 32):
            session.add(Response(
                petition_id=pk(petition.id), official_id=pk(official.id), department_id=petition.department_id,
                summary="Demo response: the department will review this request and report back in the spring.",
                details="This is a synthetic official response written for the Civic demo. It shows how a department "
                        "answers a petition: a short summary, the full text, a decision and an optional follow-up date.",
                decision="partly_accepted" if i == 1 else "rejected",
                follow_up_on=(now + timedelta(days=90)).date() if i == 1 else None, published_at=now - timedelta(days=1)))
            petition.responded_at = now - timedelta(days=1)
            if i == 32:
                session.add(Debate(petition_id=pk(petition.id), debated_on=(now - timedelta(days=10)).date(),
                                   summary="Demo debate outcome: members discussed the petition for 90 minutes.",
                                   links="https://example.org/demo-debate-video", official_id=official.id,
                                   published_at=now - timedelta(days=9)))
                petition.debated_at = now - timedelta(days=9)
            session.add(petition)
            added += 1
    return added
