"""Moderation tables.

Items of other domains are referenced by (kind, item_id) plus a text snapshot, never by foreign key.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class ItemStatus(StrEnum):
    PUBLISHED = "published"   # visible (possibly queued for review)
    HELD = "held"             # hidden until a moderator clears it (model hold, strict mode or reports)
    APPROVED = "approved"     # a moderator cleared it
    HIDDEN = "hidden"         # a moderator hid it
    REDACTED = "redacted"     # a moderator replaced passages with "[...]"


class CaseState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class CaseReason(StrEnum):
    """Why an item is in the queue (a queue filter)."""

    MODEL = "model"           # the score reached the review or hold threshold
    CATEGORY = "category"     # a held or rule-only abuse category matched (threats, intimidation, ...)
    STRICT = "strict"         # the consultation is in strict mode
    NO_MODEL = "no-model"     # no usable model: humans look at everything
    REPORT = "report"         # residents reported it
    APPEAL = "appeal"         # the author appealed a decision


class ReportReason(StrEnum):
    """The reasons a resident can pick when reporting content (petitions, comments, responses).

    Each is a code of `policy.REASONS`, so a report arrives in the moderators' queue with the reason picked.
    Other domains store and send these values as they are (import it from `moderation`).
    """

    SPAM = "spam"
    ABUSE = "abuse"
    PERSONAL_INFORMATION = "personal-information"
    OFF_TOPIC = "off-topic"


class ModerationItem(SQLModel, table=True):
    """The latest screening of one item of another domain, with its text snapshot."""

    __tablename__ = "moderation_item"
    __table_args__ = (UniqueConstraint("kind", "item_id", name="uq_moderation_item_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    item_id: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    context_id: int | None = Field(default=None, index=True)
    context_title: str = Field(default="", max_length=300)
    url: str = Field(default="", max_length=500)
    reach: int = 0
    strict: bool = False
    language: str = Field(default="other", max_length=10)
    score: float | None = None
    model_version: str = Field(default="none", max_length=80)
    explanation: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    category: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    route: str = Field(default="publish", max_length=10)
    route_reason: str = Field(default="", max_length=300)
    model_flagged: bool | None = None    # score at or above the review threshold (None: no score)
    status: str = Field(default=ItemStatus.PUBLISHED, max_length=12)
    redacted_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    report_count: int = 0
    screened_at: datetime
    updated_at: datetime


class ModerationCase(SQLModel, table=True):
    """A piece of work in the moderators' queue: one open case per item at a time."""

    __tablename__ = "moderation_case"
    __table_args__ = (
        Index("ix_moderation_case_open", "state", "opened_at"),
        # At most one open case per item, even when residents report it at the same moment.
        Index("uq_moderation_case_one_open", "item_pk", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_pk: int = Field(foreign_key="moderation_item.id", index=True)
    reason: str = Field(max_length=20)
    state: str = Field(default=CaseState.OPEN, max_length=10)
    opened_at: datetime
    claimed_by: int | None = Field(default=None, foreign_key="user.id")
    claimed_until: datetime | None = None
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    appeal_id: int | None = None  # the ModerationAppeal this case reviews (no FK: avoids a cycle)
    excluded_moderator_id: int | None = Field(default=None, foreign_key="user.id")  # appeals: the first decider


class ModerationDecision(SQLModel, table=True):
    """One human decision: the audit record, the public log entry and a training label."""

    __tablename__ = "moderation_decision"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="moderation_case.id", index=True)
    item_pk: int = Field(foreign_key="moderation_item.id", index=True)
    kind: str = Field(max_length=30)
    moderator_id: int = Field(foreign_key="user.id")
    decision: str = Field(max_length=10)
    reason_code: str = Field(max_length=40)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    original_text: str = Field(sa_column=Column(Text, nullable=False))
    redacted_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    block_days: int = 0
    blocked_until: datetime | None = None
    is_appeal: bool = False
    label: int                            # 1 = needed removal (hide/redact), 0 = acceptable (approve)
    language: str = Field(default="other", max_length=10)
    score: float | None = None
    model_version: str = Field(default="none", max_length=80)
    model_flagged: bool | None = None
    decided_at: datetime = Field(index=True)
    # The request that made the decision, as in the JSON logs (app.logs): the audit trail leads to its log line.
    request_id: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))


class ModerationReport(SQLModel, table=True):
    """A resident's report of an item (one per resident per item)."""

    __tablename__ = "moderation_report"
    __table_args__ = (UniqueConstraint("item_pk", "reporter_id", name="uq_moderation_report_once"),)

    id: int | None = Field(default=None, primary_key=True)
    item_pk: int = Field(foreign_key="moderation_item.id", index=True)
    reporter_id: int = Field(foreign_key="user.id")
    reason: str = Field(default="other", max_length=40)
    created_at: datetime


class ModerationAppeal(SQLModel, table=True):
    """An author's appeal against a decision (at most one per decision)."""

    __tablename__ = "moderation_appeal"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="moderation_decision.id", unique=True)
    item_pk: int = Field(foreign_key="moderation_item.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    statement: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime
    outcome: str = Field(default="", max_length=10)   # "" while pending, then "upheld" or "overturned"
    decided_at: datetime | None = None
