"""Consultations tables: consultations, questions, comments (threaded), votes, reports, officials' responses,
followers. Counters on comments are denormalised and kept exact in the transaction that changes them, so a
thread page never counts votes or replies.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ConsultationState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    REPORTED = "reported"  # closed, and the closing report is published


VISIBLE_STATES = frozenset({ConsultationState.OPEN, ConsultationState.CLOSED, ConsultationState.REPORTED})
PARTICIPATION_STATES = frozenset({ConsultationState.OPEN})
RESPONDABLE_STATES = frozenset({ConsultationState.OPEN, ConsultationState.CLOSED, ConsultationState.REPORTED})


class CommentStatus(StrEnum):
    PUBLISHED = "published"
    HELD = "held"          # waiting for a moderator; only its author sees it
    HIDDEN = "hidden"      # hidden by a moderator or by residents' reports pending review
    REMOVED = "removed"    # deleted by its author; shown as "[removed by author]" so replies keep their place


# Statuses that take a place in a thread (a removed comment keeps its replies).
LISTED_STATUSES = frozenset({CommentStatus.PUBLISHED, CommentStatus.REMOVED})


class Vote(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"


# Polis's numeric encoding, used in storage and in the CSV exports.
VOTE_VALUES = {Vote.AGREE: 1, Vote.DISAGREE: -1, Vote.PASS: 0}
VOTE_NAMES = {v: k for k, v in VOTE_VALUES.items()}


class ResponseDecision(StrEnum):
    NOTED = "noted"
    WILL_ACT = "will_act"
    WILL_NOT_ACT = "will_not_act"
    ALREADY_HAPPENING = "already_happening"


class Consultation(SQLModel, table=True):
    """A proposal officials put to the public, with an optional list of questions."""

    __table_args__ = (Index("ix_consultation_state_closes", "state", "closes_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=600)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # sanitized HTML
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    state: str = Field(default=ConsultationState.DRAFT, max_length=12)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    strict_mode: bool = False  # hold every new comment until a moderator clears it
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime
    updated_at: datetime
    comment_count: int = 0  # published comments and replies, all threads
    report_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # sanitized HTML
    report_published_at: datetime | None = None  # the outcome's first publication: re-publishing keeps it
    closed_at: datetime | None = None  # when it first closed (job or official); write-once, so past figures hold
    source: str = Field(default="", max_length=200)  # e.g. "polis:15-per-hour-seattle" for imports


class Question(SQLModel, table=True):
    """A question inside a consultation; each has its own discussion thread."""

    __tablename__ = "consultation_question"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    position: int = 0
    text: str = Field(max_length=500)
    comment_count: int = 0


class Comment(SQLModel, table=True):
    """A resident's comment or reply. `question_id` is None for the consultation's general discussion."""

    __tablename__ = "consultation_comment"
    __table_args__ = (
        # One index per sort of a thread's top-level comments (equality on thread and listed, then the sort key).
        Index("ix_comment_thread_new", "consultation_id", "question_id", "parent_id", "listed", "created_at"),
        Index("ix_comment_thread_agreed", "consultation_id", "question_id", "parent_id", "listed", "agree_count"),
        Index("ix_comment_thread_discussed", "consultation_id", "question_id", "parent_id", "listed", "reply_count"),
        Index("ix_comment_thread_official", "consultation_id", "question_id", "parent_id", "listed",
              "response_count", "created_at"),
        Index("ix_comment_parent", "parent_id", "listed", "created_at"),
        Index("ix_comment_author", "author_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id")
    question_id: int | None = Field(default=None, foreign_key="consultation_question.id")
    parent_id: int | None = Field(default=None, foreign_key="consultation_comment.id")
    depth: int = 1
    author_id: int = Field(foreign_key="user.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=CommentStatus.PUBLISHED, max_length=12)
    listed: bool = True  # status in LISTED_STATUSES (an indexable equality for the thread queries)
    route: str = Field(default="publish", max_length=12)  # moderation screening route
    moderation_decision: str = Field(default="", max_length=12)  # last moderator decision: approve / hide / redact
    created_at: datetime
    edited_at: datetime | None = None
    agree_count: int = 0
    disagree_count: int = 0
    pass_count: int = 0
    reply_count: int = 0  # listed direct replies
    response_count: int = 0  # published officials' responses to this comment
    report_count: int = 0
    source_ref: int | None = None  # the Polis comment-id for imported comments


class CommentEdit(SQLModel, table=True):
    """An earlier version of a comment: kept on every edit and on moderator redaction (for audit)."""

    __tablename__ = "consultation_comment_edit"

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="consultation_comment.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(default="edit", max_length=12)  # edit | redact
    edited_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime


class CommentVote(SQLModel, table=True):
    """A resident's current vote on a comment (one per resident per comment; changeable).

    Together with `CommentVoteEvent` this is the participant x comment vote matrix that opinion-group
    analysis reads: `SELECT user_id, comment_id, vote, created_at ... WHERE consultation_id = ?`.
    """

    __tablename__ = "consultation_vote"
    __table_args__ = (
        UniqueConstraint("comment_id", "user_id", name="uq_consultation_vote"),
        Index("ix_consultation_vote_matrix", "consultation_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id")
    comment_id: int = Field(foreign_key="consultation_comment.id")
    user_id: int = Field(foreign_key="user.id")
    vote: int  # 1 agree, -1 disagree, 0 pass (Polis encoding)
    created_at: datetime  # when this vote (its current value) was cast


class CommentVoteEvent(SQLModel, table=True):
    """Every vote ever cast, including ones later changed: the Polis-style vote log (votes.csv)."""

    __tablename__ = "consultation_vote_event"
    __table_args__ = (Index("ix_consultation_vote_event", "consultation_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id")
    comment_id: int = Field(foreign_key="consultation_comment.id")
    user_id: int = Field(foreign_key="user.id")
    vote: int
    created_at: datetime


class CommentReport(SQLModel, table=True):
    """A resident's report of a comment (one per resident per comment)."""

    __tablename__ = "consultation_comment_report"
    __table_args__ = (UniqueConstraint("comment_id", "reporter_id", name="uq_consultation_comment_report"),)

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="consultation_comment.id", index=True)
    reporter_id: int = Field(foreign_key="user.id")
    reason: str = Field(max_length=30)
    created_at: datetime


class OfficialResponse(SQLModel, table=True):
    """An official's typed answer to a comment, a question's thread or the general discussion."""

    __tablename__ = "consultation_response"
    __table_args__ = (
        Index("ix_consultation_response_thread", "consultation_id", "comment_id", "question_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id")
    comment_id: int | None = Field(default=None, foreign_key="consultation_comment.id")
    question_id: int | None = Field(default=None, foreign_key="consultation_question.id")
    author_id: int = Field(foreign_key="user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    decision: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    commitment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    follow_up_on: date | None = None
    status: str = Field(default=CommentStatus.PUBLISHED, max_length=12)
    route: str = Field(default="publish", max_length=12)
    created_at: datetime
    published_at: datetime | None = None  # first published (a held one: when a moderator cleared it); write-once


class Follower(SQLModel, table=True):
    """A resident who asked to be e-mailed officials' responses and the closing report."""

    __tablename__ = "consultation_follower"
    __table_args__ = (UniqueConstraint("consultation_id", "user_id", name="uq_consultation_follower"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime


class ParticipantArea(SQLModel, table=True):
    """The area a participant gave in a consultation (optional; one per participant per consultation, the latest
    wins). Only ever shown as counts per area, and small counts only as "fewer than 5"."""

    __tablename__ = "consultation_participant_area"
    __table_args__ = (UniqueConstraint("consultation_id", "user_id", name="uq_consultation_participant_area"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    area: str = Field(max_length=100)
    updated_at: datetime
