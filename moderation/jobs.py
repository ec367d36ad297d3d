"""Moderation background jobs."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from moderation.facade import ENSURE_MODEL_JOB

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


def ensure_model_job(ctx, payload: dict) -> None:
    """First start: train the abuse model when none loads (idempotent: does nothing when one does)."""
    from moderation.classifier import ensure_model, load_classifier

    data_dir = Path(ctx.settings.data_dir)
    if load_classifier(data_dir).available:
        return
    lock = _take_lock(data_dir)
    if lock is None:
        log.info("another process is training the abuse model; not starting a second run")
        return
    try:
        version = ensure_model(data_dir)
    finally:
        lock.unlink(missing_ok=True)
    if version is None:
        raise RuntimeError("training the abuse model failed; see the log. Items keep going to moderators meanwhile.")
    log.info("abuse model ready: %s", version)


def register(registry) -> None:
    """Register job handlers (model training on first start)."""
    registry.register(ENSURE_MODEL_JOB, ensure_model_job)
