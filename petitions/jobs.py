"""Petitions background jobs (registered by app.main.build_job_registry)."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from app.clock import utc_now
from app.db import read_session

from . import cache, service

log = logging.getLogger(__name__)


def _settings(ctx):
    return ctx.unit.settings("petitions")


def settle_counts(ctx) -> int:
    """Tick: count confirmed signatures of recently changed petitions into the published totals.

    Counting runs in a read transaction; only the small result is written, so signing never waits on it.
    """
    settings = _settings(ctx)
    state = ctx.services.setdefault("_petitions_settle", {"at": 0.0})
    if time.monotonic() - state["at"] < settings.settle_interval_seconds:
        return 0
    state["at"] = time.monotonic()
    started = utc_now()
    with read_session(ctx.engine) as session:
        tallies = service.count_changed(session, since=service.settle_watermark(session))
    if not tallies:
        return 0
    with ctx.unit_of_work() as session:
        changed = service.apply_tallies(session, tallies=tallies, settings=settings, started=started)
    for tally in tallies:
        cache.purge_petition(ctx.response_cache, tally.petition_id)
    if changed:
        cache.purge_lists(ctx.response_cache)
    return changed


def close_expired(ctx, payload: dict) -> None:
    with ctx.unit_of_work() as session:
        closed = service.close_expired(session)
    if closed:
        log.info("Closed %s petitions", closed)


def anonymise(ctx, payload: dict) -> None:
    for _ in range(1000):
        with ctx.unit_of_work(done=False) as session:  # batches: the job is marked done after the last one
            done = service.anonymise_closed(session, settings=_settings(ctx))
        if not done:
            break


def mail_signers(ctx, payload: dict) -> None:
    """E-mail a response or debate outcome to consenting signers, batch by batch (resumes after a crash)."""
    for _ in range(100_000):
        with ctx.unit_of_work(done=False) as session:  # batches: the job is marked done after the last one
            finished = service.mail_signers_batch(session, petition_id=int(payload["petition_id"]), kind=payload["kind"])
        if finished:
            return


def register(registry) -> None:
    """Register job handlers and periodic schedules."""
    registry.ticks.append(settle_counts)
    registry.register("petitions.close_expired", close_expired, every=timedelta(minutes=5))
    registry.register("petitions.anonymise", anonymise, every=timedelta(hours=6))
    registry.register("petitions.mail_signers", mail_signers)
