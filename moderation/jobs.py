"""Moderation background jobs."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from moderation.classifier import ensure_model, load_classifier
from moderation.classifier.artifacts import current_version
from moderation.facade import ENSURE_MODEL_JOB, rescreen_unscored

log = logging.getLogger("civic.moderation")

TRAINING_LOCK = ".training.lock"
STALE_LOCK_SECONDS = 3 * 3600


def _take_lock(data_dir: Path) -> Path | None:
    """A lock file so two processes (or a retaken job lease) never train the first model at the same time."""
    root = Path(data_dir) / "models" / "abuse"
    root.mkdir(parents=True, exist_ok=True)
    lock = root / TRAINING_LOCK
    try:
        if lock.exists() and time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
            lock.unlink(missing_ok=True)  # left behind by a crashed process
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    return lock


class _SaidAtStart(logging.Filter):
    """While the first model trains: start-up already said none is installed and that one is training."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("abuse classifier unavailable: no current abuse model",
                                                   "no usable abuse model (no current abuse model"))


def _score_what_waited(ctx) -> int:
    """Items screened while no model was there (the demo content on a first start) get their score now."""
    with ctx.unit_of_work() as session:
        return rescreen_unscored(session)


def ensure_model_job(ctx, payload: dict) -> None:
    """First start: train the abuse model when none loads (idempotent: does nothing when one does), then score
    the items that were screened without it."""
    data_dir = Path(ctx.settings.data_dir)
    if current_version(data_dir) is not None and load_classifier(data_dir).available:
        _score_what_waited(ctx)
        return
    lock = _take_lock(data_dir)
    if lock is None:
        log.info("another process is training the abuse model; not starting a second run")
        return
    quiet = _SaidAtStart() if current_version(data_dir) is None else None
    if quiet is not None:
        log.addFilter(quiet)
    try:
        version = ensure_model(data_dir)
    finally:
        if quiet is not None:
            log.removeFilter(quiet)
        lock.unlink(missing_ok=True)
    if version is None:
        raise RuntimeError("training the abuse model failed; see the log. Items keep going to moderators meanwhile.")
    scored = _score_what_waited(ctx)
    log.info("abuse model ready: %s; %d items that arrived while it trained are scored now", version, scored)


def register(registry) -> None:
    """Register job handlers (model training on first start)."""
    registry.register(ENSURE_MODEL_JOB, ensure_model_job)
