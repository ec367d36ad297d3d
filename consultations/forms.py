"""Parse and validate consultations' forms into data objects; field errors as {field: message}."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from app.i18n import gettext as _
from moderation import ReportReason

from .models import ResponseDecision, Vote

TITLE_MAX, SUMMARY_MAX, BODY_MAX, QUESTION_MAX, QUESTIONS_MAX = 200, 600, 50_000, 500, 20
RESPONSE_MAX, REPORT_MAX = 5_000, 50_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(form, name: str, limit: int = 100_000) -> str:
    """A form value as clean text: str only, CRLF normalised, control characters dropped, stripped."""
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()[:limit]


def optional_int(form, name: str) -> int | None:
    value = text(form, name, 20)
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class ConsultationData:
    title: str
    summary: str
    body: str
    department_id: int | None
    questions: tuple[str, ...]
    opens_on: date | None
    closes_on: date | None
    strict_mode: bool


def _date(value: str, field: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Enter a date like 2026-03-31.")
        return None


def parse_consultation_form(form) -> tuple[ConsultationData, dict[str, str]]:
    """Read the create/edit form; the body is sanitized later, in the service."""
    errors: dict[str, str] = {}
    title = text(form, "title", 1000)
    summary = text(form, "summary", 5000)
    body = text(form, "body", BODY_MAX + 1000)
    if not title:
        errors["title"] = _("Enter a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Use %(max)s characters or fewer for the title.", max=TITLE_MAX)
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = _("Use %(max)s characters or fewer for the summary.", max=SUMMARY_MAX)
    if not body:
        errors["body"] = _("Describe the proposal residents are asked about.")
    elif len(body) > BODY_MAX:
        errors["body"] = _("The proposal is too long. Use %(max)s characters or fewer.", max=BODY_MAX)
    questions = tuple(line.strip() for line in text(form, "questions", 50_000).split("\n") if line.strip())
    if len(questions) > QUESTIONS_MAX:
        errors["questions"] = _("Ask at most %(max)s questions.", max=QUESTIONS_MAX)
    elif any(len(q) > QUESTION_MAX for q in questions):
        errors["questions"] = _("Keep each question to %(max)s characters or fewer.", max=QUESTION_MAX)
    opens_on = _date(text(form, "opens_on", 20), "opens_on", errors)
    closes_on = _date(text(form, "closes_on", 20), "closes_on", errors)
    if opens_on and closes_on and closes_on < opens_on:
        errors["closes_on"] = _("The closing date must be on or after the opening date.")
    data = ConsultationData(
        title=title, summary=summary, body=body, department_id=optional_int(form, "department_id"),
        questions=questions, opens_on=opens_on, closes_on=closes_on,
        strict_mode=text(form, "strict_mode", 10) == "yes",
    )
    return data, errors


def day_start(value: date | None) -> datetime | None:
    return datetime.combine(value, time(0, 0), tzinfo=UTC) if value else None


def day_end(value: date | None) -> datetime | None:
    return datetime.combine(value, time(23, 59, 59), tzinfo=UTC) if value else None


def check_comment_body(body: str, max_length: int) -> dict[str, str]:
    """Errors for a comment's text (empty or longer than the configured limit)."""
    if not body:
        return {"body": _("Write your comment before posting it.")}
    if len(body) > max_length:
        return {"body": _("Your comment is %(length)s characters long. Shorten it to %(max)s characters or fewer.",
                          length=len(body), max=max_length)}
    return {}


def parse_vote(value: str) -> Vote | None:
    try:
        return Vote(value)
    except ValueError:
        return None


# Values an earlier report form posted (a page open in a browser since then still sends them).
_LEGACY_REASONS = {"abusive": ReportReason.ABUSE, "personal_information": ReportReason.PERSONAL_INFORMATION,
                   "off_topic": ReportReason.OFF_TOPIC}


def parse_reason(value: str) -> ReportReason | None:
    """A report reason in moderation's vocabulary (which consultations store and send as it is)."""
    if value in _LEGACY_REASONS:
        return _LEGACY_REASONS[value]
    try:
        return ReportReason(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class ResponseData:
    decision: str
    text: str
    commitment: str
    follow_up_on: date | None


def check_response(data: ResponseData) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.decision not in {d.value for d in ResponseDecision}:
        errors["decision"] = _("Choose what the department will do.")
    if not data.text:
        errors["text"] = _("Write the response residents will read.")
    elif len(data.text) > RESPONSE_MAX:
        errors["text"] = _("Use %(max)s characters or fewer.", max=RESPONSE_MAX)
    if len(data.commitment) > RESPONSE_MAX:
        errors["commitment"] = _("Use %(max)s characters or fewer.", max=RESPONSE_MAX)
    return errors


def parse_response_form(form) -> tuple[ResponseData, dict[str, str]]:
    errors: dict[str, str] = {}
    follow_up_on = _date(text(form, "follow_up_on", 20), "follow_up_on", errors)
    data = ResponseData(decision=text(form, "decision", 40), text=text(form, "text", RESPONSE_MAX + 100),
                        commitment=text(form, "commitment", RESPONSE_MAX + 100), follow_up_on=follow_up_on)
    errors.update(check_response(data))
    return data, errors
