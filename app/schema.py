"""Composition root: import every table module so SQLModel.metadata is complete."""
from __future__ import annotations


def import_all_models() -> None:
    # deferred: importing every table module is this function's job, done when a caller asks (no import-time
    # side effects for modules that merely import app.schema)
    import app.models  # noqa: F401
    import consultations.models  # noqa: F401
    import moderation.models  # noqa: F401
    import moderation.analysis.models  # noqa: F401
    import petitions.models  # noqa: F401
