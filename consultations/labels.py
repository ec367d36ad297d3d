"""Translated labels for consultations' enums, shared by pages and e-mails."""
from __future__ import annotations

from app.i18n import gettext as _

from .models import ReportReason, ResponseDecision


def decision_label(value: str) -> str:
    return {
        ResponseDecision.NOTED: _("Noted"),
        ResponseDecision.WILL_ACT: _("We will act on this"),
        ResponseDecision.WILL_NOT_ACT: _("We will not act on this"),
        ResponseDecision.ALREADY_HAPPENING: _("Already happening"),
    }.get(value, value)


def reason_options() -> list[tuple[str, str]]:
    return [
        (ReportReason.SPAM.value, _("Spam or advertising")),
        (ReportReason.ABUSIVE.value, _("Abusive or hateful")),
        (ReportReason.PERSONAL_INFORMATION.value, _("Shares someone's personal information")),
        (ReportReason.OFF_TOPIC.value, _("Off-topic")),
    ]
