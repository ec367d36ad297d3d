"""Routing policy and reason codes: pure functions and data, no database.

`route_for(probability, thresholds, strict=..., no_model_route=...)` maps a score to publish / review / hold.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.i18n import lazy_gettext
from moderation.facade import Route


@dataclass(frozen=True)
class Thresholds:
    review: float
    hold: float


@dataclass(frozen=True)
class RouteChoice:
    route: Route
    reason: str        # a CaseReason value ("model", "strict", "no-model") or "" for a clean publish
    detail: str        # a short English explanation stored with the item (for moderators and logs)


def effective_thresholds(settings, model_thresholds: dict | None) -> Thresholds:
    """Thresholds from settings when set (>= 0), otherwise the model's validated ones; hold never below review."""
    model_thresholds = model_thresholds or {}
    review = settings.review_threshold if settings.review_threshold >= 0 else float(model_thresholds.get("review", 0.5))
    hold = settings.hold_threshold if settings.hold_threshold >= 0 else float(model_thresholds.get("hold", 0.9))
    review = min(max(review, 0.0), 1.0)
    hold = min(max(hold, review), 1.0)
    return Thresholds(review=review, hold=hold)


def route_for(probability: float | None, thresholds: Thresholds, *, strict: bool = False,
              no_model_route: str = "review", no_model_reason: str = "") -> RouteChoice:
    """Decide where a new item goes. Strict mode holds everything; no score queues everything for humans."""
    if strict:
        return RouteChoice(Route.HOLD, "strict", "strict mode: every item is held for a moderator")
    if probability is None:
        route = Route.HOLD if no_model_route == "hold" else Route.REVIEW
        detail = "no usable abuse model; a moderator looks at every item"
        if no_model_reason:
            detail += f" ({no_model_reason})"
        return RouteChoice(route, "no-model", detail[:300])
    if probability >= thresholds.hold:
        return RouteChoice(Route.HOLD, "model", f"score {probability:.3f} >= hold threshold {thresholds.hold:.3f}")
    if probability >= thresholds.review:
        return RouteChoice(Route.REVIEW, "model", f"score {probability:.3f} >= review threshold {thresholds.review:.3f}")
    return RouteChoice(Route.PUBLISH, "", f"score {probability:.3f} below review threshold {thresholds.review:.3f}")


def queue_priority(score: float | None, reach: int, report_count: int = 0) -> float:
    """Queue order: score times reach (an unscored item counts as 0.5; reports add weight)."""
    s = 0.5 if score is None else float(score)
    return s * (1 + max(0, reach)) + report_count


@dataclass(frozen=True)
class Reason:
    """A coded decision reason (data, not free text): shown to authors, in the public log and the audit log."""

    code: str
    title: object
    description: object


REASONS: tuple[Reason, ...] = (
    Reason("spam", lazy_gettext("Spam or advertising"), lazy_gettext("Commercial promotion, repeated posting or link farming.")),
    Reason("abuse", lazy_gettext("Abusive language"), lazy_gettext("Insults, profanity aimed at people, or threats.")),
    Reason("hate", lazy_gettext("Hate speech"), lazy_gettext("Attacks on people because of a protected characteristic.")),
    Reason("harassment", lazy_gettext("Harassment"), lazy_gettext("Targeting, intimidating or repeatedly attacking a person.")),
    Reason("personal-information", lazy_gettext("Personal information"),
           lazy_gettext("Names, addresses, phone numbers or other details that identify a private person.")),
    Reason("off-topic", lazy_gettext("Off-topic"), lazy_gettext("Not about the petition or consultation it was posted to.")),
    Reason("other", lazy_gettext("Other"), lazy_gettext("Breaks the house rules in another way; the moderator's note explains.")),
)
REASONS_BY_CODE = {r.code: r for r in REASONS}
APPROVED_CODE = "acceptable"

QUEUE_REASON_LABELS = {
    "model": lazy_gettext("Model score"),
    "strict": lazy_gettext("Strict mode"),
    "no-model": lazy_gettext("No model"),
    "report": lazy_gettext("Reports"),
    "appeal": lazy_gettext("Appeal"),
}

KIND_LABELS = {
    "petition": lazy_gettext("Petition"),
    "comment": lazy_gettext("Comment"),
    "response": lazy_gettext("Response"),
}

ROUTE_LABELS = {
    "publish": lazy_gettext("Published"),
    "review": lazy_gettext("Published, queued for review"),
    "hold": lazy_gettext("Held"),
}

DECISION_LABELS = {
    "approve": lazy_gettext("Approved"),
    "hide": lazy_gettext("Hidden"),
    "redact": lazy_gettext("Redacted"),
}

LANGUAGE_LABELS = {
    "en": lazy_gettext("English"),
    "zh": lazy_gettext("Chinese"),
    "other": lazy_gettext("Other languages"),
}


def reason_title(code: str) -> str:
    if code == APPROVED_CODE:
        return str(lazy_gettext("Acceptable"))
    reason = REASONS_BY_CODE.get(code)
    return str(reason.title) if reason else code


def label_for(decision: str) -> int:
    """A decision as a training label: hide and redact mean the text needed action (1); approve means it was fine (0)."""
    return 0 if decision == "approve" else 1
