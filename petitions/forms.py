"""Parse and validate petition forms into data objects; field errors as {field: message}."""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from app.csv_export import FORMULA_START
from app.emails import is_valid_email
from app.errors import ValidationFailed
from app.i18n import gettext as _

from .models import ResponseDecision

ACTION_MAX, BACKGROUND_MAX, DETAILS_MAX, NAME_MAX = 80, 300, 800, 100
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(form, name: str, limit: int = 20_000) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()[:limit]


# Bidirectional overrides and isolates, and zero-width characters other than the joiners some scripts need.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _name(form, name: str = "name", limit: int = 400) -> str:
    """A person's name on one line: control characters (newlines and tabs too) and invisible direction marks
    removed, runs of spaces made one. Names are mailed and shown to staff: they carry no layout and no tricks."""
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return " ".join(_INVISIBLE.sub("", value).split())[:limit]


def _check_name(name: str, errors: dict) -> None:
    if not name:
        errors["name"] = _("Enter your name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Your name must be %(max)s characters or fewer.", max=NAME_MAX)
    elif name.startswith(FORMULA_START):
        errors["name"] = _("Your name can't start with =, +, - or @. Enter it as you would write it.")


def _check_email(email: str, errors: dict) -> None:
    if not email:
        errors["email"] = _("Enter your email address.")
    elif not is_valid_email(email):
        errors["email"] = _("Enter an email address like name@example.com.")


def resolve_area(value: str, areas: tuple[str, ...], postcode_areas: tuple[str, ...]) -> str | None:
    """The area a 'postcode or area' answer belongs to, or None when it is neither."""
    cleaned = " ".join(value.split())
    for area in areas:
        if area.lower() == cleaned.lower():
            return area
    match = _POSTCODE.match(cleaned.upper())
    if not match:
        return None
    outward = match.group(1)
    mapping = {}
    for item in postcode_areas:
        prefix, _, area = item.partition("=")
        if prefix.strip() and area.strip():
            mapping[prefix.strip().upper()] = area.strip()
    for prefix in sorted(mapping, key=len, reverse=True):
        if outward.startswith(prefix):
            return mapping[prefix]
    return outward


@dataclass(frozen=True)
class SignatureInput:
    name: str
    email: str
    area: str
    notify: bool


def sign_values(form) -> dict:
    return {"name": _name(form), "email": _text(form, "email", 400),
            "area": _text(form, "area", 200), "notify": bool(form.get("notify"))}


def parse_signature(values: dict, *, areas: tuple[str, ...], postcode_areas: tuple[str, ...] = ()) -> SignatureInput:
    """Raises ValidationFailed with a message per bad field."""
    errors: dict[str, str] = {}
    _check_name(values["name"], errors)
    _check_email(values["email"], errors)
    area = None
    if not values["area"]:
        errors["area"] = _("Enter your postcode or choose your area.")
    else:
        area = resolve_area(values["area"], areas, postcode_areas)
        if area is None:
            errors["area"] = _("Enter a postcode like SW1A 1AA, or choose one of the listed areas.")
    if errors:
        raise ValidationFailed(errors)
    return SignatureInput(name=values["name"], email=values["email"], area=area or "", notify=values["notify"])


@dataclass(frozen=True)
class PetitionInput:
    action: str
    background: str
    details: str
    signer: SignatureInput


def start_values(form) -> dict:
    values = sign_values(form)
    values.update(action=_text(form, "action", 2000), background=_text(form, "background", 5000),
                  details=_text(form, "details", 10000))
    return values


def parse_petition(values: dict, *, areas: tuple[str, ...], postcode_areas: tuple[str, ...] = ()) -> PetitionInput:
    errors: dict[str, str] = {}
    action = " ".join(values["action"].split())
    if not action:
        errors["action"] = _("Enter what you want to be done.")
    elif len(action) > ACTION_MAX:
        errors["action"] = _("The action must be %(max)s characters or fewer (you have %(count)s).",
                             max=ACTION_MAX, count=len(action))
    if not values["background"]:
        errors["background"] = _("Enter the background: why this should be done.")
    elif len(values["background"]) > BACKGROUND_MAX:
        errors["background"] = _("The background must be %(max)s characters or fewer (you have %(count)s).",
                                 max=BACKGROUND_MAX, count=len(values["background"]))
    if len(values["details"]) > DETAILS_MAX:
        errors["details"] = _("The details must be %(max)s characters or fewer (you have %(count)s).",
                              max=DETAILS_MAX, count=len(values["details"]))
    signer = None
    try:
        signer = parse_signature(values, areas=areas, postcode_areas=postcode_areas)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert signer is not None  # parse_signature returned, or its errors were raised above
    return PetitionInput(action=action, background=values["background"], details=values["details"], signer=signer)


@dataclass(frozen=True)
class ResponseInput:
    summary: str
    details: str
    decision: str
    follow_up_on: date | None


def _parse_date(raw: str, field: str, errors: dict, *, required: bool) -> date | None:
    if not raw:
        if required:
            errors[field] = _("Enter a date.")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("Enter a date like 2027-03-31.")
        return None


def parse_response(form) -> tuple[dict, ResponseInput]:
    values = {"summary": _text(form, "summary", 2000), "details": _text(form, "details", 50_000),
              "decision": _text(form, "decision", 40), "follow_up_on": _text(form, "follow_up_on", 20)}
    errors: dict[str, str] = {}
    if not values["summary"]:
        errors["summary"] = _("Enter a summary of the response.")
    elif len(values["summary"]) > 500:
        errors["summary"] = _("The summary must be %(max)s characters or fewer.", max=500)
    if not values["details"]:
        errors["details"] = _("Enter the full response.")
    elif len(values["details"]) > 20_000:
        errors["details"] = _("The full response must be %(max)s characters or fewer.", max=20_000)
    if values["decision"] not in {d.value for d in ResponseDecision}:
        errors["decision"] = _("Choose the decision.")
    follow_up = _parse_date(values["follow_up_on"], "follow_up_on", errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    return values, ResponseInput(values["summary"], values["details"], values["decision"], follow_up)


@dataclass(frozen=True)
class DebateInput:
    debated_on: date
    summary: str
    links: tuple[str, ...]


def parse_debate(form) -> tuple[dict, DebateInput]:
    values = {"debated_on": _text(form, "debated_on", 20), "summary": _text(form, "summary", 20_000),
              "links": _text(form, "links", 5000)}
    errors: dict[str, str] = {}
    debated_on = _parse_date(values["debated_on"], "debated_on", errors, required=True)
    if not values["summary"]:
        errors["summary"] = _("Enter a summary of the debate.")
    links = tuple(line.strip() for line in values["links"].splitlines() if line.strip())
    if any(not re.match(r"^https?://\S+$", link) for link in links) or len(links) > 10:
        errors["links"] = _("Enter up to 10 web addresses starting with https://, one per line.")
    if errors:
        raise ValidationFailed(errors)
    assert debated_on is not None  # required: a missing or bad date is in errors
    return values, DebateInput(debated_on, values["summary"], links)


# ----- paper signatures -----

REFERENCE_MAX, REASON_MAX = 200, 1000
_WHOLE = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class PaperInput:
    """A clerk's entry of paper signatures (or a correction of one): counts by area, as validated."""

    collected_on: date
    reference: str
    counts: dict[str, int]
    nonce: str
    reason: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def paper_rows(areas: tuple[str, ...]) -> tuple[str, ...]:
    """The areas a paper form asks a count for, in order: the configured ones, then "" (no address on the sheet)."""
    return (*areas, "")


def paper_values(form, areas: tuple[str, ...]) -> dict:
    """What was typed, to show the form again: raw counts by row number, so a bad value is kept as typed."""
    rows = paper_rows(areas)
    return {"collected_on": _text(form, "collected_on", 20), "reference": _name(form, "reference", 400),
            "reason": _text(form, "reason", 4000), "nonce": _text(form, "nonce", 64),
            "counts": {i: _text(form, f"count-{i}", 40) for i in range(len(rows))}}


def parse_paper(form, values: dict, *, areas: tuple[str, ...], max_total: int, today: date,
                correction: bool = False) -> PaperInput:
    """Validate a paper-signature form; `values` is `paper_values(form, areas)`, read once by the caller, which
    shows them again when this raises. The petition-dependent checks (collected before it opened or after it
    closed) are the service's.

    Raises:
        ValidationFailed: {field: message} for every bad field (`counts` for the group of area counts).
    """
    rows = paper_rows(areas)
    errors: dict[str, str] = {}
    counts: dict[str, int] = {}
    posted = sorted({int(m.group(1)) for key in form.keys() if (m := re.match(r"^count-([0-9]{1,4})$", key))})
    for i in posted:
        area = form.get(f"area-{i}")
        if not isinstance(area, str) or area not in rows or area in counts:
            errors["counts"] = _("“%(area)s” is not one of the areas. Reload the form to get the current list of areas.",
                                 area=str(area or "")[:80])
            continue
        raw = _text(form, f"count-{i}", 40).replace(" ", "")
        field = f"count-{rows.index(area)}"
        if raw == "":
            counts[area] = 0
        elif raw.startswith("-") and _WHOLE.match(raw[1:]):
            errors[field] = _("A count can't be negative: enter 0 or more.")
        elif not _WHOLE.match(raw):
            errors[field] = _("Enter a whole number of signatures, like 120 (digits only).")
        elif int(raw) > max_total:
            errors[field] = _("That is more than %(max)s signatures for one entry. Check the count; if it is right, "
                              "record the paper in several entries, one per box or bundle.", max=max_total)
        else:
            counts[area] = int(raw)
    total = sum(counts.values())
    if "counts" not in errors and not any(k.startswith("count-") for k in errors):
        if total > max_total:
            errors["counts"] = _("These counts add up to %(total)s, more than the %(max)s one entry may record. Check "
                                 "them; if they are right, record the paper in several entries.",
                                 total=total, max=max_total)
        elif total == 0 and not correction:
            errors["counts"] = _("Enter the number of paper signatures for at least one area.")
    collected_on = _parse_date(values["collected_on"], "collected_on", errors, required=True)
    if collected_on is not None and collected_on > today:
        errors["collected_on"] = _("The date the paper was collected can't be in the future.")
    if not values["reference"]:
        errors["reference"] = _("Enter where the paper record is kept, like “Box 12, Central Library”.")
    elif len(values["reference"]) > REFERENCE_MAX:
        errors["reference"] = _("Use %(max)s characters or fewer.", max=REFERENCE_MAX)
    if correction and not values["reason"]:
        errors["reason"] = _("Say why the entry is corrected, like “Box 12 was counted twice”.")
    elif len(values["reason"]) > REASON_MAX:
        errors["reason"] = _("Use %(max)s characters or fewer.", max=REASON_MAX)
    if errors:
        raise ValidationFailed(errors)
    assert collected_on is not None  # required: a missing or bad date is in errors
    nonce = values["nonce"] if _NONCE.match(values["nonce"]) else new_nonce()
    return PaperInput(collected_on, values["reference"], {a: n for a, n in counts.items() if n}, nonce,
                      values["reason"])


def new_nonce() -> str:
    """A fresh idempotency key for a paper form (one per form shown: a second submission of it records nothing)."""
    return secrets.token_urlsafe(18)
