"""Petitions tables: petitions, signatures (append-only on the hot path), settled counts, responses."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PetitionState(StrEnum):
    UNCONFIRMED = "unconfirmed"    # the creator has not confirmed their e-mail address yet
    SPONSORING = "sponsoring"      # collecting supporters through the sponsor link
    PENDING = "pending"            # waiting for a moderator
    OPEN = "open"                  # published and signable
    CLOSED = "closed"              # published, no longer signable
    REJECTED = "rejected"          # rejected with a reason, still visible
    HIDDEN = "hidden"              # rejected with a reason that hides it


VISIBLE = frozenset({PetitionState.OPEN, PetitionState.CLOSED, PetitionState.REJECTED})
PUBLISHED = frozenset({PetitionState.OPEN, PetitionState.CLOSED})
SIGNABLE = frozenset({PetitionState.OPEN})
SPONSORABLE = frozenset({PetitionState.SPONSORING, PetitionState.PENDING})
MODERATABLE = frozenset({PetitionState.PENDING, PetitionState.REJECTED, PetitionState.HIDDEN})


class SignatureState(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    WITHDRAWN = "withdrawn"


class ResponseDecision(StrEnum):
    """What an official response decides on a petition's request (stored in `Response.decision`)."""

    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    REJECTED = "rejected"
    UNDER_REVIEW = "under_review"


class PaperEntryKind(StrEnum):
    RECORD = "record"          # a batch of paper signatures as collected
    CORRECTION = "correction"  # replaces the counts, date and reference of an earlier record (zeros: reverses it)


class Petition(SQLModel, table=True):
    """A resident's petition. `signature_count` is written only by the settle tick, never by signing."""

    __table_args__ = (Index("ix_petition_state_count", "state", "signature_count"),)

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=80)
    background: str = Field(max_length=300)
    details: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    creator_name: str = Field(max_length=120)
    creator_email: str = Field(max_length=320)
    creator_locale: str = Field(default="en", max_length=10)
    state: str = Field(default=PetitionState.UNCONFIRMED, max_length=20, index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    signature_count: int = 0
    paper_signature_count: int = 0  # the part of signature_count collected on paper (settled with it)
    signatures_taken: int = 0  # online signatures in every state, confirmed or not (settled with it; for /metrics)
    sponsor_count: int = 0
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None          # sent to moderation
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    rejected_at: datetime | None = None
    rejection_code: str = Field(default="", max_length=60)
    rejection_detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    response_threshold_at: datetime | None = Field(default=None, index=True)
    debate_threshold_at: datetime | None = None
    responded_at: datetime | None = None
    debated_at: datetime | None = None
    anonymised_at: datetime | None = None


class Signature(SQLModel, table=True):
    """One e-mail address supporting one petition. Inserted once; confirmed, withdrawn or anonymised later."""

    __table_args__ = (
        UniqueConstraint("petition_id", "canonical_email", name="uq_signature_petition_email"),
        Index("ix_signature_petition_state_area", "petition_id", "state", "area"),
        Index("ix_signature_updated", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id")
    name: str = Field(max_length=120)
    email: str = Field(max_length=320)
    canonical_email: str = Field(max_length=320)
    area: str = Field(default="", max_length=80)
    notify: bool = False
    ip_address: str = Field(default="", max_length=64)
    locale: str = Field(default="en", max_length=10)
    state: str = Field(default=SignatureState.PENDING, max_length=12)
    is_creator: bool = False
    is_sponsor: bool = False
    confirmations_sent: int = 1
    created_at: datetime
    updated_at: datetime
    validated_at: datetime | None = None
    withdrawn_at: datetime | None = None


class AreaCount(SQLModel, table=True):
    """Settled confirmed signatures per petition and area (rewritten by the settle tick)."""

    __tablename__ = "petition_area_count"

    petition_id: int = Field(foreign_key="petition.id", primary_key=True)
    area: str = Field(max_length=80, primary_key=True)
    count: int = 0
    paper: int = 0  # the part of `count` collected on paper


class CountSnapshot(SQLModel, table=True):
    """The settled count at the end of each hour (the open-data time series)."""

    __tablename__ = "petition_count_snapshot"

    petition_id: int = Field(foreign_key="petition.id", primary_key=True)
    hour: datetime = Field(primary_key=True)
    count: int = 0


class SettleMark(SQLModel, table=True):
    """Watermark of the count settling: signatures changed after `settled_through` still need counting."""

    __tablename__ = "petition_settle_mark"

    id: int = Field(default=1, primary_key=True)
    settled_through: datetime


class RejectionReason(SQLModel, table=True):
    """Why a petition was rejected. Data, editable by admins; codes are kebab-case."""

    __tablename__ = "petition_rejection_reason"

    code: str = Field(primary_key=True, max_length=60)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    hides_petition: bool = False
    position: int = 0


class Response(SQLModel, table=True):
    """The official answer of the responsible department."""

    __tablename__ = "petition_response"

    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id", unique=True)
    summary: str = Field(max_length=500)
    details: str = Field(sa_column=Column(Text, nullable=False))
    decision: str = Field(max_length=20)
    follow_up_on: date | None = None
    official_id: int | None = Field(default=None, foreign_key="user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    published_at: datetime


class Debate(SQLModel, table=True):
    """The outcome of a debate on the petition."""

    __tablename__ = "petition_debate"

    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id", unique=True)
    debated_on: date
    summary: str = Field(sa_column=Column(Text, nullable=False))
    links: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # one URL per line
    official_id: int | None = Field(default=None, foreign_key="user.id")
    published_at: datetime


class Mailing(SQLModel, table=True):
    """Progress of a mail-out to consenting signers (response, debate), so a retried job never repeats a batch."""

    __tablename__ = "petition_mailing"
    __table_args__ = (UniqueConstraint("petition_id", "kind", name="uq_petition_mailing"),)

    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id")
    kind: str = Field(max_length=20)
    last_signature_id: int = 0
    sent: int = 0
    finished_at: datetime | None = None


class PaperEntry(SQLModel, table=True):
    """One batch of paper signatures recorded by a clerk, or a correction of one. Never updated or deleted: a
    correction is a new row naming the record it corrects, and the newest row of a record's chain counts."""

    __tablename__ = "petition_paper_entry"
    __table_args__ = (Index("ix_paper_entry_petition", "petition_id", "id"),
                      Index("ix_paper_entry_created", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id")
    kind: str = Field(default=PaperEntryKind.RECORD, max_length=12)
    corrects_id: int | None = Field(default=None, foreign_key="petition_paper_entry.id")  # the record, for corrections
    collected_on: date
    reference: str = Field(max_length=200)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    total: int = 0
    clerk_id: int = Field(foreign_key="user.id")
    nonce: str = Field(max_length=64, unique=True)  # the form's idempotency key: a double click records once
    created_at: datetime


class PaperCount(SQLModel, table=True):
    """The paper signatures of one entry in one area."""

    __tablename__ = "petition_paper_count"

    entry_id: int = Field(foreign_key="petition_paper_entry.id", primary_key=True)
    area: str = Field(max_length=80, primary_key=True)
    count: int = 0
