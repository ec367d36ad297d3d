"""Petitions' reactions to other domains' events (wired by app.main.build_event_bus)."""
from __future__ import annotations

from moderation import Decision, ModerationDecided

from . import service


def on_moderation_decided(session, event: ModerationDecided) -> None:
    """A moderator hid a petition from the moderation queue: hide it here too (same transaction)."""
    if event.kind == "petition" and event.decision == Decision.HIDE:
        service.hide_petition(session, petition_id=event.item_id, code=event.reason_code or "other")


def subscribe(bus) -> None:
    """Subscribe this domain's handlers to the app's event bus."""
    bus.subscribe(ModerationDecided, on_moderation_decided)
