"""Translated labels for consultations' enums, shared by pages and e-mails."""
from __future__ import annotations

from app.i18n import gettext as _
from moderation import ReportReason

from .models import ResponseDecision


def decision_label(value: str) -> str:
    labels: dict[str, str] = {
        ResponseDecision.NOTED: _("Noted"),
        ResponseDecision.WILL_ACT: _("We will act on this"),
        ResponseDecision.WILL_NOT_ACT: _("We will not act on this"),
        ResponseDecision.ALREADY_HAPPENING: _("Already happening"),
    }
    return labels.get(value, value)


def reason_options() -> list[tuple[str, str]]:
    """The report form's choices: every reason moderation lets a resident pick, in moderation's codes."""
    labels = {
        ReportReason.SPAM: _("Spam or advertising"),
        ReportReason.ABUSE: _("Abusive or hateful"),
        ReportReason.PERSONAL_INFORMATION: _("Shares someone's personal information"),
        ReportReason.OFF_TOPIC: _("Off-topic"),
    }
    return [(reason.value, labels.get(reason, reason.value)) for reason in ReportReason]


def comment_labels() -> dict[str, str]:
    """Labels repeated on every comment of a thread, translated once per page rather than once per comment."""
    return {
        "agree": _("Agree"), "disagree": _("Disagree"), "pass": _("Pass"), "your_vote": _("Your vote on this comment"),
        "a_resident": _("A resident"), "edited": _("edited"), "official_response": _("Official response"),
        "removed": _("[removed by author]"), "reply": _("Reply"), "edit": _("Edit"), "delete": _("Delete"),
        "report": _("Report"), "respond": _("Respond officially"),
        "held": _("Waiting for a moderator. Only you can see this comment until it is cleared."),
    }


class CommentUrls:
    """Comment links for templates: each route is resolved once per page, then reused for every comment
    (resolving ~100 links per thread page through the router was the biggest cost of rendering it)."""

    _SENTINEL = 987654321

    def __init__(self, path_for):
        self._path_for = path_for
        self._templates: dict[tuple[str, int], str] = {}

    def __call__(self, name: str, consultation_id: int, comment_id: int) -> str:
        key = (name, consultation_id)
        template = self._templates.get(key)
        if template is None:
            template = self._path_for(f"consultations:{name}", consultation_id=consultation_id,
                                      comment_id=self._SENTINEL)
            self._templates[key] = template
        return template.replace(str(self._SENTINEL), str(comment_id))
