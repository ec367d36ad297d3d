"""Structured logs (issue 17): one JSON line per request and per job with a request id, which also goes into the
outbox rows and jobs the request causes; no e-mail or IP addresses unless CIVIC_LOG_PERSONAL_DATA asks."""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from app import logs
from app.clock import utc_now
from app.db import read_session, unit_of_work
from app.jobs import enqueue
from app.models import Job, OutboxMessage
from petitions.models import Petition


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))

    def json(self, event):
        return [json.loads(line) for line in self.lines if json.loads(line)["event"] == event]


@pytest.fixture
def captured(settings):
    logs.configure(settings)
    handler = Lines()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for logger in (logs.access_log, logs.job_log):
        logger.addHandler(handler)
    yield handler
    for logger in (logs.access_log, logs.job_log):
        logger.removeHandler(handler)
    logs.configure(dataclasses.replace(settings, log_personal_data=False))


def _petition(engine) -> int:
    now = utc_now()
    with unit_of_work(engine) as s:
        p = Petition(action="Plant more street trees", background="Background", creator_name="Creator",
                     creator_email="c@example.org", state="open", created_at=now, updated_at=now, opened_at=now,
                     closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        return p.id


def test_each_request_is_one_json_line_whose_id_reaches_the_email_it_queued(app, captured):
    pid = _petition(app.state.engine)
    with TestClient(app, base_url="https://testserver", client=("203.0.113.9", 4000)) as c:
        r = c.post(f"/petitions/{pid}/sign", data={"name": "Ann", "email": "ann.signer@example.org", "area": "North"})
        assert r.status_code == 200
        rid = r.headers["x-request-id"]
        page = c.get(f"/petitions/{pid}", headers={"X-Request-ID": "nginx-0123456789abcdef"})
        assert page.headers["x-request-id"] == "nginx-0123456789abcdef"  # a proxy's id is kept
        odd = c.get("/about", headers={"X-Request-ID": b"bad id with spaces\xe9"})
        assert odd.headers["x-request-id"] != "bad id with spaces"
    requests = captured.json("request")
    sign = next(line for line in requests if line["request_id"] == rid)
    assert sign["method"] == "POST" and sign["route"] == "/petitions/{petition_id}/sign" and sign["status"] == 200
    assert sign["duration_ms"] >= 0 and sign["path"] == f"/petitions/{pid}/sign"
    assert any(line["request_id"] == "nginx-0123456789abcdef" and line["status"] == 200 for line in requests)
    text = "\n".join(captured.lines)
    assert "ann.signer@example.org" not in text and "203.0.113.9" not in text and "client" not in requests[0]
    with read_session(app.state.engine) as s:
        mails = list(s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == "ann.signer@example.org")))
    assert mails and all(m.request_id == rid for m in mails)


def test_each_job_is_one_json_line_carrying_the_id_of_the_request_that_enqueued_it(app, captured, helpers):
    def send_note(ctx, payload):
        from app.mail import queue_email

        with ctx.unit_of_work() as s:
            queue_email(s, to="bo@example.org", template="auth/sign_in", context={"token": "t", "name": "Bo"})

    def broken(ctx, payload):
        raise ValueError("cannot reach 198.51.100.7 for carol@example.org")

    app.state.jobs.register("test.send_note", send_note)
    app.state.jobs.register("test.broken", broken)
    token = logs.request_id.set("req-abcdef123456")
    try:
        with unit_of_work(app.state.engine) as s:
            enqueue(s, "test.send_note")
            enqueue(s, "test.broken")
    finally:
        logs.request_id.reset(token)
    helpers.run_jobs(app)
    jobs = {line["kind"]: line for line in captured.json("job")}
    assert jobs["test.send_note"]["request_id"] == "req-abcdef123456" and jobs["test.send_note"]["outcome"] == "ok"
    assert jobs["test.broken"]["outcome"] == "error" and "ValueError" in jobs["test.broken"]["error"]
    assert "198.51.100.7" not in jobs["test.broken"]["error"] and "carol@" not in jobs["test.broken"]["error"]
    assert "[ip]" in jobs["test.broken"]["error"] and "[email]" in jobs["test.broken"]["error"]
    with read_session(app.state.engine) as s:
        note = s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == "bo@example.org")).one()
        assert {j.request_id for j in s.exec(select(Job).where(Job.kind.like("test.%")))} == {"req-abcdef123456"}
    assert note.request_id == "req-abcdef123456"


def test_addresses_are_masked_in_every_civic_log_line_unless_asked_for(settings, caplog):
    logs.configure(settings)
    caplog.set_level(logging.INFO)
    logging.getLogger("civic").info("sent to %s from %s and 2001:db8::1", "dan@example.org", "192.0.2.44")
    assert "dan@example.org" not in caplog.text and "192.0.2.44" not in caplog.text and "2001:db8::1" not in caplog.text
    assert caplog.text.count("[email]") == 1 and caplog.text.count("[ip]") == 2
    logs.configure(dataclasses.replace(settings, log_personal_data=True))
    try:
        assert logs.mask("dan@example.org 192.0.2.44") == "dan@example.org 192.0.2.44"
    finally:
        logs.configure(settings)
    assert logs.mask("dan@example.org") == "[email]"
    # version numbers, times and ids are left alone
    assert logs.mask("model abuse-2026.12.03 at 20:15:00 job 12") == "model abuse-2026.12.03 at 20:15:00 job 12"


def test_a_moderation_decision_records_the_request_that_made_it(app, client, helpers, captured):
    from moderation import ContentRef, screen_content
    from moderation.models import CaseState, ModerationCase, ModerationDecision, ModerationItem

    state = app.state
    with unit_of_work(state.engine, state.unit_context) as s:
        screen_content(s, ContentRef(kind="comment", item_id=1, text="You are all idiots", author_id=None,
                                     context_id=7, context_title="Buses", reach=0, url="/consultations/7#c1",
                                     strict=True))
    with read_session(state.engine) as s:
        item = s.exec(select(ModerationItem).where(ModerationItem.item_id == 1)).one()
        case_id = s.exec(select(ModerationCase.id).where(ModerationCase.item_pk == item.id,
                                                         ModerationCase.state == CaseState.OPEN)).one()
    helpers.sign_in(client, app, "admin@example.org", role="admin")
    decided = client.post(f"/moderation/cases/{case_id}/decide", data={
        "decision": "hide", "reason": "abuse", "passages": "", "block_days": "0", "note": ""})
    assert decided.status_code == 303, decided.text
    rid = decided.headers["x-request-id"]
    with read_session(state.engine) as s:
        record = s.exec(select(ModerationDecision).where(ModerationDecision.case_id == case_id)).one()
    assert record.request_id == rid
    line = next(r for r in captured.json("request") if r["request_id"] == rid)
    assert line["route"] == "/moderation/cases/{case_id}/decide" and line["status"] == 303


def test_request_lines_can_be_turned_off_and_personal_data_let_in_for_debugging(settings, captured, engine, sender,
                                                                                domain_settings):
    from app.main import create_app

    app = create_app(settings, engine=engine, sender=sender, domain_settings=domain_settings, run_worker=False)
    logs.configure(dataclasses.replace(settings, log_requests=False))
    with TestClient(app, base_url="https://testserver") as c:
        c.get("/about")
    assert captured.json("request") == []
    logs.configure(dataclasses.replace(settings, log_personal_data=True))
    with TestClient(app, base_url="https://testserver", client=("203.0.113.9", 4000)) as c:
        c.get("/no-such/ann@example.org")
    (line,) = captured.json("request")
    assert line["client"] == "203.0.113.9" and line["path"] == "/no-such/ann@example.org"
    logs.configure(settings)
    with TestClient(app, base_url="https://testserver", client=("203.0.113.9", 4000)) as c:
        c.get("/no-such/ann@example.org")
    line = captured.json("request")[-1]
    assert "client" not in line and line["path"] == "/no-such/[email]"
