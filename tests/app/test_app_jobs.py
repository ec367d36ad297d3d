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
    return JobContext(engine=app.state.engine, settings=app.state.settings)


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
