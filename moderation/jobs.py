"""Moderation background jobs."""
from __future__ import annotations


def register(registry) -> None:
    """Register job handlers (model training on first start, analysis runs)."""
