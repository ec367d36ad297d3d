"""Feedback analysis for officials: themes, campaigns, similar texts, opinion groups.

Pure functions over plain Python data (no database, no web), local
scikit-learn only, deterministic for a given ``seed``; every result points
back to the input indices / ids it was computed from.

    from moderation.analysis import (
        find_themes, ThemeResult, Theme,                      # themes.py
        group_near_duplicates, find_campaigns, DuplicateGroup,  # duplicates.py
        SimilarityIndex,                                      # similarity.py
        opinion_groups, OpinionResult,                        # opinions.py
    )

* ``find_themes(texts, *, k=None, seed=0, timestamps=None)`` -> ThemeResult
  (English, Chinese, mixed; campaigns collapsed before clustering).
* ``group_near_duplicates(texts, *, threshold=0.8)`` -> group id per text;
  ``find_campaigns(texts, ...)`` -> groups of size >= 2 with a representative.
* ``SimilarityIndex(texts).query(text, k=5, min_score=0.2)`` -> [(index, score)].
* ``opinion_groups(votes, *, min_votes=7, max_groups=5, seed=0)`` -> OpinionResult
  (Polis-like groups, 2-D map, representative / consensus / divisive statements).

CLI: ``moderation.analysis.cli.register(subparsers)`` adds ``civic feedback``.
Benchmarks: ``bench/analysis_themes.py``, ``bench/analysis_opinions.py``,
``bench/analysis_speed.py``.

The functions cap BLAS/OpenMP threads at 1 per call (the
``CIVIC_ANALYSIS_THREADS`` setting changes it; ``set_thread_count``): on busy shared hosts oversubscribed
threads made k-means several times slower.
"""
import importlib

_EXPORTS = {
    "DuplicateGroup": "duplicates", "find_campaigns": "duplicates", "group_near_duplicates": "duplicates",
    "ConsensusStatement": "opinions", "DivisiveStatement": "opinions", "OpinionGroup": "opinions",
    "OpinionResult": "opinions", "RepresentativeStatement": "opinions", "opinion_groups": "opinions",
    "SimilarityIndex": "similarity", "set_thread_count": "_text",
    "Theme": "themes", "ThemeResult": "themes", "find_themes": "themes",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so importing moderation.analysis.cli (CLI start-up) does not load scikit-learn.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
