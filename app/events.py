"""A tiny in-process event bus whose handlers run inside the publishing unit of work."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable


class EventBus:
    """Owned by one app (`app.state.events`); never a module global, so test apps don't share handlers."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable]] = defaultdict(list)

    def subscribe(self, event_type: type, handler: Callable) -> None:
        self._handlers[event_type].append(handler)

    def dispatch(self, session, event) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            handler(session, event)


def publish(session, event) -> None:
    """Dispatch `event` to the bus attached to this session (no-op when none is attached)."""
    bus = session.info.get("events")
    if bus is not None:
        bus.dispatch(session, event)
