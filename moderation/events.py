"""Moderation events. `ModerationDecided` is part of the facade (other domains subscribe to it)."""
from __future__ import annotations

from moderation.facade import ModerationDecided

__all__ = ["ModerationDecided"]
