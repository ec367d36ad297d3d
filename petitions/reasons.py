"""The built-in rejection reasons, and how a stored reason is shown.

Reasons are data that admins may edit. Stored text is never passed through gettext (a `%` would break the
formatting, and the result would be marked safe): a built-in reason whose text is still the built-in text is
translated by its code; any other text is shown as the admin wrote it, escaped like all other text.
"""
from __future__ import annotations

from app.errors import N_
from app.i18n import gettext as _

DEFAULT_REASONS = (
    ("duplicate", N_("Duplicate of an existing petition"), N_("There's already a petition about this. Please sign that one instead."), False),
    ("not-government-responsibility", N_("Not the government's responsibility"), N_("It's about something the government is not directly responsible for."), False),
    ("offensive", N_("Offensive or abusive"), N_("It contains language that is offensive, joking or abusive."), True),
    ("defamatory", N_("Defamatory"), N_("It includes potentially defamatory statements."), True),
    ("advert", N_("Advertising"), N_("It promotes a commercial product or service."), False),
    ("personal-information", N_("Personal information"), N_("It includes information that could identify a person."), True),
    ("already-happening", N_("Already happening"), N_("The government is already doing what the petition asks for."), False),
    ("nonsense", N_("Not a request for action"), N_("It does not ask for a clear action, or makes no sense."), False),
    ("other", N_("Other reason"), N_("It doesn't meet the petition standards."), False),
)
_BUILT_IN = {code: (title, description) for code, title, description, _hides in DEFAULT_REASONS}


def reason_title(code: str, stored: str) -> str:
    """The title to show: the translation of a built-in title left as shipped, otherwise the stored text."""
    built_in = _BUILT_IN.get(code)
    if built_in is not None and stored == built_in[0]:
        return _(built_in[0])
    return stored


def reason_description(code: str, stored: str) -> str:
    """The description to show, like `reason_title`."""
    built_in = _BUILT_IN.get(code)
    if built_in is not None and stored and stored == built_in[1]:
        return _(built_in[1])
    return stored


class ReasonText:
    """A rejection reason for an e-mail template: `title` and `description` are read in the e-mail's locale."""

    def __init__(self, code: str, title: str, description: str, hides_petition: bool):
        self.code, self._title, self._description, self.hides_petition = code, title, description, hides_petition

    @property
    def title(self) -> str:
        return reason_title(self.code, self._title)

    @property
    def description(self) -> str:
        return reason_description(self.code, self._description)
