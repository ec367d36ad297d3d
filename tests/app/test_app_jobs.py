"""Background jobs: leased claims, crash recovery, retries, and once-per-slot periodic scheduling."""
import json
import threading
from datetime import timedelta

from sqlmodel import select

import app.jobs as jobs
from app.db import unit_of_work
from app.jobs import JobContext, JobRegistry, claim, enqueue, run_until_idle, schedule_periodic
from app.models import Job


def _ctx(app):
    return JobContext(engine=app.state.engine, settings=app.state.settings, unit=app.state.unit_context)


def _all(app):
    with unit_of_work(app.state.engine) as session:
        return list(session.exec(select(Job).order_by(Job.id)))


def test_job_runs_once_and_is_marked_finished(app):
    seen = []
    registry = JobRegistry()
    registry.register("test.record", lambda ctx, payload: seen.append(payload["n"]))
    with unit_of_work(app.state.engine) as session:
        for n in range(3):
            enqueue(session, "test.record", {"n": n})
    assert run_until_idle(_ctx(app), registry) == 3
    assert run_until_idle(_ctx(app), registry) == 0
    assert sorted(seen) == [0, 1, 2]
    assert all(j.finished_at is not None and not j.failed for j in _all(app))


def test_two_workers_never_claim_the_same_job(app):
    with unit_of_work(app.state.engine) as session:
        for n in range(40):
            enqueue(session, "test.noop", {"n": n})
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name):
        while True:
            got = claim(app.state.engine, name, limit=3)
            if not got:
                return
            claimed[name].extend(j.id for j in got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(claimed["a"]).isdisjoint(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 40


def test_a_crashed_workers_job_is_taken_over_after_its_lease(app, monkeypatch):
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.work", {})
    first = claim(app.state.engine, "crashing-worker", lease=timedelta(minutes=5))
    assert len(first) == 1
    assert claim(app.state.engine, "other", lease=timedelta(minutes=5)) == []  # still leased
    later = jobs.utc_now() + timedelta(minutes=6)
    monkeypatch.setattr(jobs, "utc_now", lambda: later)
    taken = claim(app.state.engine, "other")
    assert [j.id for j in taken] == [first[0].id] and taken[0].attempts == 2


def test_failing_job_is_retried_then_marked_failed(app, monkeypatch):
    registry = JobRegistry()

    def broken(ctx, payload):
        raise ValueError("nope")

    registry.register("test.broken", broken)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.broken", {}, max_attempts=2)
    run_until_idle(_ctx(app), registry)
    job = _all(app)[0]
    assert job.finished_at is None and "nope" in job.last_error and job.run_at > jobs.utc_now()
    later = jobs.utc_now() + timedelta(hours=1)
    monkeypatch.setattr(jobs, "utc_now", lambda: later)
    run_until_idle(_ctx(app), registry)
    job = _all(app)[0]
    assert job.failed and job.finished_at is not None and job.attempts == 2


def test_periodic_slot_is_enqueued_once_across_processes(app):
    registry = JobRegistry()
    registry.register("test.tick", lambda ctx, p: None, every=timedelta(minutes=5))
    added = [schedule_periodic(app.state.engine, registry) for _ in range(3)]
    assert added == [1, 0, 0]
    assert [j.kind for j in _all(app)] == ["test.tick"]


def test_dedupe_key_prevents_duplicates(app):
    with unit_of_work(app.state.engine) as session:
        assert enqueue(session, "test.once", {"a": 1}, dedupe_key="k")
        assert not enqueue(session, "test.once", {"a": 2}, dedupe_key="k")
    assert [json.loads(j.payload) for j in _all(app)] == [{"a": 1}]


class _WorkerDied(BaseException):
    """Stands in for SIGKILL: nothing after it runs in the worker."""


def _effects(app):
    return [j for j in _all(app) if j.kind == "test.effect"]


def _counting_registry(calls):
    """A handler whose work is a row it writes in its unit of work (a job of kind test.effect): one row per commit."""
    registry = JobRegistry()

    def work(ctx, payload):
        calls.append(payload)
        with ctx.unit_of_work() as session:
            enqueue(session, "test.effect", {})

    registry.register("test.work", work)
    registry.register("test.effect", lambda ctx, payload: None)
    return registry


def test_job_whose_work_committed_is_not_run_again_when_its_worker_dies_before_bookkeeping(app, monkeypatch):
    calls = []
    registry = _counting_registry(calls)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.work", {})

    def die(*args, **kwargs):
        raise _WorkerDied

    with monkeypatch.context() as m:  # the handler commits, then the worker is killed before it marks the job done
        m.setattr(jobs, "_finish", die)
        try:
            jobs.run_due(_ctx(app), registry, "doomed-worker")
        except _WorkerDied:
            pass
    assert len(calls) == 1 and len(_effects(app)) == 1
    later = jobs.utc_now() + timedelta(seconds=app.state.settings.job_lease_seconds + 60)
    monkeypatch.setattr(jobs, "utc_now", lambda: later)  # the lease has run out: another worker looks for work
    run_until_idle(_ctx(app), registry, worker_id="survivor")
    assert len(calls) == 1, "the job ran again although its work had committed"
    assert len(_effects(app)) == 1
    job, = [j for j in _all(app) if j.kind == "test.work"]
    assert job.finished_at is not None and not job.failed and job.attempts == 1


def test_worker_whose_lease_was_taken_over_cannot_commit(app, monkeypatch):
    calls = []
    registry = JobRegistry()
    clock = {"now": jobs.utc_now()}
    monkeypatch.setattr(jobs, "utc_now", lambda: clock["now"])

    def slow_work(ctx, payload):
        calls.append(payload)
        if len(calls) == 1:  # the first worker stalls past its lease and a second worker takes the job over
            clock["now"] += timedelta(seconds=app.state.settings.job_lease_seconds + 1)
            assert [j.kind for j in claim(app.state.engine, "second-worker")] == ["test.work"]
        with ctx.unit_of_work() as session:
            enqueue(session, "test.effect", {})

    registry.register("test.work", slow_work)
    registry.register("test.effect", lambda ctx, payload: None)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.work", {})
    jobs.run_due(_ctx(app), registry, "stalled-worker")
    assert _effects(app) == [], "a worker whose lease was taken over committed its work"
    job, = [j for j in _all(app) if j.kind == "test.work"]
    assert job.finished_at is None and job.locked_by == "second-worker" and job.attempts == 2
    # the second worker's claim is lost too (say it crashed): after its lease, the job runs once more, and commits
    clock["now"] += timedelta(seconds=app.state.settings.job_lease_seconds + 1)
    run_until_idle(_ctx(app), registry, worker_id="third-worker")
    assert len(_effects(app)) == 1
    job, = [j for j in _all(app) if j.kind == "test.work"]
    assert job.finished_at is not None and not job.failed


def test_worker_whose_lease_expired_cannot_commit_even_if_nobody_took_over(app, monkeypatch):
    registry = JobRegistry()
    clock = {"now": jobs.utc_now()}
    monkeypatch.setattr(jobs, "utc_now", lambda: clock["now"])
    attempts = []

    def slow_work(ctx, payload):
        attempts.append(1)
        if len(attempts) == 1:
            clock["now"] += timedelta(seconds=app.state.settings.job_lease_seconds + 1)
        with ctx.unit_of_work() as session:
            enqueue(session, "test.effect", {})

    registry.register("test.work", slow_work)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.work", {})
    jobs.run_due(_ctx(app), registry, "stalled-worker")
    assert _effects(app) == []
    job, = _all(app)
    assert job.finished_at is None and "LeaseLost" in job.last_error  # retried later, with backoff


def test_batched_handler_is_fenced_per_batch_and_marked_done_after_its_last_batch(app):
    batches = []
    registry = JobRegistry()

    def batched(ctx, payload):
        for n in range(3):
            with ctx.unit_of_work(done=False) as session:
                enqueue(session, "test.effect", {"n": n})
            batches.append(n)
            job, = [j for j in _all(app) if j.kind == "test.batched"]
            assert job.finished_at is None  # a crash here re-runs the remaining batches

    registry.register("test.batched", batched)
    registry.register("test.effect", lambda ctx, payload: None)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.batched", {})
    run_until_idle(_ctx(app), registry)
    assert batches == [0, 1, 2] and len(_effects(app)) == 3
    job, = [j for j in _all(app) if j.kind == "test.batched"]
    assert job.finished_at is not None and not job.failed


def test_handler_that_fails_after_its_work_committed_is_not_run_again(app, monkeypatch):
    calls = []
    registry = JobRegistry()

    def work_then_fail(ctx, payload):
        calls.append(1)
        with ctx.unit_of_work() as session:
            enqueue(session, "test.effect", {})
        raise RuntimeError("logging the outcome failed")

    registry.register("test.work", work_then_fail)
    registry.register("test.effect", lambda ctx, payload: None)
    with unit_of_work(app.state.engine) as session:
        enqueue(session, "test.work", {})
    run_until_idle(_ctx(app), registry)
    later = jobs.utc_now() + timedelta(days=1)  # past every retry backoff
    monkeypatch.setattr(jobs, "utc_now", lambda: later)
    run_until_idle(_ctx(app), registry)
    assert len(calls) == 1 and len(_effects(app)) == 1
    job, = [j for j in _all(app) if j.kind == "test.work"]
    assert job.finished_at is not None and not job.failed and "logging the outcome failed" in job.last_error
