"""Every bad input path gets a clear message, keeps what was typed, and loses no data."""
from __future__ import annotations

import dataclasses
import re
import time

from sqlalchemy import func, select, update

from app.db import read_session, unit_of_work
from petitions.models import Petition, PetitionState, Signature


def _rows(app, pid):
    with read_session(app.state.engine) as s:
        return s.execute(select(func.count()).select_from(Signature).where(Signature.petition_id == pid)).scalar_one()


def _token(page_text):
    return re.search(r'name="token" value="([^"]+)"', page_text).group(1)


def test_closed_petition_cannot_be_signed(flow, app, helpers):
    pid = flow.open_petition()
    with unit_of_work(app.state.engine) as s:
        s.execute(update(Petition).where(Petition.id == pid).values(closes_at=Petition.opened_at))
    helpers.run_jobs(app)  # nothing to do yet: close_expired is periodic
    app.state.jobs.handlers["petitions.close_expired"](app.state.job_context, {})
    with read_session(app.state.engine) as s:
        assert s.get(Petition, pid).state == PetitionState.CLOSED
    before = _rows(app, pid)
    r = flow.sign(pid, "late@example.org", name="Late Signer")
    assert r.status_code == 409
    assert "This petition is closed" in r.text
    assert _rows(app, pid) == before


def test_duplicate_email_variants_never_add_a_row(flow, app, helpers):
    pid = flow.open_petition()
    assert flow.sign(pid, "jane.doe@gmail.com").status_code == 200
    before = _rows(app, pid)
    r = flow.sign(pid, "JaneDoe+petitions@GMAIL.com")
    assert r.status_code == 200 and "sent the confirmation email again" in r.text
    r = flow.sign(pid, "j.a.n.e.d.o.e@googlemail.com")
    assert r.status_code == 200
    r = flow.sign(pid, "janedoe@gmail.com")  # fourth attempt: the resend limit (3 e-mails) is reached
    assert r.status_code == 422 and "already been used to sign this petition" in r.text
    assert _rows(app, pid) == before
    assert len(helpers.outbox(app, "jane.doe@gmail.com")) == 1
    flow.confirm("JaneDoe+petitions@GMAIL.com")
    r = flow.sign(pid, "janedoe@gmail.com")
    assert r.status_code == 422 and "already signed this petition" in r.text
    assert 'value="janedoe@gmail.com"' in r.text  # what was typed is kept


def test_reused_and_expired_confirmation_links(flow, app, client, domain_settings):
    pid = flow.open_petition()
    flow.sign(pid, "twice@example.org")
    assert flow.confirm("twice@example.org").status_code == 303
    r = flow.confirm("twice@example.org")
    assert r.status_code == 400 and "already been used" in r.text

    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"],
                                                                 confirm_token_days=0)
    flow.sign(pid, "slow@example.org")
    time.sleep(1.1)
    r = flow.confirm("slow@example.org")
    assert r.status_code == 400 and "expired" in r.text
    r = client.post("/petitions/signatures/confirm", data={"token": "not-a-token"})
    assert r.status_code == 400 and "not valid" in r.text


def _clear_buckets(app):
    from sqlalchemy import delete

    from app.models import RateLimitBucket

    with unit_of_work(app.state.engine) as s:
        s.execute(delete(RateLimitBucket))


def test_rate_limit_keeps_what_was_typed(flow, app):
    pid = flow.open_petition()
    _clear_buckets(app)
    app.state.unit_context.domain_settings["petitions"] = dataclasses.replace(app.state.unit_context.domain_settings["petitions"],
                                                                 sign_rate_burst="1/60")
    assert flow.sign(pid, "first@example.org").status_code == 200
    r = flow.sign(pid, "second@example.org", name="Second Person")
    assert r.status_code == 429
    assert r.headers["Retry-After"]
    assert "Too many signatures came from your network" in r.text
    assert 'value="Second Person"' in r.text and 'value="second@example.org"' in r.text
    with read_session(app.state.engine) as s:
        assert not s.execute(select(Signature).where(Signature.email == "second@example.org")).first()


def test_rate_limit_allow_list_lets_shared_networks_sign(flow, app, client):
    pid = flow.open_petition()
    _clear_buckets(app)
    app.state.unit_context.domain_settings["petitions"] = dataclasses.replace(app.state.unit_context.domain_settings["petitions"],
                                                                 sign_rate_burst="1/60")
    app.state.settings = dataclasses.replace(app.state.settings, rate_limit_allowlist=("0.0.0.0/0",))
    import petitions.routes as routes

    original = routes._ip
    routes._ip = lambda request: "10.1.2.3"
    try:
        assert flow.sign(pid, "lib1@example.org").status_code == 200
        assert flow.sign(pid, "lib2@example.org").status_code == 200
    finally:
        routes._ip = original


def test_over_long_fields_are_refused_with_counts(client, app):
    data = {"action": "x" * 81, "background": "y" * 301, "details": "z" * 801, "name": "Ann",
            "email": "ann@example.org", "area": "North", "stage": "check"}
    r = client.post("/petitions/start", data=data)
    assert r.status_code == 422
    assert "The action must be 80 characters or fewer (you have 81)" in r.text
    assert "The background must be 300 characters or fewer (you have 301)" in r.text
    assert "The details must be 800 characters or fewer (you have 801)" in r.text
    assert "y" * 301 in r.text  # kept for editing
    with read_session(app.state.engine) as s:
        assert s.execute(select(func.count()).select_from(Petition)).scalar_one() == 0


def test_csv_injection_looking_names_are_refused_and_csv_cells_are_neutralised(flow, client, app):
    r = client.post("/petitions/start", data={
        "action": "=HYPERLINK(\"http://evil\")", "background": "Background", "name": "=cmd|' /C calc'!A0",
        "email": "x@example.org", "area": "North", "stage": "submit"})
    assert r.status_code == 422
    assert "Your name can&#39;t start with =, +, - or @" in r.text or "Your name can't start with" in r.text
    assert "=cmd|" in r.text  # what was typed is kept
    pid = flow.open_petition(action="=SUM(1+1) more buses")
    r = flow.sign(pid, "ok@example.org", name="@Mallory")
    assert r.status_code == 422 and "can" in r.text
    csv_text = client.get("/api/petitions.csv").text
    assert "'=SUM(1+1) more buses" in csv_text
    assert "\n=SUM" not in csv_text and ",=SUM" not in csv_text


def test_bad_area_and_email_messages(flow):
    pid = flow.open_petition()
    r = flow.sign(pid, "not-an-email", area="Atlantis")
    assert r.status_code == 422
    assert "Enter an email address like name@example.com" in r.text
    assert "Enter a postcode like SW1A 1AA" in r.text
    assert flow.sign(pid, "pc@example.org", area="sw1a 1aa").status_code == 200


def test_moderation_pipeline_failure_never_loses_a_submission(flow, app, monkeypatch):
    import petitions.service

    def boom(*args, **kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(petitions.service, "screen_content", boom)  # where the petitions service looks it up
    pid = flow.open_petition()
    with read_session(app.state.engine) as s:
        assert s.get(Petition, pid).state == PetitionState.OPEN


def test_staff_pages_are_guarded(flow, app, helpers, make_client, client):
    pid = flow.open_petition()
    assert client.get("/petitions/moderation").status_code == 403
    assert client.get(f"/petitions/{pid}/respond").status_code == 403
    other = make_client()
    helpers.sign_in(other, app, "health@example.org", role="official", department="health")
    r = other.post(f"/petitions/{pid}/respond", data={"summary": "S", "details": "D", "decision": "accepted"})
    assert r.status_code == 403 and "department responsible" in r.text
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    r = official.post(f"/petitions/{pid}/respond", data={"summary": "", "details": "", "decision": "maybe"})
    assert r.status_code == 422 and "Enter a summary" in r.text and "Choose the decision" in r.text
