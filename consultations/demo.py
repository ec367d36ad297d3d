"""Consultations demo content."""
from __future__ import annotations


def load(session, *, renderer=None, now=None) -> int:
    """Load demo content idempotently; return how many items were added."""
    return 0
