"""Petitions background jobs (registered by app.main.build_job_registry)."""
from __future__ import annotations


def register(registry) -> None:
    """Register job handlers and periodic schedules."""
