"""Moderation: abuse scoring, the moderators' queue and feedback analysis.

Other domains import only from here (the facade); see moderation/facade.py for the contract.
"""
from moderation.facade import (
    ContentRef,
    Decision,
    ModerationDecided,
    ModerationSettings,
    ReportOutcome,
    Route,
    Screening,
    is_blocked,
    latest_score,
    report_content,
    screen_content,
)

__all__ = [
    "ContentRef", "Decision", "ModerationDecided", "ModerationSettings", "ReportOutcome", "Route",
    "Screening", "is_blocked", "latest_score", "report_content", "screen_content",
]
