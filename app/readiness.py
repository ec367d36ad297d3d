"""`/readyz`: whether this process should get traffic now, with the reason when not.

`/healthz` answers "is the process alive and can it reach the database" cheaply, for restarts. `/readyz` is for a
load balancer or an operator: the database takes writes, every migration is applied, the outbox and the job queue
are not falling behind (limits in `CIVIC_READY_*`), and the abuse model is loaded.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from app.clock import utc_now
from app.db import read_session, write_session
from app.models import Job, OutboxMessage, OutboxStatus, UsedToken


@dataclass
class Readiness:
    checks: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict:
        return {"status": "ready" if self.ready else "not ready", "reasons": self.reasons, "checks": self.checks}


@functools.cache
def _script_heads() -> frozenset[str]:
    # deferred: alembic costs about 0.5 s to import; only /readyz needs it, not every server process at start
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _applied_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext  # deferred: as in _script_heads

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def _writable(engine: Engine) -> None:
    with write_session(engine) as session:
        try:
            session.execute(insert(UsedToken.__table__).values(jti=f"readyz-{uuid.uuid4().hex}", purpose="readyz",  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
                                                               used_at=utc_now()))
        finally:
            session.rollback()


def _age(now, then) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return max(0.0, (now - then).total_seconds())


def queue_state(engine: Engine) -> dict:
    """Outbox and job queue figures (also exported by /metrics)."""
    now = utc_now()
    with read_session(engine) as session:
        queued, oldest_mail = session.execute(
            select(func.count(), func.min(col(OutboxMessage.created_at))).where(col(OutboxMessage.status) == OutboxStatus.QUEUED)
        ).one()
        due, oldest_job = session.execute(
            select(func.count(), func.min(col(Job.run_at))).where(col(Job.finished_at).is_(None), col(Job.run_at) <= now)
        ).one()
    return {"outbox_queued": int(queued), "outbox_oldest_age_seconds": round(_age(now, oldest_mail), 1),
            "jobs_due": int(due), "jobs_oldest_wait_seconds": round(_age(now, oldest_job), 1)}


def check(engine: Engine, settings, classifier) -> Readiness:
    """Run every check (blocking; call it in a thread). Never raises."""
    result = Readiness()
    try:
        _writable(engine)
        result.checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        result.checks["database"] = "not writable"
        result.reasons.append(f"the database does not take writes ({type(exc).__name__}): it is unreachable, "
                              "read-only, full or locked")
        return result  # the other checks read the same database
    try:
        missing = sorted(_script_heads() - _applied_heads(engine))
    except Exception as exc:  # noqa: BLE001
        missing = [f"unknown ({type(exc).__name__})"]
    result.checks["migrations"] = "ok" if not missing else "pending"
    if missing:
        result.reasons.append(f"migrations are not at head (missing {', '.join(missing)}): run `civic db upgrade`")
    queues = queue_state(engine)
    result.checks.update(queues)
    limit = settings.ready_outbox_max_age_seconds
    if limit and queues["outbox_oldest_age_seconds"] > limit:
        result.reasons.append(f"the oldest queued e-mail has waited {queues['outbox_oldest_age_seconds']:.0f} s "
                              f"(limit {limit} s): is a worker running and is the mail server reachable?")
    limit = settings.ready_job_backlog_max
    if limit and queues["jobs_due"] > limit:
        result.reasons.append(f"{queues['jobs_due']} background jobs are due (limit {limit}): is a worker running?")
    limit = settings.ready_job_max_wait_seconds
    if limit and queues["jobs_oldest_wait_seconds"] > limit:
        result.reasons.append(f"the oldest due job has waited {queues['jobs_oldest_wait_seconds']:.0f} s "
                              f"(limit {limit} s): is a worker running?")
    _check_model(result, settings, classifier)
    return result


def _check_model(result: Readiness, settings, classifier) -> None:
    if classifier is None:
        result.checks["model"] = "none"
        return
    try:
        available, version = bool(getattr(classifier, "available", False)), str(getattr(classifier, "version", ""))
        reason = str(getattr(classifier, "reason", ""))
    except Exception as exc:  # noqa: BLE001
        available, version, reason = False, "", f"{type(exc).__name__}: {exc}"
    result.checks["model"] = version if available else "not loaded"
    if available:
        return
    if settings.train_model_on_start:
        # On first start the model trains in the background; until then every item goes to moderators.
        result.reasons.append(f"the abuse model is not loaded ({reason or 'none installed yet'}); it is trained "
                              "in the background on first start, or install one with `civic moderation train`")
    else:
        # CIVIC_TRAIN_MODEL_ON_START=false: running without a model (humans review everything) was chosen.
        result.checks["model_note"] = reason or "no model installed; items go to moderators"
