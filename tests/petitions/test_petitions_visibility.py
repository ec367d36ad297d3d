"""What the public page does not show, no other route, API or e-mail shows: unpublished and hidden petitions,
moderators' private notes, admin-written reason text (escaped, never formatted), signers' names."""
from __future__ import annotations

import dataclasses
import re
import time

import pytest
from sqlmodel import select

from app.db import read_session
from petitions.models import Petition, Signature

ACTION = "Plant a thousand street trees on Elm Road"


def _moderator(flow):
    mod = flow.make_client()
    flow.helpers.sign_in(mod, flow.app, "mod@example.org", role="moderator")
    return mod


def _state(app, pid) -> str:
    with read_session(app.state.engine) as s:
        return s.get(Petition, pid).state


def _sponsor_link(flow, email="creator@example.org") -> str:
    for message in reversed(flow.helpers.outbox(flow.app, email)):
        found = re.findall(r"https?://\S*/sponsor\S*", message.body)
        if found:
            return flow.path(found[-1])
    raise AssertionError(f"no supporter link was e-mailed to {email}")


def _confirmed_pages(client, pid) -> list[str]:
    pages = []
    for kind in ("creator", "sponsor", "signature"):
        r = client.get(f"/petitions/signatures/confirmed?petition={pid}&kind={kind}")
        assert r.status_code == 200
        pages.append(r.text)
    return pages


# ----- finding 1: unpublished and hidden petitions -----

def test_confirmed_page_never_shows_the_title_of_a_petition_the_public_page_does_not_show(flow, make_client):
    anyone = make_client()
    flow.start(action=ACTION)
    with read_session(flow.app.state.engine) as s:
        pid = s.exec(select(Petition.id).where(Petition.action == ACTION)).first()
    seen_states = []
    for step in ("unconfirmed", "sponsoring", "pending", "hidden"):
        if step == "sponsoring":
            assert flow.confirm("creator@example.org").status_code == 303
        elif step == "pending":
            sponsor_path = flow.path(flow.link("creator@example.org", "/sponsor"))
            for i in range(5):
                c = make_client()
                token = re.search(r'name="token" value="([^"]+)"', c.get(sponsor_path).text).group(1)
                c.post(f"/petitions/{pid}/sponsor", data={"token": token, "name": f"S {i}",
                                                          "email": f"s{i}@example.org", "area": "South"})
                assert flow.confirm(f"s{i}@example.org", client=c).status_code == 303
        elif step == "hidden":
            r = _moderator(flow).post(f"/petitions/{pid}/moderate", data={"decision": "reject", "code": "defamatory"})
            assert r.status_code == 303
        seen_states.append(_state(flow.app, pid))
        assert anyone.get(f"/petitions/{pid}").status_code in (404, 200)
        for page in _confirmed_pages(anyone, pid):
            assert ACTION not in page and "Elm Road" not in page, step
            assert "enough supporters and is now waiting" not in page  # nor its state
    assert seen_states == ["unconfirmed", "sponsoring", "pending", "hidden"]
    assert "Elm Road" not in anyone.get(f"/petitions/{pid}").text


def test_confirmed_page_shows_the_title_once_the_petition_is_public(flow, client):
    pid = flow.open_petition(action=ACTION)
    page = client.get(f"/petitions/signatures/confirmed?petition={pid}&kind=signature").text
    assert ACTION in page and f"/petitions/{pid}" in page


def test_sponsor_link_stops_working_when_the_petition_is_hidden(flow, make_client):
    pid = flow.pending_petition(action=ACTION, sponsors=5)
    sponsor_path = _sponsor_link(flow)
    assert ACTION in make_client().get(sponsor_path).text  # while it collects supporters, link holders read it
    r = _moderator(flow).post(f"/petitions/{pid}/moderate", data={"decision": "reject", "code": "defamatory"})
    assert r.status_code == 303 and _state(flow.app, pid) == "hidden"
    r = make_client().get(sponsor_path)
    assert r.status_code == 404
    assert ACTION not in r.text and "Elm Road" not in r.text
    assert "no longer works" in r.text


def test_sponsor_link_of_a_rejected_petition_shows_nothing_and_of_a_published_one_leads_to_its_page(flow, make_client):
    rejected, rejected_link = flow.sponsoring_petition(action="Rename the old bridge after a local poet",
                                                       email="poet@example.org")
    mod = _moderator(flow)
    from app.db import unit_of_work
    with unit_of_work(flow.app.state.engine) as s:  # straight to moderation: the route does not need supporters
        s.get(Petition, rejected).state = "pending"
    assert mod.post(f"/petitions/{rejected}/moderate", data={"decision": "reject", "code": "duplicate"}).status_code == 303
    r = make_client().get(rejected_link)
    assert r.status_code == 404 and "old bridge" not in r.text

    published = flow.open_petition(action=ACTION)
    r = make_client().get(_sponsor_link(flow))
    assert r.status_code == 303 and r.headers["location"].endswith(f"/petitions/{published}")


def test_sponsor_link_expires_after_the_configured_days(flow, make_client):
    pid, link = flow.sponsoring_petition(action=ACTION)
    assert make_client().get(link).status_code == 200
    settings = flow.app.state.unit_context.domain_settings
    settings["petitions"] = dataclasses.replace(settings["petitions"], sponsor_link_days=0)
    time.sleep(1.1)
    r = make_client().get(link)
    assert r.status_code == 400 and "expired" in r.text
    assert ACTION not in r.text


def test_api_never_returns_a_hidden_petitions_private_rejection_details(flow, client):
    secret = "Moderator note: names the councillor, see case 4411"
    pid = flow.pending_petition(action=ACTION)
    r = _moderator(flow).post(f"/petitions/{pid}/moderate",
                              data={"decision": "reject", "code": "defamatory", "detail": secret})
    assert r.status_code == 303 and _state(flow.app, pid) == "hidden"
    page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200 and "case 4411" not in page.text and ACTION not in page.text
    body = client.get(f"/api/petitions/{pid}")
    assert body.status_code == 200
    assert "case 4411" not in body.text and "Elm Road" not in body.text
    assert body.json()["rejection"]["code"] == "defamatory"
    assert body.json()["signatures_by_area"] == [] and body.json()["response"] is None  # the page shows neither


def test_api_404s_wherever_the_public_page_404s(flow, client):
    flow.start(action=ACTION)
    with read_session(flow.app.state.engine) as s:
        unconfirmed = s.exec(select(Petition.id).where(Petition.action == ACTION)).first()
    sponsoring, _ = flow.sponsoring_petition(action="Open the library on Sundays", email="lib@example.org")
    for pid in (unconfirmed, sponsoring):
        client.cookies.clear()
        assert client.get(f"/petitions/{pid}").status_code == 404
        r = client.get(f"/api/petitions/{pid}")
        assert r.status_code == 404 and "Elm Road" not in r.text and "library" not in r.text


# ----- finding 5: admin-written rejection reasons -----

EVIL_TITLE = '50% off <b hx-get="/petitions/reasons" hx-trigger="load">%(x)s %s</b>'


def test_admin_reason_text_is_escaped_and_never_formatted(flow, app, helpers, make_client):
    admin = make_client()
    helpers.sign_in(admin, app, "admin@example.org", role="admin")
    r = admin.post("/petitions/reasons", data={"code": "spam-ring", "title": EVIL_TITLE,
                                               "description": "100% <i hx-post='/x'>sure</i> %d"})
    assert r.status_code == 303, r.text
    page = admin.get("/petitions/reasons")
    assert page.status_code == 200
    assert "<b hx-get" not in page.text and "<i hx-post" not in page.text
    assert "50% off &lt;b hx-get=" in page.text and "%(x)s %s" in page.text

    pid = flow.pending_petition(action=ACTION)
    mod = _moderator(flow)
    form = mod.get(f"/petitions/{pid}/moderate")
    assert form.status_code == 200 and "<b hx-get" not in form.text and "50% off &lt;b" in form.text
    r = mod.post(f"/petitions/{pid}/moderate", data={"decision": "reject", "code": "spam-ring"})
    assert r.status_code == 303
    flow.client.cookies.clear()
    page = flow.client.get(f"/petitions/{pid}")
    assert page.status_code == 200 and "<b hx-get" not in page.text and "<i hx-post" not in page.text
    assert "50% off &lt;b" in page.text
    mail = helpers.outbox(app, "creator@example.org")[-1]
    assert "50% off <b" in mail.body  # plain text e-mail: as written, never %-formatted


def test_built_in_reasons_are_translated_by_code_and_edited_ones_shown_as_written(app, helpers, make_client):
    admin = make_client()
    helpers.sign_in(admin, app, "admin@example.org", role="admin")
    admin.cookies.set("civic_locale", "zh-Hans")
    page = admin.get("/petitions/reasons").text
    assert "诽谤" in page and "与现有请愿重复" in page  # "Defamatory", "Duplicate of an existing petition"
    r = admin.post("/petitions/reasons", data={"code": "duplicate", "title": "Same as another petition",
                                               "description": ""})
    assert r.status_code == 303
    page = admin.get("/petitions/reasons").text
    assert "Same as another petition" in page and "与现有请愿重复" not in page and "诽谤" in page


# ----- finding 9: names, the state filter, one query for the CSV -----

def test_names_lose_control_characters_and_never_reach_an_email(flow, app, helpers):
    pid = flow.open_petition(action=ACTION)
    r = flow.sign(pid, "victim@example.org", name="Sam\r\nClick http://evil.example/x\tnow\u202e\x0b")
    assert r.status_code == 200, r.text
    with read_session(app.state.engine) as s:
        name = s.exec(select(Signature.name).where(Signature.email == "victim@example.org")).one()
    assert name == "Sam Click http://evil.example/x now"
    mail = helpers.outbox(app, "victim@example.org")[-1]
    assert "evil.example" not in mail.body and "Sam" not in mail.body
    creator_mail = helpers.outbox(app, "creator@example.org")[0]
    assert "Creator Person" not in creator_mail.body


@pytest.mark.parametrize("path", ["/api/petitions", "/api/petitions.csv"])
def test_api_answers_422_for_an_unknown_state_filter(client, path):
    r = client.get(path + "?state=opne")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["status"] == 422 and "open, closed" in error["message"]
    assert client.get(path + "?state=closed").status_code == 200


def _add_petitions(app, n: int, start: int = 0) -> None:
    from datetime import timedelta

    from app.clock import utc_now
    from app.db import unit_of_work
    from petitions.models import AreaCount, Response

    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        for i in range(start, start + n):
            p = Petition(action=f"Petition number {i}", background="Because.", creator_name="C",
                         creator_email=f"c{i}@example.org", state="open" if i % 3 else "rejected",
                         rejection_code="" if i % 3 else "duplicate", signature_count=i, created_at=now,
                         updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
            s.add(p)
            s.flush()
            s.add(AreaCount(petition_id=p.id, area="North", count=i))
            if i % 2:
                s.add(Response(petition_id=p.id, summary=f"Answer {i}", details="Details.", decision="accepted",
                               published_at=now))


@pytest.fixture
def count_queries(app):
    from sqlalchemy import event

    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", before)
    yield statements
    event.remove(app.state.engine, "before_cursor_execute", before)


def test_csv_export_is_one_query_whatever_the_number_of_petitions(app, client, count_queries):
    _add_petitions(app, 30)
    count_queries.clear()
    r = client.get("/api/petitions.csv")
    assert r.status_code == 200
    assert len(count_queries) == 1, count_queries
    lines = r.text.splitlines()
    assert len(lines) == 31 and "Petition number 29" in lines[1]
    assert any("Answer 29" in line and "accepted" in line for line in lines)


def test_json_list_loads_a_page_in_a_fixed_number_of_queries(app, client, count_queries):
    _add_petitions(app, 2)
    count_queries.clear()
    small = client.get("/api/petitions?q=Petition")  # two addresses: the app caches API answers
    few = len(count_queries)
    _add_petitions(app, 40, start=2)
    count_queries.clear()
    full = client.get("/api/petitions?q=number")
    assert small.status_code == full.status_code == 200
    assert len(full.json()["data"]) == 20
    assert len(count_queries) == few <= 8, count_queries
    item = full.json()["data"][0]
    assert item["title"] == "Petition number 41" and item["response"]["summary"] == "Answer 41"
    assert item["signatures_by_area"] == [{"area": "North", "count": 41, "online": 41, "paper": 0}]


def test_a_stop_updates_link_shows_no_title_once_the_petition_is_hidden(flow, app, make_client):
    from app.db import unit_of_work
    from petitions import service

    pid = flow.open_petition(action=ACTION)
    assert flow.sign(pid, "reader@example.org").status_code == 200
    with read_session(app.state.engine) as s:
        sid = s.exec(select(Signature.id).where(Signature.email == "reader@example.org")).one()
    token = app.state.signer.sign(service.STOP_UPDATES_PURPOSE, {"sid": sid}, single_use=False)
    visitor = make_client()
    assert ACTION in visitor.get(f"/petitions/signatures/stop-updates?token={token}").text
    with unit_of_work(app.state.engine) as s:
        service.hide_petition(s, petition_id=pid, code="defamatory")
    page = visitor.get(f"/petitions/signatures/stop-updates?token={token}")
    assert page.status_code == 200 and "Elm Road" not in page.text
    done = visitor.post("/petitions/signatures/stop-updates", data={"token": token})
    assert done.status_code == 200 and "Elm Road" not in done.text and "still counts" in done.text
