"""The moderation domain's public facade: the only moderation API petitions and consultations may use.

Contract (kept stable; the implementation behind it grows):
- `screen_content(session, ref)` scores a new item and returns its route (publish / review / hold);
- `report_content(session, ref, reporter_id=..., reason=...)` records a resident's report;
- `latest_score(session, kind, item_id)` returns the stored score for display;
- `ModerationDecided` is published on the event bus when a moderator decides an item, in the same
  transaction, so the owning domain can hide, redact or restore it.
Moderation imports neither petitions nor consultations.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session


class Route(StrEnum):
    PUBLISH = "publish"      # show now
    REVIEW = "review"        # show now, and queue for a moderator to look at
    HOLD = "hold"            # hide until a moderator clears it


class Decision(StrEnum):
    APPROVE = "approve"
    HIDE = "hide"
    REDACT = "redact"


@dataclass(frozen=True)
class ModerationSettings:
    """Moderation settings (CIVIC_MODERATION_*)."""

    review_threshold: float = -1.0
    """Score at or above which an item is published and queued for review; -1 uses the model's validated threshold."""
    hold_threshold: float = -1.0
    """Score at or above which an item is held until a moderator clears it; -1 uses the model's validated threshold."""
    report_threshold: int = 3
    """Resident reports that hide an item pending review."""
    sla_hours: int = 24
    """Hours an item may wait in the queue before it shows as overdue."""


@dataclass(frozen=True)
class ContentRef:
    """An item another domain asks moderation about."""

    kind: str                     # "petition" | "comment" | "response" | ...
    item_id: int
    text: str
    author_id: int | None = None
    context_id: int | None = None  # e.g. the consultation id, for queue filters and strict mode
    context_title: str = ""
    url: str = ""                  # where a moderator can see it in place
    reach: int = 0                 # signatures, votes or views: orders the queue
    strict: bool = False           # per-consultation strict mode: hold everything


@dataclass(frozen=True)
class Screening:
    """What moderation decided to do with a new item, and why."""

    route: Route
    score: float | None
    model_version: str
    explanation: tuple[tuple[str, float], ...] = ()

    @property
    def visible(self) -> bool:
        return self.route != Route.HOLD


@dataclass(frozen=True)
class ReportOutcome:
    report_count: int
    hide: bool                     # the threshold was reached: the owning domain hides the item pending review


@dataclass(frozen=True)
class ModerationDecided:
    """A moderator decided an item. Published in the deciding transaction; owners update their item."""

    kind: str
    item_id: int
    decision: Decision
    reason_code: str
    redacted_text: str | None = None
    author_id: int | None = None
    extra: dict = field(default_factory=dict)


def build_services(settings, moderation_settings: ModerationSettings) -> dict:
    """Shared objects the facade needs inside units of work (e.g. the classifier), keyed by name."""
    return {}


def on_startup(ctx, *, enqueue_training: bool) -> None:
    """Called once when an app process starts (e.g. to queue first-start model training)."""


def screen_content(session: Session, ref: ContentRef) -> Screening:
    """Score a new item and route it. Until the pipeline is installed everything is published."""
    if ref.strict:
        return Screening(route=Route.HOLD, score=None, model_version="none")
    return Screening(route=Route.PUBLISH, score=None, model_version="none")


def report_content(session: Session, ref: ContentRef, *, reporter_id: int, reason: str) -> ReportOutcome:
    """Record a resident's report of an item; tells the owner to hide it once the threshold is reached."""
    return ReportOutcome(report_count=1, hide=False)


def latest_score(session: Session, kind: str, item_id: int) -> Screening | None:
    """The stored screening of an item, for display beside it (None when never screened)."""
    return None
