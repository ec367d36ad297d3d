"""The whole lifecycle through HTTP: start, confirm, sponsor, moderate, sign, confirm, settle, respond."""
from __future__ import annotations

import re

from sqlmodel import select

from app.db import read_session
from petitions.models import Petition, PetitionState, Signature


def _petition(app, pid):
    with read_session(app.state.engine) as s:
        p = s.get(Petition, pid)
        s.expunge(p)
        return p


def test_start_shows_similar_open_petitions_before_submitting(flow, client):
    pid = flow.open_petition(action="Build more cycle lanes in the city centre")
    r = client.post("/petitions/start", data={
        "action": "More cycle lanes in the city", "background": "Cycling lanes make streets safer.",
        "name": "Ann", "email": "ann@example.org", "area": "North", "stage": "check"})
    assert r.status_code == 200
    assert "Similar open petitions" in r.text
    assert f"/petitions/{pid}" in r.text
    assert "Submit my petition" in r.text


def test_full_lifecycle_counts_only_confirmed_and_emails_response(flow, client, app, helpers, make_client):
    pid = flow.open_petition()
    p = _petition(app, pid)
    assert p.state == PetitionState.OPEN and p.closes_at is not None
    assert helpers.outbox(app, "sponsor0@example.org")[-1].subject == "The petition has been published"
    helpers.run_jobs(app)
    assert _petition(app, pid).signature_count == 6  # creator + 5 sponsors

    r = flow.sign(pid, "Voter.One+news@gmail.com", name="Voter One")
    assert r.status_code == 200 and "Check your email" in r.text
    helpers.run_jobs(app)
    assert _petition(app, pid).signature_count == 6  # unconfirmed signatures don't count
    assert flow.confirm("Voter.One+news@gmail.com").status_code == 303
    helpers.run_jobs(app)
    page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200
    assert "<strong>7</strong>" in page.text
    assert "Voter One" not in page.text and "gmail" not in page.text

    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    r = official.post(f"/petitions/{pid}/respond", data={
        "summary": "We will build two new lanes.", "details": "Funding is agreed for 2027.",
        "decision": "partly_accepted", "follow_up_on": "2027-06-30"})
    assert r.status_code == 303, r.text
    helpers.run_jobs(app)
    page = client.get(f"/petitions/{pid}")
    assert "Official response" in page.text and "We will build two new lanes." in page.text
    mails = helpers.outbox(app, "Voter.One+news@gmail.com")
    assert mails[-1].subject == "The official response to the petition"
    assert "We will build two new lanes." in mails[-1].body


def test_threshold_reached_appears_in_awaiting_response(flow, client, app, helpers, domain_settings):
    import dataclasses

    pid = flow.open_petition()
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"],
                                                                 response_threshold=7)
    flow.sign(pid, "a@example.org")
    flow.confirm("a@example.org")
    helpers.run_jobs(app)
    assert _petition(app, pid).response_threshold_at is not None
    r = client.get("/petitions/awaiting-response")
    assert "Build more cycle lanes" in r.text
    r = client.get("/petitions/?state=awaiting")
    assert "Build more cycle lanes" in r.text


def test_reject_with_hiding_reason_hides_text_and_tells_creator(flow, app, helpers, make_client, client):
    flow.start(action="Something offensive here")
    flow.confirm("creator@example.org")
    with read_session(app.state.engine) as s:
        pid = s.exec(select(Petition.id)).first()
    # move it to moderation directly through enough sponsors
    import dataclasses
    app.state.unit_context.domain_settings["petitions"] = dataclasses.replace(app.state.unit_context.domain_settings["petitions"], sponsor_threshold=1)
    sponsor_path = flow.path(flow.link("creator@example.org", "/sponsor"))
    c = make_client()
    token = re.search(r'name="token" value="([^"]+)"', c.get(sponsor_path).text).group(1)
    c.post(f"/petitions/{pid}/sponsor", data={"token": token, "name": "S", "email": "s@example.org", "area": "South"})
    flow.confirm("s@example.org", client=c)
    assert _petition(app, pid).state == PetitionState.PENDING
    mod = make_client()
    helpers.sign_in(mod, app, "mod@example.org", role="moderator")
    queue = mod.get("/petitions/moderation")
    assert "Something offensive here" in queue.text
    r = mod.post(f"/petitions/{pid}/moderate", data={"decision": "reject", "code": "offensive", "detail": ""})
    assert r.status_code == 303
    assert _petition(app, pid).state == PetitionState.HIDDEN
    page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200 and "Something offensive here" not in page.text
    assert "Offensive or abusive" in page.text
    assert helpers.outbox(app, "creator@example.org")[-1].subject == "The petition could not be published"
    assert helpers.outbox(app, "s@example.org")[-1].subject == "The petition could not be published"


def test_withdrawing_takes_signature_off_the_count(flow, client, app, helpers):
    pid = flow.open_petition()
    flow.sign(pid, "w@example.org")
    flow.confirm("w@example.org")
    helpers.run_jobs(app)
    assert _petition(app, pid).signature_count == 7
    link = flow.path(flow.link("w@example.org", "/signatures/withdraw"))
    page = client.get(link)
    assert "Withdraw my signature" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    assert client.post("/petitions/signatures/withdraw", data={"token": token}).status_code == 303
    helpers.run_jobs(app)
    assert _petition(app, pid).signature_count == 6
    with read_session(app.state.engine) as s:
        sig = s.exec(select(Signature).where(Signature.email == "w@example.org")).one()
        assert sig.state == "withdrawn" and sig.name == ""


def test_signing_again_after_withdrawing_starts_afresh_and_counts_once_confirmed(flow, client, app, helpers):
    pid = flow.open_petition()
    flow.sign(pid, "back@example.org")
    flow.confirm("back@example.org")
    link = flow.path(flow.link("back@example.org", "/signatures/withdraw"))
    token = re.search(r'name="token" value="([^"]+)"', client.get(link).text).group(1)
    assert client.post("/petitions/signatures/withdraw", data={"token": token}).status_code == 303
    helpers.run_jobs(app)
    before = _petition(app, pid).signature_count
    r = flow.sign(pid, "back@example.org", name="Back Again")
    assert r.status_code == 200 and "sent the confirmation email again" in r.text
    with read_session(app.state.engine) as s:
        sig = s.exec(select(Signature).where(Signature.email == "back@example.org")).one()
        assert (sig.state, sig.name, sig.confirmations_sent) == ("pending", "Back Again", 1)
    flow.confirm("back@example.org")
    helpers.run_jobs(app)
    assert _petition(app, pid).signature_count == before + 1


def test_change_my_petition_goes_back_to_the_form_with_the_text(client):
    data = {"action": "Light the canal towpath", "background": "It is dark in winter.", "name": "Ann",
            "email": "ann@example.org", "area": "North"}
    r = client.post("/petitions/start", data={**data, "stage": "edit"})
    assert r.status_code == 200
    assert 'value="Light the canal towpath"' in r.text and "Continue" in r.text


def test_signers_can_stop_update_emails_from_the_link_in_them(flow, client, app, helpers, make_client):
    pid = flow.open_petition()
    for email in ("stop@example.org", "keep@example.org"):
        flow.sign(pid, email)
        flow.confirm(email)
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    assert official.post(f"/petitions/{pid}/respond", data={
        "summary": "We will build two new lanes.", "details": "Funding is agreed.",
        "decision": "partly_accepted", "follow_up_on": "2027-06-30"}).status_code == 303
    helpers.run_jobs(app)
    mail = helpers.outbox(app, "stop@example.org")[-1]
    assert mail.subject == "The official response to the petition"
    link = helpers.last_link(app, "stop@example.org", r"https?://\S+/signatures/stop-updates\?token=\S+")
    assert mail.unsubscribe_url == link  # also sent as List-Unsubscribe, for the mail program's own button
    path = link.replace(app.state.settings.base_url, "")
    visitor = make_client()
    page = visitor.get(path)  # opening the link (or a link checker doing so) changes nothing
    assert page.status_code == 200 and "Stop these e-mails" in page.text
    assert "stop@example.org" not in page.text
    done = visitor.post("/petitions/signatures/stop-updates", data={"token": path.split("token=")[1]})
    assert done.status_code == 200 and "You won't get e-mails about this petition any more" in done.text
    assert visitor.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent, one-click
    bad = visitor.get("/petitions/signatures/stop-updates?token=nonsense")
    assert bad.status_code == 400 and "Copy the whole link from the e-mail" in bad.text

    assert official.post(f"/petitions/{pid}/debate", data={"debated_on": "2027-01-15",
                                                           "summary": "MPs debated it."}).status_code == 303
    helpers.run_jobs(app)
    assert helpers.outbox(app, "keep@example.org")[-1].subject == "The petition has been debated"
    assert helpers.outbox(app, "stop@example.org")[-1].subject == "The official response to the petition"
    assert "<strong>8</strong>" in client.get(f"/petitions/{pid}").text  # creator, 5 sponsors, both signers
