"""`/readyz`: 200 when this process should get traffic, 503 with the reason when not (issue 17)."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from app.clock import utc_now
from app.db import unit_of_work
from app.jobs import enqueue
from app.models import OutboxMessage


@pytest.fixture
def make_app(settings, engine, sender, domain_settings):
    from app.main import create_app

    def factory(engine=engine, classifier=None, **changes):
        return create_app(dataclasses.replace(settings, **changes), engine=engine, sender=sender,
                          domain_settings=domain_settings, classifier=classifier, run_worker=False)

    return factory


def _ready(app):
    with TestClient(app, base_url="https://testserver") as c:
        response = c.get("/readyz")
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()


class FakeModel:
    available, version, reason = True, "abuse-2026-01-01", ""


def test_a_fresh_site_is_ready_and_says_what_it_checked(make_app):
    status, body = _ready(make_app(classifier=FakeModel()))
    assert status == 200 and body["status"] == "ready" and body["reasons"] == []
    checks = body["checks"]
    assert checks["database"] == "ok" and checks["migrations"] == "ok" and checks["model"] == "abuse-2026-01-01"
    assert checks["outbox_queued"] == 0 and checks["jobs_due"] == 0


def test_an_unwritable_database_is_not_ready(make_app, settings, helpers):
    engine = helpers.read_only_engine(settings.database_url)
    try:
        status, body = _ready(make_app(engine=engine))
    finally:
        engine.dispose()
    assert status == 503 and body["checks"]["database"] == "not writable"
    assert "does not take writes" in body["reasons"][0]


def test_a_missing_migration_is_not_ready_and_names_the_command(make_app, engine):
    with engine.begin() as conn:
        heads = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": heads[0]})
    try:
        status, body = _ready(make_app())
    finally:  # (a PostgreSQL test database is shared by the session's tests)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": heads[0]})
    assert status == 503 and body["checks"]["migrations"] == "pending"
    assert any(heads[0] in r and "civic db upgrade" in r for r in body["reasons"]), body


def test_an_outbox_that_falls_behind_is_not_ready(make_app, engine):
    app = make_app(ready_outbox_max_age_seconds=600)
    long_ago = utc_now() - timedelta(minutes=20)
    with unit_of_work(engine) as s:
        s.add(OutboxMessage(to_addr="ann@example.org", subject="s", body="b", created_at=long_ago,
                            next_attempt_at=long_ago))
    status, body = _ready(app)
    assert status == 503 and body["checks"]["outbox_queued"] == 1
    assert body["checks"]["outbox_oldest_age_seconds"] >= 1199
    assert any("oldest queued e-mail" in r and "limit 600 s" in r for r in body["reasons"]), body
    # the same outbox under a looser limit is fine
    assert _ready(make_app(ready_outbox_max_age_seconds=3600))[0] == 200


def test_a_job_backlog_over_the_limit_is_not_ready(make_app, engine):
    with unit_of_work(engine) as s:
        for i in range(3):
            enqueue(s, "test.nothing", {"i": i})
    status, body = _ready(make_app(ready_job_backlog_max=2))
    assert status == 503 and body["checks"]["jobs_due"] == 3
    assert any("3 background jobs are due (limit 2)" in r for r in body["reasons"]), body
    assert _ready(make_app(ready_job_backlog_max=3))[0] == 200


def test_a_job_waiting_too_long_is_not_ready(make_app, engine):
    with unit_of_work(engine) as s:
        enqueue(s, "test.nothing", run_at=utc_now() - timedelta(hours=1))
    status, body = _ready(make_app(ready_job_max_wait_seconds=1800))
    assert status == 503 and any("oldest due job has waited" in r for r in body["reasons"]), body


def test_without_a_model_the_site_is_not_ready_while_first_start_training_is_due(make_app):
    status, body = _ready(make_app(train_model_on_start=True))
    assert status == 503 and body["checks"]["model"] == "not loaded"
    assert any("abuse model is not loaded" in r for r in body["reasons"]), body
    # an operator who turned first-start training off runs without a model on purpose: ready, with a note
    status, body = _ready(make_app(train_model_on_start=False))
    assert status == 200 and body["checks"]["model"] == "not loaded" and body["checks"]["model_note"]


def test_healthz_stays_cheap_and_ignores_queues(make_app, engine):
    with unit_of_work(engine) as s:
        for i in range(3):
            enqueue(s, "test.nothing", {"i": i})
    app = make_app(ready_job_backlog_max=1, train_model_on_start=True)
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503
