"""A tiny in-process event bus whose handlers run inside the publishing unit of work."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from app.context import unit_context


class EventBus:
    """Owned by one app (`app.state.unit_context.events`); never a module global, so test apps don't share handlers."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable]] = defaultdict(list)

    def subscribe(self, event_type: type, handler: Callable) -> None:
        self._handlers[event_type].append(handler)

    def dispatch(self, session, event) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            handler(session, event)


def publish(session, event) -> None:
    """Dispatch `event` to the app's bus, inside this session's transaction.

    Raises `app.context.MissingUnitContext` for a session opened without the app's context: an event nobody
    hears (a petition that reaches moderation without a case) must not pass for a delivered one.
    """
    unit_context(session).events.dispatch(session, event)
