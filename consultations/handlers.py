"""Consultations' reactions to other domains' events (wired by app.main.build_event_bus)."""
from __future__ import annotations


def subscribe(bus) -> None:
    """Subscribe this domain's handlers to the app's event bus."""
