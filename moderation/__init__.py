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
    close_content_cases,
    is_blocked,
    latest_score,
    report_content,
    screen_content,
)
from moderation.analysis.api import (
    AnalysisEditError,
    AnalysisItem,
    AnalysisView,
    analyse_subject,
    analysis_status,
    compute_analysis,
    latest_analysis,
    merge_themes,
    needs_reanalysis,
    rename_theme,
    save_analysis,
    split_theme,
)
from moderation.models import ReportReason

__all__ = [
    "ContentRef", "Decision", "ModerationDecided", "ModerationSettings", "ReportOutcome", "Route",
    "ReportReason", "Screening", "close_content_cases", "is_blocked", "latest_score", "report_content", "screen_content",
    "AnalysisEditError", "AnalysisItem", "AnalysisView", "analyse_subject", "analysis_status", "compute_analysis",
    "latest_analysis", "merge_themes", "needs_reanalysis", "rename_theme", "save_analysis", "split_theme",
    "opinion_groups",
]


def __getattr__(name: str):
    # deferred: opinion_groups pulls in scikit-learn and scipy (about 2 s); `import moderation` (migrations, the
    # CLI, every domain) should not pay for it until a page actually groups opinions.
    if name == "opinion_groups":
        from moderation.analysis.opinions import opinion_groups

        return opinion_groups
    raise AttributeError(f"module 'moderation' has no attribute {name!r}")
