"""Routing policy and reason codes: pure functions and data, no database.

`route_for(probability, thresholds, strict=..., no_model_route=...)` maps a score to publish / review / hold.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.i18n import lazy_gettext
from moderation.classifier.rules import RULE_ONLY
from moderation.contract import Route
from moderation.models import CaseReason


@dataclass(frozen=True)
class Thresholds:
    review: float
    hold: float


@dataclass(frozen=True)
class RouteChoice:
    route: Route
    reason: str        # a CaseReason (MODEL, CATEGORY, STRICT, NO_MODEL) or "" for a clean publish
    detail: str        # a short English explanation stored with the item (for moderators and logs)


# Categories that come from patterns alone (no labelled corpus): a match sends the item to a moderator at
# least, whatever the model's score. Insults and group hate are learnt and route by score.
RULE_ONLY_CATEGORIES = RULE_ONLY


def model_operating_points(settings, classifier) -> dict:
    """The model's thresholds for the configured targets (re-chosen from its stored validation scores)."""
    points = getattr(classifier, "operating_points", None)
    if callable(points):
        try:
            return points(review_recall=settings.review_recall, hold_precision=settings.hold_precision,
                          prevalence=settings.expected_prevalence)
        except Exception:  # noqa: BLE001 - fall back to the thresholds saved with the model
            pass
    return dict(getattr(classifier, "thresholds", None) or {})


def effective_thresholds(settings, model_thresholds: dict | None, language: str = "") -> Thresholds:
    """Thresholds from settings when set (>= 0), otherwise the model's validated ones for the post's language
    (English's for other languages, which the English head scores); hold never below review."""
    model_thresholds = model_thresholds or {}
    lang = "zh" if language == "zh" else "en"
    model_review = model_thresholds.get(f"review:{lang}", model_thresholds.get("review", 0.5))
    model_hold = model_thresholds.get(f"hold:{lang}", model_thresholds.get("hold", 0.9))
    review = settings.review_threshold if settings.review_threshold >= 0 else float(model_review)
    hold = settings.hold_threshold if settings.hold_threshold >= 0 else float(model_hold)
    review = min(max(review, 0.0), 1.0)
    hold = min(max(hold, review), 1.0)
    return Thresholds(review=review, hold=hold)


def router(settings, classifier):
    """`route_of(score, category, language)` -> "publish" | "review" | "hold", as a new post with that score is
    routed (strict mode aside): for batch scoring, the bench and the model page."""
    points = model_operating_points(settings, classifier)
    held = tuple(settings.held_categories)

    def route_of(score: float | None, category: str, language: str) -> str:
        thresholds = effective_thresholds(settings, points, language)
        return route_for(score, thresholds, no_model_route=settings.no_model_route, category=category,
                         held_categories=held).route.value

    return route_of


def route_for(probability: float | None, thresholds: Thresholds, *, strict: bool = False,
              no_model_route: str = "review", no_model_reason: str = "", category: str = "",
              held_categories: tuple[str, ...] = ("threat", "intimidation"), matched: str = "") -> RouteChoice:
    """Decide where a new item goes. Strict mode holds everything; a held category (threats, intimidation by
    default) is held whatever the score; a rule-only category goes to review at least; no score queues
    everything for humans; otherwise the score decides."""
    if strict:
        return RouteChoice(Route.HOLD, CaseReason.STRICT, "strict mode: every item is held for a moderator")
    shown = f" ({matched})" if matched else ""
    if category and category in held_categories:
        return RouteChoice(Route.HOLD, CaseReason.CATEGORY, f"category {category}{shown} is held for a moderator"[:300])
    if probability is None:
        route = Route.HOLD if no_model_route == "hold" else Route.REVIEW
        if category:
            shown = f"{shown}; " if shown else " "
            no_model_reason = f"category {category}{shown}{no_model_reason}".strip()
        detail = "no usable abuse model; a moderator looks at every item"
        if no_model_reason:
            detail += f" ({no_model_reason})"
        return RouteChoice(route, CaseReason.NO_MODEL, detail[:300])
    if probability >= thresholds.hold:
        return RouteChoice(Route.HOLD, CaseReason.MODEL, f"score {probability:.3f} >= hold threshold {thresholds.hold:.3f}")
    if probability >= thresholds.review:
        return RouteChoice(Route.REVIEW, CaseReason.MODEL, f"score {probability:.3f} >= review threshold {thresholds.review:.3f}")
    if category in RULE_ONLY_CATEGORIES:
        return RouteChoice(Route.REVIEW, CaseReason.CATEGORY, f"category {category}{shown} is reviewed whatever the score"[:300])
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
    CaseReason.MODEL: lazy_gettext("Model score"),
    CaseReason.CATEGORY: lazy_gettext("Abuse category"),
    CaseReason.STRICT: lazy_gettext("Strict mode"),
    CaseReason.NO_MODEL: lazy_gettext("No model"),
    CaseReason.REPORT: lazy_gettext("Reports"),
    CaseReason.APPEAL: lazy_gettext("Appeal"),
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

CATEGORY_LABELS = {
    "threat": lazy_gettext("Threats and wishes of harm"),
    "intimidation": lazy_gettext("Intimidation and doxxing"),
    "selfharm": lazy_gettext("Encouraging self-harm"),
    "sexual": lazy_gettext("Sexual harassment"),
    "hate": lazy_gettext("Hateful attacks on a group"),
    "insult": lazy_gettext("Insults and profanity aimed at a person"),
    "": lazy_gettext("Model terms"),
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
