"""Feedback-analysis tables: analysis runs per subject, their themes, and officials' theme edits.

A subject is an item set of another domain, referenced by (subject_kind, subject_id), e.g.
("consultation", 12); items inside it are referenced by their ids in that domain, never by foreign key.
JSON columns are Text holding JSON. Nothing here stores a participant's identity: the opinion map keeps
anonymous coordinates only.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class RunStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"


class EditKind(StrEnum):
    RENAME = "rename"
    MERGE = "merge"
    SPLIT = "split"


class AnalysisRun(SQLModel, table=True):
    """One analysis of a subject's items and votes (themes, campaigns, opinion groups)."""

    __tablename__ = "analysis_run"
    __table_args__ = (Index("ix_analysis_run_subject", "subject_kind", "subject_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=30)
    subject_id: int
    status: str = Field(default=RunStatus.DONE, max_length=10)
    version: str = Field(default="", max_length=40)  # model/params version of the analysis
    started_at: datetime
    finished_at: datetime | None = None
    n_items: int = 0  # non-empty items analysed at run time
    n_votes: int = 0  # votes analysed at run time
    n_participants: int = 0
    theme_note: str = Field(default="", max_length=20)  # a code for trivial inputs (see api.THEME_NOTES)
    trend_bucket: str = Field(default="", max_length=10)
    campaigns: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    opinions: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class AnalysisTheme(SQLModel, table=True):
    """A theme of one run. `key` is stable across runs of a subject when the membership mostly stays."""

    __tablename__ = "analysis_theme"
    __table_args__ = (Index("ix_analysis_theme_run", "run_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="analysis_run.id")
    key: int
    position: int = 0
    label: str = Field(default="", max_length=200)
    auto_label: str = Field(default="", max_length=200)
    renamed: bool = False
    origin: str = Field(default="auto", max_length=10)  # auto | merged | split
    terms: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    size: int = 0
    share: float = 0.0
    distinct: int = 0
    members: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    representatives: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    agree: int = 0
    disagree: int = 0
    trend: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))


class ThemeEdit(SQLModel, table=True):
    """An official's rename, merge or split, keyed on theme membership so it is re-applied after re-runs.

    `members` is JSON: for rename and split the member item ids of the theme edited; for merge a list of the
    merged themes' member id lists. Each re-run updates it to the matching themes' new members.
    """

    __tablename__ = "analysis_theme_edit"
    __table_args__ = (Index("ix_analysis_theme_edit_subject", "subject_kind", "subject_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=30)
    subject_id: int
    kind: str = Field(max_length=10)
    label: str = Field(default="", max_length=200)
    members: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime
