"""Moderation events. `ModerationDecided` is part of the facade (other domains subscribe to it)."""
from __future__ import annotations

from moderation.contract import ModerationDecided

__all__ = ["ModerationDecided"]
