"""Petition settings (CIVIC_PETITIONS_*)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PetitionSettings:
    sponsor_threshold: int = 5
    """Confirmed supporters needed before a new petition goes to moderation."""
