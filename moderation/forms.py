"""Parse and validate moderators' form input into data objects; field errors as {field: message}."""
from __future__ import annotations

from dataclasses import dataclass

from app.errors import ValidationFailed
from app.i18n import gettext as _
from moderation.contract import Decision
from moderation.models import CaseReason
from moderation.service import DecisionInput


def parse_decision(form) -> tuple[DecisionInput, dict]:
    """A DecisionInput and the raw values (to re-render the form on errors).

    Raises:
        ValidationFailed: unknown decision or a block period that is not a whole number.
    """
    values = {
        "decision": str(form.get("decision", "")).strip(),
        "reason": str(form.get("reason", "")).strip(),
        "passages": str(form.get("passages", ""))[:20000],
        "block_days": str(form.get("block_days", "0")).strip() or "0",
        "note": str(form.get("note", ""))[:4000],
    }
    errors = {}
    try:
        decision = Decision(values["decision"])
    except ValueError:
        decision = None
        errors["decision"] = _("Choose approve, hide or redact.")
    try:
        block_days = int(values["block_days"])
    except ValueError:
        block_days = 0
        errors["block_days"] = _("Enter a whole number of days, or 0 for no block.")
    if errors:
        raise ValidationFailed(errors)
    assert decision is not None  # else errors["decision"] was set above
    passages = tuple(line.strip("\r") for line in values["passages"].split("\n") if line.strip())
    return DecisionInput(decision=decision, reason_code=values["reason"], passages=passages,
                         block_days=block_days, note=values["note"].strip()), values


@dataclass(frozen=True)
class QueueFilters:
    kind: str = ""
    language: str = ""
    route: str = ""
    reason: str = ""
    consultation: int | None = None


def parse_filters(params) -> QueueFilters:
    """Queue filters from the query string; unknown values are ignored (the queue shows everything)."""
    def pick(name: str, allowed: set[str]) -> str:
        value = str(params.get(name, "") or "")[:40]
        return value if value in allowed else ""

    consultation = str(params.get("consultation", "") or "")
    return QueueFilters(
        kind=pick("kind", {"petition", "comment", "response"}),
        language=pick("language", {"en", "zh", "other"}),
        route=pick("route", {"publish", "review", "hold"}),
        reason=pick("reason", {str(r) for r in CaseReason}),
        consultation=int(consultation) if consultation.isdigit() and len(consultation) < 12 else None,
    )
