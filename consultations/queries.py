"""Consultations read queries returning view objects."""
from __future__ import annotations


def home_section(session) -> dict:
    """What the home page shows for this domain: a template and its context."""
    return {"template": "consultations/_home.html", "items": []}
