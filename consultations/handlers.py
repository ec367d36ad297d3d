"""Consultations' reactions to other domains' events (wired by app.main.build_event_bus)."""
from __future__ import annotations

from moderation import ModerationDecided

from . import service


def on_moderation_decided(session, event: ModerationDecided) -> None:
    """Show, hide or redact our comment or response in the moderator's transaction."""
    if event.kind not in ("comment", "response"):
        return
    service.apply_moderation_decision(session, kind=event.kind, item_id=event.item_id, decision=event.decision,
                                      redacted_text=event.redacted_text,
                                      moderator_id=(event.extra or {}).get("moderator_id"),
                                      original_text=(event.extra or {}).get("original_text"))


def subscribe(bus) -> None:
    """Subscribe this domain's handlers to the app's event bus."""
    bus.subscribe(ModerationDecided, on_moderation_decided)
