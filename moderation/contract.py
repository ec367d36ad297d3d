"""The value types of the moderation facade: what other domains pass in and get back, and the settings.

A leaf module: `moderation.service` and `moderation.policy` use these types without importing the facade, so the
facade depends on the service and never the other way round. Other domains import them from `moderation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
    no_model_route: str = "review"
    """Where items go while no abuse model is usable: `review` (publish and queue every item) or `hold` (hold every item)."""
    claim_minutes: int = 15
    """Minutes a moderator's claim on a queue item lasts; other moderators see it as taken meanwhile."""
    appeal_days: int = 14
    """Days an author has to use the single-use appeal link e-mailed with a decision."""
    max_block_days: int = 365
    """Longest period a moderator may block an author for."""
    group_similarity: float = 0.8
    """Similarity (0-1) at which queue items count as near-duplicates and are shown as one group."""
    queue_limit: int = 500
    """Most open items the queue page considers at once (highest priority first)."""
    review_recall: float = 0.85
    """Share of abusive posts the review route must catch on the model's validation data; its threshold is chosen for it (used when `review_threshold` is -1)."""
    hold_precision: float = 0.9
    """Precision the hold route must reach on validation data at `expected_prevalence` (used when `hold_threshold` is -1)."""
    expected_prevalence: float = 0.05
    """Share of abusive posts assumed on this platform when choosing the hold threshold (validation corpora are 26-85 % abusive)."""
    held_categories: tuple[str, ...] = ("threat", "intimidation")
    """Categories held for a moderator whatever the score (comma-separated; of threat, intimidation, selfharm, sexual, hate, insult)."""


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
    explanation: tuple[tuple[str, float, str], ...] = ()   # (term, weight, category or "")
    language: str = ""             # "en" | "zh" | "other" (from the classifier's language detection)
    reason: str = ""               # why this route: e.g. "score 0.91 >= hold threshold 0.90", "strict mode ..."
    category: str = ""             # top abuse category matched (threat, intimidation, selfharm, sexual, hate, insult)

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
