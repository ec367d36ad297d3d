"""Open data, caching headers, the count endpoint, scheduled jobs and privacy."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.clock import utc_now
from app.db import read_session, unit_of_work
from petitions.models import Petition, Signature


def test_api_list_detail_csv_series_and_openapi(flow, client, app, helpers, make_client):
    pid = flow.open_petition()
    flow.sign(pid, "reader@example.org", name="Private Name", area="East")
    flow.confirm("reader@example.org")
    helpers.run_jobs(app)
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    official.post(f"/petitions/{pid}/respond", data={"summary": "Yes.", "details": "Because.", "decision": "accepted"})

    r = client.get("/api/petitions?state=open&q=cycle&page=1")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["meta"]["total"] == 1
    item = body["data"][0]
    for key in ("id", "url", "title", "background", "state", "signature_count", "created_at", "opened_at",
                "closes_at", "response", "debate", "signatures_by_area"):
        assert key in item
    assert item["signature_count"] == 7 and item["response"]["decision"] == "accepted"
    assert {"area": "East", "count": 1, "online": 1, "paper": 0} in item["signatures_by_area"]
    assert client.get("/api/petitions?state=closed").json()["meta"]["total"] == 0

    detail = client.get(f"/api/petitions/{pid}").json()
    # a link an open-data user can follow: the site's configured address, not a path
    assert detail["id"] == pid and detail["url"] == f"https://testserver/petitions/{pid}"
    series = client.get(f"/api/petitions/{pid}/signatures-by-hour").json()
    assert series["series"][-1]["signature_count"] == 7
    csv_text = client.get("/api/petitions.csv").text
    assert csv_text.splitlines()[0].startswith("id,url,title,state,signature_count")
    assert "Build more cycle lanes" in csv_text and f"\n{pid},https://testserver/petitions/{pid}," in csv_text
    for text in (r.text, client.get(f"/api/petitions/{pid}").text, csv_text, client.get(f"/petitions/{pid}").text):
        assert "reader@example.org" not in text and "Private Name" not in text and "testclient" not in text
    doc = client.get("/api/openapi.json").json()
    for path in ("/petitions", "/petitions/{id}", "/petitions.csv", "/petitions/{id}/signatures-by-hour"):
        assert path in doc["paths"]
    assert "Petition" in doc["components"]["schemas"]
    assert client.get("/api/petitions/99999").status_code == 404


def test_pages_and_count_are_cacheable(flow, client, app, helpers):
    pid = flow.open_petition()
    helpers.run_jobs(app)
    anon = client
    anon.cookies.clear()
    r = anon.get(f"/petitions/{pid}")
    assert r.status_code == 200
    assert "stale-while-revalidate" in r.headers["cache-control"] and r.headers["etag"]
    assert r.headers["last-modified"]
    again = anon.get(f"/petitions/{pid}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    count = anon.get(f"/petitions/{pid}/count")
    assert count.status_code == 200 and 'id="signature-count"' in count.text and "<html" not in count.text
    assert "stale-while-revalidate" in count.headers["cache-control"]
    assert "hx-trigger" in count.text
    flow.sign(pid, "late@example.org")
    flow.confirm("late@example.org")
    helpers.run_jobs(app)  # settling drops the cached page and count
    anon.cookies.clear()
    assert "<strong>7</strong>" in anon.get(f"/petitions/{pid}/count").text


def test_a_stored_count_is_served_until_it_expires(flow, client, app, helpers):
    """The count fragment is stored once per process for anonymous visitors: a change made without a purge (a
    settle purges) shows once the entry expires, not before."""
    from sqlalchemy import text

    from app.db import unit_of_work

    pid = flow.open_petition()
    helpers.run_jobs(app)
    client.cookies.clear()
    assert "<strong>6</strong>" in client.get(f"/petitions/{pid}/count").text
    with unit_of_work(app.state.engine) as s:  # the count moves on without the purge a settle would do
        s.execute(text("UPDATE petition SET signature_count = 9 WHERE id = :p"), {"p": pid})
    assert "<strong>6</strong>" in client.get(f"/petitions/{pid}/count").text
    cache = app.state.response_cache
    for key, entry in list(cache.entries.items()):
        cache.entries[key] = entry._replace(expires=0.0)
    assert "<strong>9</strong>" in client.get(f"/petitions/{pid}/count").text


def test_browse_facets_search_and_sort(flow, client, app, helpers):
    a = flow.open_petition(action="Plant more trees in every park")
    helpers.run_jobs(app)
    r = client.get("/petitions/?q=trees")
    assert "Plant more trees" in r.text
    r = client.get("/petitions/?q=nothing-matches-this")
    assert "No petitions match" in r.text
    r = client.get("/petitions/?state=open&sort=newest")
    assert "Plant more trees" in r.text
    r = client.get("/petitions/?state=rejected")
    assert "Plant more trees" not in r.text
    partial = client.get("/petitions/?q=trees", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="petition-list">')
    home = client.get("/")
    assert "Popular open petitions" in home.text and "Plant more trees" in home.text
    assert client.get(f"/petitions/{a}").status_code == 200


def test_signatures_are_anonymised_after_close(flow, app, helpers):
    pid = flow.open_petition()
    flow.sign(pid, "anon@example.org", name="To Be Erased")
    flow.confirm("anon@example.org")
    helpers.run_jobs(app)
    long_ago = utc_now() - timedelta(days=400)
    with unit_of_work(app.state.engine) as s:
        s.execute(update(Petition).where(Petition.id == pid).values(state="closed", closed_at=long_ago))
    app.state.jobs.handlers["petitions.anonymise"](app.state.job_context, {})
    with read_session(app.state.engine) as s:
        sigs = s.execute(select(Signature).where(Signature.petition_id == pid)).scalars().all()
        assert sigs and all(sig.email == "" and sig.name == "" and sig.ip_address == "anon" for sig in sigs)
        p = s.get(Petition, pid)
        assert p.anonymised_at is not None and p.creator_email == ""
        assert p.signature_count == 7  # the count stays


def test_debate_outcome_published_and_emailed(flow, app, helpers, make_client, client):
    pid = flow.open_petition()
    flow.sign(pid, "deb@example.org")
    flow.confirm("deb@example.org")
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    r = official.post(f"/petitions/{pid}/debate", data={"debated_on": "2027-01-15", "summary": "MPs debated it.",
                                                        "links": "https://example.org/video"})
    assert r.status_code == 303, r.text
    helpers.run_jobs(app)
    assert "MPs debated it." in client.get(f"/petitions/{pid}").text
    assert helpers.outbox(app, "deb@example.org")[-1].subject == "The petition has been debated"
    assert "Debated" in client.get("/petitions/?state=debated").text


def test_admin_edits_rejection_reasons(app, helpers, make_client):
    admin = make_client()
    helpers.sign_in(admin, app, "admin@example.org", role="admin")
    r = admin.post("/petitions/reasons", data={"code": "duplicate", "title": "Already a petition about this",
                                                "description": "Sign the other one."})
    assert r.status_code == 303
    assert "Already a petition about this" in admin.get("/petitions/reasons").text
    r = admin.post("/petitions/reasons", data={"code": "Bad Code!", "title": ""})
    assert r.status_code == 422 and "lower-case" in r.text
    mod = make_client()
    helpers.sign_in(mod, app, "mod@example.org", role="moderator")
    assert mod.get("/petitions/reasons").status_code == 403


def test_similar_petitions_ranking(flow, app):
    from petitions import queries

    flow.open_petition(action="Ban fireworks sales to the public")
    with read_session(app.state.engine) as s:
        queries._INDEX.clear()
        found = queries.similar_petitions(s, text="Stop selling fireworks to the public")
        assert found and found[0].action == "Ban fireworks sales to the public"
        assert queries.similar_petitions(s, text="Improve hospital parking") == ()


def test_demo_content_is_idempotent_and_synthetic(app, client, helpers):
    import petitions.demo

    helpers.add_user(app, "official@example.org", role="official", department="transport")
    st = app.state

    def load():
        with unit_of_work(st.engine, st.unit_context) as session:
            return petitions.demo.load(session, renderer=st.renderer, now=utc_now())

    assert load() > 40
    assert load() == 0
    with read_session(app.state.engine) as s:
        emails = s.execute(select(Signature.email).limit(500)).scalars().all()
        assert emails and all(e.endswith("@example.org") for e in emails)
    page = client.get("/petitions/?state=open")
    assert page.status_code == 200 and "Give all British citizens living abroad" in page.text
    assert "Give all British citizens living abroad" in client.get("/petitions/awaiting-response").text
    responded = client.get("/api/petitions?state=responded").json()
    assert responded["meta"]["total"] >= 1 and responded["data"][0]["response"]["summary"]


def _seed_petitions(app, n: int, tag: str) -> None:
    """`n` visible petitions, each with everything the API shows from another table: a department, an official
    response, a debate, signatures in two areas and, for every third one, a rejection reason."""
    from datetime import date

    from app.models import Department
    from petitions.models import AreaCount, Debate, PetitionState, RejectionReason, Response

    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        depts = [Department(code=f"{tag}-{i}", name=f"Department {tag} {i}") for i in range(2)]
        reason = RejectionReason(code=f"{tag}-offtopic", title="Off topic", description="Not for us.")
        s.add_all([*depts, reason])
        s.flush()
        for i in range(n):
            rejected = i % 3 == 0
            p = Petition(action=f"Petition {tag} {i}", background="Because.", details="More.", creator_name="C",
                         creator_email=f"{tag}{i}@example.org", created_at=now, updated_at=now, opened_at=now,
                         closes_at=now + timedelta(days=30), signature_count=10 + i,
                         state=PetitionState.REJECTED if rejected else PetitionState.OPEN,
                         rejection_code=reason.code if rejected else "", rejected_at=now if rejected else None,
                         department_id=depts[i % 2].id, response_threshold_at=now, debate_threshold_at=now)
            s.add(p)
            s.flush()
            s.add_all([Response(petition_id=p.id, summary="Answer.", details="Details.", decision="accepted",
                                published_at=now),
                       Debate(petition_id=p.id, debated_on=date(2026, 1, 2), summary="Debated.",
                              links="https://example.org/a\nhttps://example.org/b", published_at=now),
                       AreaCount(petition_id=p.id, area="North", count=3 + i),
                       AreaCount(petition_id=p.id, area="South", count=2)])


class _StatementCounter:
    """Counts the SQL statements sent through an engine while it is listening, leaving out transaction control
    (the SQLite engine sends its own BEGIN; PostgreSQL's driver begins implicitly)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.count, self._event = engine, 0, event
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.count += 1

    def during(self, fn):
        """How many statements `fn()` sent, and what it returned."""
        before = self.count
        result = fn()
        return self.count - before, result

    def close(self) -> None:
        self._event.remove(self.engine, "before_cursor_execute", self._count)


# A page of the JSON list, whatever its size: the count, the page with each petition's response, debate,
# rejection reason and department joined, and the signatures by area of the whole page.
LIST_QUERIES = 3
# One petition: itself with the same joined rows, and its signatures by area.
DETAIL_QUERIES = 2


def test_api_list_and_detail_take_a_fixed_number_of_queries_however_many_petitions(app, client):
    """An N+1 (queries per petition on the page) would make the 20-petition page cost more than the 3-petition one."""
    counter = _StatementCounter(app.state.engine)
    try:
        _seed_petitions(app, 3, "a")
        client.get("/api/petitions?state=closed")  # connect and warm up before counting
        n_small, small = counter.during(lambda: client.get("/api/petitions"))
        _seed_petitions(app, 17, "b")
        n_full, full = counter.during(lambda: client.get("/api/petitions?page=1"))
        pid = full.json()["data"][0]["id"]
        n_detail, detail = counter.during(lambda: client.get(f"/api/petitions/{pid}"))
    finally:
        counter.close()
    assert small.status_code == full.status_code == detail.status_code == 200
    assert len(small.json()["data"]) == 3 and len(full.json()["data"]) == 20
    # each petition really carries what the other tables hold (so a lazy or skipped lookup would show here)
    for item in full.json()["data"]:
        assert item["response"]["decision"] == "accepted" and item["debate"]["links"] == [
            "https://example.org/a", "https://example.org/b"]
        assert item["department"].startswith("Department ") and len(item["signatures_by_area"]) == 2
    assert sum(1 for item in full.json()["data"] if item["rejection"]) == 7
    assert detail.json() == full.json()["data"][0]
    assert (n_small, n_full) == (LIST_QUERIES, LIST_QUERIES)
    assert n_detail == DETAIL_QUERIES
