"""Officials creating, editing, opening and closing consultations; the list with facets and search; settings."""
from __future__ import annotations

import ast
import dataclasses
import inspect
import re

import pytest

from consultations import config
from consultations.models import Consultation, Question


def test_official_creates_edits_and_opens_a_consultation(app, client, helpers):
    helpers.sign_in(client, app, "official@example.org", role="official", department="transport")
    form = client.get("/consultations/new")
    assert form.status_code == 200 and 'for="field-title"' in form.text
    bad = client.post("/consultations/new", data={"title": "", "body": "", "closes_on": "31/03"})
    assert bad.status_code == 422 and "Enter a title." in bad.text and "Enter a date like" in bad.text
    created = client.post("/consultations/new", data={
        "title": "Cycle lanes on Mill Road", "summary": "Protected lanes.",
        "body": '<p>Plan <a href="javascript:alert(1)">x</a></p>', "questions": "Where?\nWhen?",
        "closes_on": "2099-01-31"})
    assert created.status_code == 303
    cid = int(created.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/consultations/{cid}").text
    assert "Draft" in page and "javascript:" not in page and "Where?" in page and "Open for comments" in page
    # Drafts are invisible to the public.
    assert helpers.add_user(app, "x@example.org")
    from starlette.testclient import TestClient
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as anon:
        assert anon.get(f"/consultations/{cid}").status_code == 404
        assert "Cycle lanes" not in anon.get("/consultations/?facet=draft").text
    edited = client.post(f"/consultations/{cid}/edit", data={
        "title": "Cycle lanes on Mill Road", "body": "<p>Plan v2</p>", "questions": "Where exactly?\nWhen?\nHow?"})
    assert edited.status_code == 303
    with app.state.engine.connect() as conn:
        from sqlmodel import select
        assert conn.execute(select(Question.text).order_by(Question.position)).scalars().all() == [
            "Where exactly?", "When?", "How?"]
    assert client.post(f"/consultations/{cid}/state", data={"action": "open"}).status_code == 303
    assert "Open" in client.get("/consultations/").text
    assert client.post(f"/consultations/{cid}/state", data={"action": "bogus"}).status_code == 409


def test_residents_cannot_reach_official_pages(app, client, helpers, factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "resident@example.org")
    assert client.get("/consultations/new").status_code == 403
    assert client.post(f"/consultations/{cid}/edit", data={"title": "x"}).status_code == 403
    assert client.post(f"/consultations/{cid}/state", data={"action": "close"}).status_code == 403
    assert client.post(f"/consultations/{cid}/report", data={"report": "x"}).status_code == 403


def test_officials_of_another_department_cannot_edit(app, client, helpers, factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "env@example.org", role="official", department="environment")
    refused = client.post(f"/consultations/{cid}/edit", data={"title": "Taken over", "body": "<p>x</p>"})
    assert refused.status_code == 403 and "department" in refused.text


def test_list_facets_and_search(app, client, factories):
    factories.consultation(app, title="Bus lanes on High Street")
    factories.consultation(app, title="Library opening hours", state="closed")
    factories.consultation(app, title="School streets", state="reported")
    page = client.get("/consultations/").text
    assert "Bus lanes" in page and "Library" not in page
    assert "Library opening hours" in client.get("/consultations/?facet=closed").text
    reported = client.get("/consultations/?facet=reported").text
    assert "School streets" in reported and "Bus lanes" not in reported
    found = client.get("/consultations/?facet=all&q=library").text
    assert "Library opening hours" in found and "Bus lanes" not in found
    assert "No consultations match" in client.get("/consultations/?facet=all&q=zebra").text
    assert re.search(r"Open \(1\)", page)
    home = client.get("/").text
    assert "Bus lanes on High Street" in home


def test_expired_consultations_close_on_schedule(app, helpers, factories):
    from datetime import timedelta

    from app.clock import utc_now
    from consultations import service
    from consultations.models import Consultation

    cid = factories.consultation(app)
    with factories.uow(app) as session:
        row = session.get(Consultation, cid)
        row.closes_at = utc_now() - timedelta(minutes=1)
        session.add(row)
    with factories.uow(app) as session:
        assert service.close_expired(session) == 1
        assert session.get(Consultation, cid).state == "closed"


def test_drafts_open_on_their_opening_date(app, client, make_client, helpers, factories):
    from datetime import timedelta

    from app.clock import utc_now
    from app.main import build_job_registry
    from consultations import service
    from consultations.models import Consultation

    due = factories.consultation(app, title="Scheduled bus lanes", state="draft")
    later = factories.consultation(app, title="Next year's budget", state="draft")
    stale = factories.consultation(app, title="Missed its window", state="draft")
    with factories.uow(app) as session:
        now = utc_now()
        for cid, opens, closes in ((due, now - timedelta(minutes=1), now + timedelta(days=30)),
                                   (later, now + timedelta(days=1), None),
                                   (stale, now - timedelta(days=9), now - timedelta(days=2))):
            row = session.get(Consultation, cid)
            row.opens_at, row.closes_at = opens, closes
            session.add(row)
    assert client.get(f"/consultations/{due}").status_code == 404  # drafts are not public
    staff = make_client()
    helpers.sign_in(staff, app, "admin@example.org", role="admin")
    draft = staff.get(f"/consultations/{due}").text
    assert "Opens automatically on" in draft and "Opened" not in draft and "Closed" not in draft
    with factories.uow(app) as session:
        assert service.open_scheduled(session) == 1
    page = client.get(f"/consultations/{due}")
    assert page.status_code == 200 and "Scheduled bus lanes" in page.text
    assert "Scheduled bus lanes" in client.get("/consultations/").text
    assert client.get(f"/consultations/{later}").status_code == 404
    assert client.get(f"/consultations/{stale}").status_code == 404
    assert "consultations.open_scheduled" in {p.kind for p in build_job_registry().periodic}  # every 5 minutes


def test_every_setting_has_a_docstring_and_reads_from_the_environment(monkeypatch):
    source = inspect.getsource(config.ConsultationSettings)
    body = ast.parse(source).body[0].body
    documented = set()
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
            documented.add(node.target.id)
    fields = {f.name for f in dataclasses.fields(config.ConsultationSettings)}
    assert fields == documented
    from app.config import load_section
    monkeypatch.setenv("CIVIC_CONSULTATIONS_REPORT_THRESHOLD", "5")
    loaded = load_section(config.ConsultationSettings, "CIVIC_CONSULTATIONS_", None)
    assert loaded.report_threshold == 5 and loaded.comment_max_length == 2000


def test_demo_content_loads_once(app):
    from app.db import unit_of_work
    from app.demo import DEPARTMENTS, STAFF
    from app.models import Department
    from consultations import demo
    from app.auth import add_user

    state = app.state
    with unit_of_work(state.engine, state.unit_context) as session:
        for code, name, name_zh in DEPARTMENTS:
            session.add(Department(code=code, name=name, name_zh=name_zh))
        session.flush()
        for email, role, name, dept in STAFF:
            add_user(session, email=email, role=role, name=name, department=dept)
    with unit_of_work(state.engine, state.unit_context) as session:
        assert demo.load(session, renderer=state.renderer) > 3
    with unit_of_work(state.engine, state.unit_context) as session:
        assert demo.load(session, renderer=state.renderer) == 0
    # How we respond has one closed consultation with its outcome and one still waiting; the open one has areas.
    from app.clock import utc_now
    from consultations import accountability, participation
    from consultations.models import Consultation
    from sqlmodel import select
    with unit_of_work(state.engine) as session:
        report = accountability.consultation_report(session, as_of=utc_now().date(), now=utc_now())
        assert (report.figures.with_outcome, report.figures.waiting) == (1, 1)
        assert [w.title for w in report.waiting] == ["Library opening hours"] and report.waiting[0].days_waiting >= 23
        fresh = session.exec(select(Consultation).where(Consultation.source == "demo:freshwater")).one()
        counts = participation.by_area(session, consultation_id=fresh.id)
        assert any(c.participants for c in counts) and any(c.suppressed for c in counts)


def test_one_department_rule_for_every_official_action_and_staff_read(app, client, make_client, helpers, factories):
    """A Transport consultation: an Environment official sees no staff action on it and every one is refused
    (page and service), while its own official and an administrator keep them."""
    from sqlmodel import select

    from app.db import unit_of_work
    from app.errors import PermissionDenied
    from consultations import dashboard_jobs, forms, service
    from consultations.models import OfficialResponse

    cid = factories.consultation(app)  # Transport's
    closed = factories.consultation(app, title="Closed transport one", state="closed")
    draft = factories.consultation(app, title="Transport draft plan", state="draft")
    cmt = factories.comment(app, cid, "author@example.org", "Please add a crossing")
    env = helpers.sign_in(client, app, "env@example.org", role="official", department="environment")

    page = client.get(f"/consultations/{cid}").text
    for action in ("Edit consultation", "Close consultation", "Feedback analysis", "Publish response",
                   "Respond officially"):
        assert action not in page, action
    assert "Respond officially" not in client.get(f"/consultations/{cid}/comments/{cmt}").text
    assert "Write the closing report" not in client.get(f"/consultations/{closed}").text

    refused = [
        client.get(f"/consultations/{cid}/edit"),
        client.post(f"/consultations/{cid}/edit", data={"title": "Taken over", "body": "<p>x</p>"}),
        client.post(f"/consultations/{cid}/state", data={"action": "close"}),
        client.get(f"/consultations/{closed}/report"),
        client.post(f"/consultations/{closed}/report", data={"report": "<p>Ours now</p>"}),
        client.post(f"/consultations/{cid}/respond", data={"comment_id": str(cmt), "decision": "will_act",
                                                          "text": "Environment answers for Transport."}),
        client.get(f"/consultations/{draft}/edit"),
        client.get(f"/officials/consultations/{cid}/analysis"),
        client.get(f"/officials/consultations/{cid}/analysis/report"),
        client.get(f"/officials/consultations/{cid}/analysis.csv"),
        client.get(f"/officials/consultations/{cid}/analysis.json"),
        client.get(f"/officials/consultations/{cid}/analysis/themes/0"),
        client.post(f"/officials/consultations/{cid}/analysis/run"),
        client.post(f"/officials/consultations/{cid}/analysis/themes/0/rename", data={"label": "Renamed"}),
        client.post(f"/officials/consultations/{cid}/analysis/merge", data={"theme": ["0", "1"]}),
        client.post(f"/officials/consultations/{cid}/analysis/themes/0/split"),
        client.post(f"/officials/consultations/{cid}/analysis/themes/0/answer",
                    data={"decision": "noted", "text": "Environment answers for Transport."}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused), [(r.url, r.status_code) for r in refused]
    assert "another department" in refused[0].text
    # Another department's draft is as invisible as to the public.
    assert client.get(f"/consultations/{draft}").status_code == 404
    assert "Transport draft plan" not in client.get("/consultations/?facet=draft").text
    # The services refuse too, whoever calls them.
    data = forms.ResponseData("will_act", "Environment answers for Transport.", "", None)
    state = app.state
    for call in (lambda s: service.publish_response(s, consultation_id=cid, official_id=env.id, data=data,
                                                    comment_id=cmt),
                 lambda s: service.change_state(s, user_id=env.id, consultation_id=cid, action="close"),
                 lambda s: dashboard_jobs.request_reanalysis(s, consultation_id=cid, official_id=env.id),
                 lambda s: dashboard_jobs.rename_theme(s, consultation_id=cid, theme_key=0, label="x",
                                                       official_id=env.id)):
        with pytest.raises(PermissionDenied):
            with unit_of_work(state.engine, state.unit_context) as session:
                call(session)
    with state.engine.connect() as conn:
        assert conn.execute(select(OfficialResponse.id)).all() == []
        assert conn.execute(select(Consultation.state).where(Consultation.id == cid)).scalar_one() == "open"

    # Transport's official and an administrator do see and may use them.
    for email, role, dept in (("official@example.org", "official", "transport"), ("admin@example.org", "admin", None)):
        c = make_client()
        helpers.sign_in(c, app, email, role=role, department=dept)
        page = c.get(f"/consultations/{cid}").text
        assert "Edit consultation" in page and "Close consultation" in page and "Publish response" in page
        assert c.get(f"/consultations/{draft}").status_code == 200
        assert "Transport draft plan" in c.get("/consultations/?facet=draft").text
        assert c.get(f"/consultations/{cid}/edit").status_code == 200
        assert c.get(f"/officials/consultations/{cid}/analysis").status_code == 200
