"""Consultation settings (CIVIC_CONSULTATIONS_*)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsultationSettings:
    comment_max_length: int = 2000
    """Longest comment accepted, in characters."""
