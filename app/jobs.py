"""Background jobs: a database table with row leases, a scheduler for periodic work, and the worker loop.

Any number of app and `civic worker` processes may run together:
- a job is claimed by setting a lease (`locked_until`) in one statement (`FOR UPDATE SKIP LOCKED` on
  PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE), so two workers never run it at once;
- a crashed worker's lease expires and the job is retried, so no job is lost (handlers are idempotent);
- a handler's `ctx.unit_of_work()` marks its job done in the same transaction as the handler's own writes, after
  a fencing check (the row still carries this worker's lease: same `locked_by`, same attempt number, lease not
  expired). So a job whose work committed is never claimed again, and a worker whose lease ran out (another
  worker may be running the job) cannot commit: its unit of work raises `LeaseLost` and rolls back. The database
  effects of such a job happen exactly once, even across a SIGKILL between the commit and the worker's bookkeeping.
  Handlers that commit in several batches pass `done=False` for the batches before the last (each batch is still
  fenced); the job is then marked done after the handler returns, so a crash re-runs only their idempotent tail.
  Effects outside the database (network calls) remain at-least-once.
- periodic jobs are enqueued with a per-time-slot `dedupe_key` under a unique index, so each slot
  runs once however many schedulers are alive.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from app import logs
from app.clock import utc_now
from app.context import UnitContext
from app.db import claim_ids, insert_ignore, unit_of_work, write_session
from app.models import Job
from app.open_data import DatasetRegistry
from app.response_cache import ResponseCache

log = logging.getLogger("civic.jobs")

Handler = Callable[["JobContext", dict], Any]


class LeaseLost(RuntimeError):
    """The job's lease ran out or another worker took the job over: this worker must not commit its work."""


@dataclass(frozen=True)
class JobLease:
    """Which claim of a job a handler runs under: the fencing token checked before its work commits."""

    job_id: int
    worker_id: str
    attempt: int


@dataclass
class JobContext:
    """What a job handler may use: the engine, the app settings, the context its units of work carry (`unit`: event
    bus, renderer, signer, classifier, domain settings), the open datasets the weekly snapshot archives
    (`open_data`, the registry routes find as `app.state.open_data`) and the worker's own objects (`services`:
    mail sender, caches).

    While a handler runs, `job` names the claim it runs under and `unit_of_work()` is fenced by it.
    """

    engine: Any
    settings: Any
    unit: UnitContext
    services: dict = field(default_factory=dict)
    open_data: DatasetRegistry = field(default_factory=DatasetRegistry)
    # the response cache in front of this process's pages, which jobs purge after a change (a worker process
    # serves no pages: its own is always empty)
    response_cache: ResponseCache = field(default_factory=ResponseCache)
    job: JobLease | None = None

    def unit_of_work(self, *, done: bool = True):
        """A write transaction. Inside a job: checks the lease before commit and, with `done`, marks the job done
        in the same transaction (so its work and its completion commit together, or neither does)."""
        if self.job is None:
            return unit_of_work(self.engine, self.unit)
        return self._fenced_unit_of_work(self.job, done)

    @contextmanager
    def _fenced_unit_of_work(self, lease: JobLease, done: bool):
        with unit_of_work(self.engine, self.unit) as session:
            yield session
            fence(session, lease, done=done)  # raises LeaseLost, and unit_of_work rolls everything back


def fence(session: Session, lease: JobLease, *, done: bool) -> None:
    """Check, in the caller's transaction, that `lease` still holds the job; with `done`, mark the job done.

    One UPDATE guarded by the lease: on PostgreSQL it locks the job row until commit (a claim skips locked rows and
    re-checks its conditions), on SQLite writers are serialised, so no other worker can claim the job between this
    check and the commit.
    """
    now = utc_now()
    values: dict = {"locked_until": col(Job.locked_until)}
    if done:
        values = {"finished_at": now, "last_error": ""}
    held = session.execute(
        update(Job).where(col(Job.id) == lease.job_id, col(Job.locked_by) == lease.worker_id, col(Job.attempts) == lease.attempt,
                          col(Job.locked_until) > now)
        .values(**values).returning(col(Job.id)).execution_options(synchronize_session=False)).first()
    if held is None:
        raise LeaseLost(f"job {lease.job_id}: the lease of attempt {lease.attempt} by {lease.worker_id} ended or "
                        "was taken over; this attempt's work is rolled back")


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    payload: dict = field(default_factory=dict)


class JobRegistry:
    """Maps job kinds to handlers and holds the periodic schedule. Built by the composition root."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.periodic: list[Periodic] = []
        # Cheap functions run on every worker poll (mail delivery, count settling); each returns work done.
        self.ticks: list[Callable[[JobContext], int]] = []

    def register(self, kind: str, handler: Handler, *, every: timedelta | None = None, payload: dict | None = None) -> None:
        self.handlers[kind] = handler
        if every is not None:
            self.periodic.append(Periodic(kind, every, payload or {}))


def enqueue(session: Session, kind: str, payload: dict | None = None, *, run_at=None, dedupe_key: str | None = None,
            max_attempts: int = 5) -> bool:
    """Add a job in the caller's transaction; with `dedupe_key`, at most one such job ever exists.

    Returns True when a job was added.
    """
    now = utc_now()
    values: dict[str, Any] = {
        "kind": kind, "payload": json.dumps(payload or {}), "dedupe_key": dedupe_key,
        "run_at": run_at or now, "created_at": now, "attempts": 0, "max_attempts": max_attempts,
        "failed": False, "last_error": "", "request_id": logs.current(),
    }
    if dedupe_key is None:
        session.add(Job(**values))
        return True
    return insert_ignore(session, Job.__table__, values, ["dedupe_key"])  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__


def schedule_periodic(engine, registry: JobRegistry) -> int:
    """Enqueue the current slot of every periodic job (idempotent across processes)."""
    now = utc_now()
    added = 0
    with unit_of_work(engine) as session:
        for periodic in registry.periodic:
            seconds = int(periodic.every.total_seconds())
            slot = int(now.timestamp()) // seconds * seconds
            if enqueue(session, periodic.kind, periodic.payload, dedupe_key=f"{periodic.kind}@{slot}"):
                added += 1
    return added


def claim(engine, worker_id: str, *, limit: int = 5, lease: timedelta = timedelta(minutes=5)) -> list[Job]:
    """Take up to `limit` due jobs with a lease; no two workers get the same job."""
    now = utc_now()
    with write_session(engine) as session:
        ids = claim_ids(
            session, Job, col(Job.finished_at).is_(None), col(Job.run_at) <= now,
            or_(col(Job.locked_until).is_(None), col(Job.locked_until) < now),
            order_by=(col(Job.run_at), col(Job.id)), limit=limit,
            values={"locked_by": worker_id, "locked_until": now + lease, "attempts": col(Job.attempts) + 1},
        )
        if not ids:
            session.commit()
            return []
        jobs = list(session.scalars(select(Job).where(col(Job.id).in_(ids)).order_by(col(Job.id))))
        session.commit()
        return jobs


def _finish(engine, lease: JobLease, error: str | None) -> None:
    with write_session(engine) as session:
        job = session.get(Job, lease.job_id)
        if job is None or job.locked_by != lease.worker_id or job.attempts != lease.attempt:
            session.commit()
            return  # our lease expired and another worker took over; let it record the outcome
        job.locked_until = None
        job.locked_by = None
        if job.finished_at is not None:
            # the handler's unit of work already committed the work and marked the job done: never run it again
            if error is not None:
                job.last_error = error[:4000]
                log.warning("Job %s (%s) raised after its work committed; not retried: %s", job.id, job.kind, error)
        elif error is None:
            job.finished_at = utc_now()
            job.last_error = ""
        else:
            job.last_error = error[:4000]
            if job.attempts >= job.max_attempts:
                job.finished_at = utc_now()
                job.failed = True
                log.error("Job %s (%s) failed for good: %s", job.id, job.kind, error)
            else:
                job.run_at = utc_now() + timedelta(seconds=30 * 2 ** job.attempts)
                log.warning("Job %s (%s) will be retried: %s", job.id, job.kind, error)
        session.commit()


def run_due(ctx: JobContext, registry: JobRegistry, worker_id: str, *, limit: int = 5) -> int:
    """Claim and run due jobs once; returns how many ran."""
    jobs = claim(ctx.engine, worker_id, limit=limit, lease=timedelta(seconds=ctx.settings.job_lease_seconds))
    for job in jobs:
        handler = registry.handlers.get(job.kind)
        assert job.id is not None  # claimed rows come from the database
        lease = JobLease(job.id, worker_id, job.attempts)
        error = None
        # what the job queues (e-mails, more jobs) carries the id of the request that caused it
        token = logs.request_id.set(job.request_id or f"job-{job.id}")
        started = time.perf_counter()
        try:
            if handler is None:
                error = f"no handler for job kind {job.kind!r}"
            else:
                try:
                    handler(replace(ctx, job=lease), json.loads(job.payload or "{}"))
                except Exception as exc:  # recorded on the job and retried with backoff
                    log.exception("Job %s (%s) raised", job.id, job.kind)
                    error = f"{type(exc).__name__}: {exc}"
            logs.log_job(job.id, job.kind, job.attempts, logs.current(), time.perf_counter() - started, error)
        finally:
            logs.request_id.reset(token)
        _finish(ctx.engine, lease, error)
    return len(jobs)


def run_until_idle(ctx: JobContext, registry: JobRegistry, *, worker_id: str = "inline", max_rounds: int = 100) -> int:
    """Run every due job until none is left (tests and the CLI use this)."""
    total = 0
    for _ in range(max_rounds):
        ran = run_due(ctx, registry, worker_id, limit=20)
        for tick in registry.ticks:
            ran += tick(ctx) or 0
        total += ran
        if not ran:
            break
    return total


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def worker_loop(ctx: JobContext, registry: JobRegistry, *, stop: asyncio.Event, poll: float = 1.0,
                      schedule_every: float = 30.0) -> None:
    """Run jobs until `stop` is set; also enqueues periodic slots. Blocking work runs in a thread."""
    name = worker_name()
    loop = asyncio.get_running_loop()
    last_schedule = 0.0
    while not stop.is_set():
        try:
            if loop.time() - last_schedule >= schedule_every:
                await asyncio.to_thread(schedule_periodic, ctx.engine, registry)
                last_schedule = loop.time()
            ran = await asyncio.to_thread(run_due, ctx, registry, name)
            for tick in registry.ticks:
                ran += await asyncio.to_thread(tick, ctx) or 0
        except Exception:  # keep the loop alive through database hiccups
            log.exception("Worker loop error; retrying shortly")
            ran = 0
        if not ran:
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except TimeoutError:
                pass
