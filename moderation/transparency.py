"""The public moderation transparency report (in the spirit of the EU Digital Services Act), per calendar month.

Every figure is counted from recorded rows, never from names or texts, so the report holds no personal data:

- **screened**: items whose screening in the month was scored by the model (`ModerationItem.screened_at`, with a
  score). An item holds its latest screening only, so an item edited and screened again counts in the month of
  its last screening.
- **sent to review**: queue cases opened in the month (`ModerationCase.opened_at`), appeals left out (they are
  counted as appeals).
- **held**: items screened in the month that were routed to `hold` (hidden until a moderator looks), the only
  action the system takes on its own. These are the **automatic decisions**; the model never removes anything.
- **human decisions**: moderators' decision records in the month (`ModerationDecision`, appeals included), plus
  queue cases closed in the owning domain's own workflow (a petition approved or rejected on its moderation page),
  which leave no decision record. Decisions by reason, by kind of item and by outcome count the decision records.
- **median hours to decision**: over the cases a person decided in the month, from the case's opening (the
  screening or report that queued it) to its decision.
- **appeals**: made in the month (`ModerationAppeal.created_at`); decided, upheld (the decision stands) and
  overturned in the month (`ModerationAppeal.decided_at`).
- **model precision and recall** per language, over the month's first decisions (appeals left out) on items the
  model scored: precision = removed and flagged / flagged, recall = removed and flagged / removed, where flagged
  is a score at or above the review threshold and removed is hide or redact (the same confusion as the
  moderators' model quality page).

Months are calendar months in UTC. Read-only; returns view objects.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.clock import as_utc as _aware
from app.errors import N_, ValidationFailed
from moderation.models import CaseReason, CaseState, ModerationAppeal, ModerationCase, ModerationDecision, ModerationItem
from moderation.queries import QualityRow

# Also the OpenAPI pattern of the `month` parameter: a value it allows is never refused.
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
LANGUAGES = ("en", "zh")   # always reported, even without decisions; other languages when they have some
TREND_MONTHS = 12


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def end(self) -> datetime:
        return self.shift(1).start


def parse_month(text: str) -> Month | None:
    """The `month` parameter: empty for the default (last month and this month), else YYYY-MM (1900 to 2099).

    Raises: ValidationFailed (422) with a message that says what to send instead.
    """
    text = (text or "").strip()
    if not text:
        return None
    if not re.fullmatch(MONTH_PATTERN, text):
        raise ValidationFailed({"month": "invalid"}, message=N_(
            "The month must be written as YYYY-MM, for example 2026-03 (a year from 1900 to 2099)."))
    return Month(int(text[:4]), int(text[5:]))


def default_months(now: datetime) -> tuple[Month, Month]:
    """The last complete month and the current month (to date)."""
    current = Month(now.year, now.month)
    return current.shift(-1), current


@dataclass(frozen=True)
class Count:
    key: str
    count: int


@dataclass(frozen=True)
class MonthReport:
    month: str                     # YYYY-MM
    status: str                    # "complete" | "to-date" (the current month) | "future" (not begun)
    screened: int
    reviewed: int
    held: int                      # automatic holds: the automatic decisions
    decisions: int                 # moderators' decision records, appeals included
    workflow_closures: int         # cases closed on the owning domain's page (no decision record)
    by_reason: tuple[Count, ...]   # decision records per reason code, most first
    by_kind: tuple[Count, ...]     # decision records per kind of item
    by_outcome: tuple[Count, ...]  # decision records per outcome (approve, hide, redact)
    median_hours: float | None     # case opened -> decided, cases a person decided
    appeals_made: int
    appeals_decided: int
    appeals_upheld: int
    quality: tuple[QualityRow, ...]   # per language: the model's flag against the moderators' decisions

    @property
    def human_decisions(self) -> int:
        return self.decisions + self.workflow_closures

    @property
    def appeals_overturned(self) -> int:
        return self.appeals_decided - self.appeals_upheld


@dataclass(frozen=True)
class TrendPoint:
    month: str
    screened: int
    reviewed: int
    held: int


@dataclass(frozen=True)
class TransparencyReport:
    months: tuple[MonthReport, ...]   # oldest first
    trend: tuple[TrendPoint, ...]     # the 12 months ending with the last month shown, oldest first
    chosen: str                       # the month asked for, "" for the default


def _counts(values) -> tuple[Count, ...]:
    return tuple(Count(k, n) for k, n in sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def _quality(rows, month: str) -> tuple[QualityRow, ...]:
    cells: dict[str, list[int]] = {lang: [0, 0, 0, 0] for lang in LANGUAGES}
    for language, flagged, label in rows:
        c = cells.setdefault(language or "other", [0, 0, 0, 0])
        c[0 if flagged and label else 1 if flagged else 2 if label else 3] += 1
    return tuple(QualityRow(month, lang, sum(c), *c) for lang, c in cells.items())


def month_report(session: Session, month: Month, *, now: datetime) -> MonthReport:
    """The figures for one calendar month (up to `now` for the current one)."""
    lo, hi = month.start, min(month.end, now)
    status = "future" if lo > now else "to-date" if month.end > now else "complete"
    items = session.exec(select(ModerationItem.route).where(
        ModerationItem.screened_at >= lo, ModerationItem.screened_at < hi,
        col(ModerationItem.score).is_not(None))).all()
    reviewed = session.exec(select(func.count()).select_from(ModerationCase).where(
        ModerationCase.opened_at >= lo, ModerationCase.opened_at < hi, ModerationCase.reason != CaseReason.APPEAL)).one()
    # sqlmodel's select() is typed for at most four columns; these seven are all plain columns
    decisions = session.exec(select(ModerationDecision.reason_code,  # type: ignore[call-overload]
                                    ModerationDecision.kind, ModerationDecision.decision,
                                    ModerationDecision.is_appeal, ModerationDecision.language,
                                    ModerationDecision.model_flagged, ModerationDecision.label)
                             .where(ModerationDecision.decided_at >= lo, ModerationDecision.decided_at < hi)).all()
    cases = session.exec(select(ModerationCase.id, ModerationCase.opened_at, ModerationCase.decided_at).where(
        ModerationCase.state == CaseState.DECIDED, col(ModerationCase.decided_by).is_not(None),
        col(ModerationCase.decided_at) >= lo, col(ModerationCase.decided_at) < hi)).all()
    recorded = set(session.exec(select(ModerationDecision.case_id).where(
        col(ModerationDecision.case_id).in_([c[0] for c in cases] or [-1]))).all())
    hours = [(_aware(decided) - _aware(opened)).total_seconds() / 3600 for _id, opened, decided in cases
             if decided is not None]  # all of them: the query keeps decided cases only
    made = session.exec(select(func.count()).select_from(ModerationAppeal).where(
        ModerationAppeal.created_at >= lo, ModerationAppeal.created_at < hi)).one()
    outcomes = session.exec(select(ModerationAppeal.outcome).where(
        col(ModerationAppeal.decided_at) >= lo, col(ModerationAppeal.decided_at) < hi,
        ModerationAppeal.outcome != "")).all()
    return MonthReport(
        month=month.code, status=status, screened=len(items), reviewed=int(reviewed),
        held=sum(1 for route in items if route == "hold"), decisions=len(decisions),
        workflow_closures=sum(1 for c in cases if c[0] not in recorded),
        by_reason=_counts(d[0] for d in decisions), by_kind=_counts(d[1] for d in decisions),
        by_outcome=_counts(d[2] for d in decisions),
        median_hours=round(statistics.median(hours), 1) if hours else None,
        appeals_made=int(made), appeals_decided=len(outcomes), appeals_upheld=sum(1 for o in outcomes if o == "upheld"),
        quality=_quality([(d[4], d[5], d[6]) for d in decisions if not d[3] and d[5] is not None], month.code))


def trend(session: Session, last: Month, *, now: datetime, months: int = TREND_MONTHS) -> tuple[TrendPoint, ...]:
    """Screened, sent to review and held per month, for the `months` months ending with `last`."""
    first = last.shift(1 - months)
    lo, hi = first.start, min(last.end, now)
    codes = [first.shift(i).code for i in range(months)]
    screened: Counter = Counter()
    held: Counter = Counter()
    for at, route in session.exec(select(ModerationItem.screened_at, ModerationItem.route).where(
            ModerationItem.screened_at >= lo, ModerationItem.screened_at < hi,
            col(ModerationItem.score).is_not(None))):
        code = _aware(at).strftime("%Y-%m")
        screened[code] += 1
        held[code] += route == "hold"
    reviewed = Counter(_aware(at).strftime("%Y-%m") for at in session.exec(select(ModerationCase.opened_at).where(
        ModerationCase.opened_at >= lo, ModerationCase.opened_at < hi, ModerationCase.reason != CaseReason.APPEAL)))
    return tuple(TrendPoint(code, screened[code], reviewed[code], held[code]) for code in codes)


def transparency_report(session: Session, *, month: Month | None, now: datetime) -> TransparencyReport:
    """One month's report, or (month None) the last complete month and the current month to date."""
    months = (month,) if month is not None else default_months(now)
    return TransparencyReport(months=tuple(month_report(session, m, now=now) for m in months),
                              trend=trend(session, months[-1], now=now), chosen=month.code if month else "")
