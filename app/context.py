"""What a use case may use inside a unit of work besides its session: one typed object, built once by the
composition root (`app.main.create_app`) and handed to every unit of work it opens (routes through
`app.db.run_in_session`, jobs through `JobContext.unit_of_work`).

A session opened without one (`unit_of_work(engine)`: migrations, imports, tests seeding rows) has no context;
asking it for one raises `MissingUnitContext` instead of quietly using a default settings section, no signer or
no classifier, so a wiring mistake fails where it is made rather than as a missing link in an e-mail.

The types below are protocols: the objects are the app's own (`app.events.EventBus`, `app.templating.Renderer`,
`app.security.Signer`, moderation's classifier holder), but naming those classes here would make this module,
which `app.db` needs, import half of the app.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session

_KEY = "civic.unit_context"


class EventDispatcher(Protocol):
    def dispatch(self, session: Any, event: Any) -> None: ...


class MailRenderer(Protocol):
    def render_email(self, template: str, context: dict, locale: str) -> tuple[str, str]: ...

    def render_email_personal(self, template: str, shared: dict, personal: dict[str, str],
                              locale: str) -> tuple[str, str]: ...

    def path(self, name: str, _query: Any = None, **params: Any) -> str: ...

    def absolute_url(self, name: str, _query: Any = None, **params: Any) -> str: ...


class TokenSigner(Protocol):
    def sign(self, purpose: str, payload: Any, *, single_use: bool = True) -> str: ...


class MissingUnitContext(RuntimeError):
    """A use case that needs the app's services ran in a session opened without a `UnitContext`."""


@dataclass(frozen=True)
class UnitContext:
    """The app's shared objects a use case may need inside its transaction.

    `domain_settings` is the one home of the domains' settings sections (`{"petitions": PetitionSettings, ...}`):
    routes, jobs and use cases all read this mapping, so a test that replaces a section (`ctx.domain_settings
    ["petitions"] = dataclasses.replace(...)`) changes it everywhere at once.
    """

    events: EventDispatcher
    renderer: MailRenderer
    signer: TokenSigner
    # moderation's ClassifierHolder (or a test double with `get`/`score`/`available`); app/ does not know its type
    classifier: Any
    domain_settings: Mapping[str, Any]

    def settings(self, domain: str) -> Any:
        """One domain's settings section (raises KeyError for a domain the composition root did not load)."""
        return self.domain_settings[domain]


def attach(session: Session, context: UnitContext) -> None:
    session.info[_KEY] = context


def unit_context(session: Session) -> UnitContext:
    """The context of the unit of work `session` belongs to; raises `MissingUnitContext` when it has none."""
    context = session.info.get(_KEY)
    if context is None:
        raise MissingUnitContext(
            "this use case needs the app's services (event bus, renderer, signer, classifier, settings), but its "
            "session was opened without them: open it with app.db.unit_of_work(engine, context) where context is "
            "app.state.unit_context (routes: app.db.run_in_session; jobs: JobContext.unit_of_work)")
    return context
