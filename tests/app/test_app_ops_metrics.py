"""`/metrics` (issue 17): closed without the token or an allowed address; scraped while people sign, its figures
match the database (the signature figures as the settle tick last counted them, read without counting the
signature table); several processes report as one (prometheus-client multiprocess mode)."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from app.clock import utc_now
from app.db import read_session, unit_of_work
from app.jobs import enqueue
from app.models import Job, OutboxMessage
from petitions.jobs import settle_counts
from petitions.models import Petition, Signature

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-" + "z" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def domain_settings():
    from app.main import load_domain_settings

    sections = load_domain_settings(env_file=None)
    sections["petitions"] = dataclasses.replace(sections["petitions"], sign_rate_burst="10000/60",
                                                sign_rate_sustained="10000/300")
    return sections


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, metrics_token=TOKEN, metrics_allow=("10.1.0.0/16",))


def scrape(client, **kw) -> dict[tuple, float]:
    response = client.get("/metrics", headers=AUTH, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain") and response.headers["cache-control"] == "no-store"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(response.text) for s in fam.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def settle(app) -> None:
    """The petitions' settle tick, now (it otherwise waits CIVIC_PETITIONS_SETTLE_INTERVAL_SECONDS between runs)."""
    app.state.job_context.services.pop("_petitions_settle", None)
    settle_counts(app.state.job_context)


def _petition(app) -> int:
    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        p = Petition(action="More buses at night", background="Background", creator_name="Creator",
                     creator_email="c@example.org", state="open", created_at=now, updated_at=now, opened_at=now,
                     closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        return p.id


def test_metrics_refuse_callers_without_the_token_or_an_allowed_address(app):
    with TestClient(app, base_url="https://testserver") as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            response = c.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert "CIVIC_METRICS_TOKEN" in response.text and response.headers["www-authenticate"].startswith("Bearer")
            assert "civic_" not in response.text
        assert c.get("/metrics", headers=AUTH).status_code == 200
    with TestClient(app, base_url="https://testserver", client=("10.1.2.3", 5000)) as c:
        assert c.get("/metrics").status_code == 200  # CIVIC_METRICS_ALLOW
    with TestClient(app, base_url="https://testserver", client=("10.2.0.1", 5000)) as c:
        assert c.get("/metrics").status_code == 401


def test_metrics_are_closed_when_neither_setting_is_given(settings, engine, sender, domain_settings):
    from app.main import create_app

    app = create_app(dataclasses.replace(settings, metrics_token="", metrics_allow=()), engine=engine, sender=sender,
                     domain_settings=domain_settings, run_worker=False)
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 5000)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_metrics_scraped_while_people_sign_match_the_database(app, helpers):
    pid = _petition(app)
    n_signers, n_threads = 24, 3
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        before = scrape(c)
        route = "/petitions/{petition_id}/sign"
        signed_before = sum(v for (n, labels), v in before.items()
                            if n == "civic_http_requests_total" and ("route", route) in labels)
        failures: list = []

        def sign(offset):
            with TestClient(app, base_url="https://testserver", follow_redirects=False) as signer:
                for i in range(offset, n_signers, n_threads):
                    r = signer.post(f"/petitions/{pid}/sign", data={"name": f"Signer {i}", "email": f"s{i}@example.org",
                                                                    "area": "North"})
                    if r.status_code >= 400:
                        failures.append(r.status_code)

        threads = [threading.Thread(target=sign, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        seen = []
        while any(t.is_alive() for t in threads):
            settle(app)
            seen.append(value(scrape(c), "civic_signatures_acknowledged_total"))
        for t in threads:
            t.join()
        assert not failures
        assert seen == sorted(seen) and all(0 <= v <= n_signers for v in seen)  # never more than were taken
        # confirm three of them through the e-mailed link
        for i in range(3):
            link = helpers.last_link(app, f"s{i}@example.org", pattern=r"https?://\S*/signatures/confirm\S*")
            page = c.get(link.replace(app.state.settings.base_url, ""))
            token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
            assert c.post("/petitions/signatures/confirm", data={"token": token}).status_code < 400
        settle(app)
        with unit_of_work(app.state.engine) as s:
            enqueue(s, "test.nothing", run_at=utc_now() - timedelta(minutes=5))
        after = scrape(c)

    with read_session(app.state.engine) as s:
        total = s.execute(select(func.count()).select_from(Signature)).scalar()
        confirmed = s.execute(select(func.count()).select_from(Signature).where(Signature.state == "validated")).scalar()
        queued = s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued")).scalar()
        due = s.execute(select(func.count()).select_from(Job).where(Job.finished_at.is_(None))).scalar()
    assert total == n_signers and confirmed == 3
    assert value(after, "civic_signatures_acknowledged_total") == total
    assert value(after, "civic_signatures_confirmed_total") == confirmed
    assert queued > 0 and value(after, "civic_outbox_queued") == queued
    assert value(after, "civic_outbox_oldest_age_seconds") >= 0
    assert due >= 1 and value(after, "civic_jobs_waiting") == due
    assert value(after, "civic_jobs_oldest_wait_seconds") >= 299
    assert value(after, "civic_jobs_running") == 0 and value(after, "civic_metrics_database_up") == 1
    assert value(after, "civic_moderation_queue") >= 0 and value(after, "civic_moderation_overdue") == 0
    assert value(after, "civic_analysis_last_run_timestamp_seconds") == 0
    # requests by route template and status, with a latency histogram
    signed = sum(v for (n, labels), v in after.items()
                 if n == "civic_http_requests_total" and ("route", route) in labels)
    assert signed - signed_before == n_signers, sorted(k for k in after if k[0] == "civic_http_requests_total")
    assert value(after, "civic_http_request_duration_seconds_count", method="POST", route=route) >= n_signers
    assert not any("/petitions/%d" % pid in str(labels) for (_, labels) in after)  # templates, not paths


def test_a_scrape_reads_the_settled_signature_figures_without_counting_the_signature_table(app, helpers):
    pid = _petition(app)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        for i in range(3):
            assert c.post(f"/petitions/{pid}/sign", data={"name": f"S {i}", "email": f"t{i}@example.org",
                                                          "area": "North"}).status_code < 400
        link = helpers.last_link(app, "t0@example.org", pattern=r"https?://\S*/signatures/confirm\S*")
        token = re.search(r'name="token" value="([^"]+)"', c.get(link.replace(app.state.settings.base_url, "")).text)
        assert c.post("/petitions/signatures/confirm", data={"token": token.group(1)}).status_code < 400
        assert value(scrape(c), "civic_signatures_acknowledged_total") == 0  # not settled yet
        settle(app)
        statements: list[str] = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(app.state.engine, "before_cursor_execute", seen)
        try:
            after = scrape(c)
        finally:
            event.remove(app.state.engine, "before_cursor_execute", seen)
    assert value(after, "civic_signatures_acknowledged_total") == 3
    assert value(after, "civic_signatures_confirmed_total") == 1
    assert statements and not [s for s in statements if re.search(r"\bFROM signature\b", s)], statements


def test_the_model_version_and_database_errors_are_exported(settings, engine, sender, domain_settings):
    from app.main import create_app

    class Model:
        available, version, reason = True, "abuse-2026-02-03", ""

    app = create_app(settings, engine=engine, sender=sender, domain_settings=domain_settings,
                     classifier=Model(), run_worker=False)
    with TestClient(app, base_url="https://testserver") as c:
        before = scrape(c)
        with pytest.raises(Exception):
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT * FROM no_such_table")
        after = scrape(c)
    assert value(after, "civic_model_info", version="abuse-2026-02-03") == 1
    assert value(after, "civic_model_loaded") == 1
    errors = lambda s: sum(v for (n, _), v in s.items() if n == "civic_db_errors_total")  # noqa: E731
    assert errors(after) == errors(before) + 1


CHILD = """
import sys
from app import metrics
for _ in range(int(sys.argv[1])):
    metrics.REQUESTS.labels("GET", "/petitions/{petition_id}", "200").inc()
"""


def test_several_processes_report_as_one(tmp_path, app):
    """`civic serve --workers N`: each process counts into PROMETHEUS_MULTIPROC_DIR; any process answers for all."""
    from app.metrics import exposition, prepare_multiprocess_dir

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": ""}
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        path = prepare_multiprocess_dir(tmp_path, workers=2)
        assert path == str((tmp_path / "prometheus").resolve()) and os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
        env["PROMETHEUS_MULTIPROC_DIR"] = path
        for n in (3, 4):
            subprocess.run([sys.executable, "-c", CHILD, str(n)], cwd=ROOT, env=env, check=True, timeout=120)
        text = exposition(app.state.engine, [], None).decode()
        # a restart empties the directory: old processes' counts do not linger
        prepare_multiprocess_dir(tmp_path, workers=2)
        assert not list(Path(path).glob("*.db"))
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    assert 'civic_http_requests_total{method="GET",route="/petitions/{petition_id}",status="200"} 7.0' in text
    assert "civic_outbox_queued" in text


def test_pages_served_from_the_in_process_cache_and_unknown_paths_are_labelled_without_a_route(app):
    pid = _petition(app)
    with TestClient(app, base_url="https://testserver") as c:
        before = scrape(c)
        for _ in range(3):
            assert c.get(f"/petitions/{pid}").status_code == 200
        assert c.get("/no/such/page/42").status_code == 404
        after = scrape(c)
    delta = lambda route, status: (value(after, "civic_http_requests_total", method="GET", route=route,  # noqa: E731
                                         status=status)
                                   - value(before, "civic_http_requests_total", method="GET", route=route,
                                           status=status))
    assert delta("/petitions/{petition_id}", "200") + delta("(cached)", "200") == 3
    assert delta("(cached)", "200") >= 1  # the in-process cache answered before routing
    assert delta("(no route)", "404") == 1 and not any("/no/such" in str(k) for k in after)
