"""Cross-cutting tables every domain relies on: users, departments, outbox, jobs, tokens, rate limits, open-data
snapshots.

Must not import any domain package.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import DDL, Column, Index, LargeBinary, String, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    RESIDENT = "resident"
    OFFICIAL = "official"
    CLERK = "clerk"  # records paper signatures on petitions (of their department, if they have one)
    MODERATOR = "moderator"
    ADMIN = "admin"


class Department(SQLModel, table=True):
    """A public body that owns petitions and consultations and whose officials respond."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    name_zh: str = Field(default="", max_length=200)


class User(SQLModel, table=True):
    """A person who signed in at least once (residents) or was added by an operator (staff)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)  # canonical form, see app.emails
    email_display: str = Field(max_length=320)  # as typed, for delivery
    name: str = Field(default="", max_length=120)
    role: str = Field(default=Role.RESIDENT, max_length=20)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    locale: str = Field(default="en", max_length=10)
    created_at: datetime
    last_sign_in_at: datetime | None = None
    blocked_until: datetime | None = None
    blocked_reason: str = Field(default="", max_length=200)


class UserSession(SQLModel, table=True):
    """One signed-in browser. The session cookie carries a random secret; this row holds its SHA-256. Deleting the
    row (sign-out, "sign out everywhere", a role change) signs that browser out, whatever its cookie says."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's secret
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime
    expires_at: datetime = Field(index=True)


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    """An e-mail written in the same transaction as the change that caused it; delivered later."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    to_addr: str = Field(max_length=320, index=True)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    template: str = Field(default="", max_length=120)
    status: str = Field(default=OutboxStatus.QUEUED, max_length=10)
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime
    locked_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # One-click unsubscribe link for notifications people can stop (sent as List-Unsubscribe), else "".
    unsubscribe_url: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The request (or job) that queued it, as in the JSON logs (app.logs).
    request_id: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))


class Job(SQLModel, table=True):
    """A unit of background work, claimed by one worker at a time through a lease."""

    __table_args__ = (Index("ix_job_due", "finished_at", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=80, index=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    run_at: datetime
    created_at: datetime
    attempts: int = 0
    max_attempts: int = 5
    locked_by: str | None = Field(default=None, max_length=80)
    locked_until: datetime | None = None
    finished_at: datetime | None = None
    failed: bool = False
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The request that enqueued it, as in the JSON logs (app.logs); periodic jobs have none.
    request_id: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))


class UsedToken(SQLModel, table=True):
    """Records the id of every consumed single-use token so it cannot be replayed."""

    __tablename__ = "used_token"

    jti: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=60)
    used_at: datetime


class RateLimitBucket(SQLModel, table=True):
    """Fixed-window counters shared by every app process (so limits hold behind a load balancer)."""

    __tablename__ = "rate_limit_bucket"
    __table_args__ = (UniqueConstraint("key", "window_start", name="uq_rate_limit_window"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    window_start: int
    count: int = 0


class OpenDataSnapshot(SQLModel, table=True):
    """A dated copy of one open dataset as it stood at the end of `as_of` (UTC), kept so it can be cited.

    Write-once: the app inserts a row (skipping one that exists) and never updates or deletes it, so the bytes
    behind a cited URL, and their SHA-256, never change (app/open_data.py)."""

    __tablename__ = "open_data_snapshot"
    __table_args__ = (UniqueConstraint("dataset", "as_of", name="uq_open_data_snapshot"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset: str = Field(max_length=80)
    as_of: date
    created_at: datetime
    size: int
    sha256: str = Field(max_length=64)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the canonical JSON document, UTF-8


# The database refuses to change an archived snapshot, whatever code runs (the app never tries; this guards against
# a future bug or a hand-written UPDATE). Deleting stays possible: an operator may have to withdraw one (a court
# order), and its URL then answers 404. The migration app_open_data_snapshots creates the same triggers.
SNAPSHOT_WRITE_ONCE = {
    "sqlite": ["CREATE TRIGGER open_data_snapshot_write_once BEFORE UPDATE ON open_data_snapshot "
               "BEGIN SELECT RAISE(ABORT, 'open-data snapshots are write-once'); END"],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION open_data_snapshot_write_once() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'open-data snapshots are write-once'; END $$",
        "CREATE TRIGGER open_data_snapshot_write_once BEFORE UPDATE ON open_data_snapshot "
        "FOR EACH ROW EXECUTE FUNCTION open_data_snapshot_write_once()"],
}
for _dialect, _statements in SNAPSHOT_WRITE_ONCE.items():
    for _statement in _statements:
        event.listen(OpenDataSnapshot.__table__, "after_create",  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                     DDL(_statement).execute_if(dialect=_dialect))
