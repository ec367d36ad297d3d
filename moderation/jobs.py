"""Moderation background jobs."""
from __future__ import annotations

import logging

from moderation.facade import ENSURE_MODEL_JOB

log = logging.getLogger("civic.moderation")


def ensure_model_job(ctx, payload: dict) -> None:
    """First start: train the abuse model when none loads (idempotent: does nothing when one does)."""
    from moderation.classifier import ensure_model

    version = ensure_model(ctx.settings.data_dir)
    if version is None:
        raise RuntimeError("training the abuse model failed; see the log. Items keep going to moderators meanwhile.")
    log.info("abuse model ready: %s", version)


def register(registry) -> None:
    """Register job handlers (model training on first start)."""
    registry.register(ENSURE_MODEL_JOB, ensure_model_job)
