"""Open-data snapshots: the weekly job archives each accountability dataset once per week, the archived bytes (and
their SHA-256) never change whatever happens later, the stable URLs serve exactly those bytes (JSON) or a CSV made
from them, unknown and malformed addresses are refused with what exists, and no resident's text is ever archived."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app import open_data
from app.clock import utc_now
from app.db import read_session, unit_of_work
from app.jobs import enqueue
from app.models import Department, OpenDataSnapshot
from petitions.forms import ResponseInput
from petitions.models import Petition
from petitions.service import hide_petition, publish_response

HOW = "petitions-how-we-respond"
MOD = "moderation-transparency"
CON = "consultations-how-we-respond"


def _day():
    return open_data.last_complete_week(utc_now().date())


def _at(day, days_before: int) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC) - timedelta(days=days_before)


def _petition(app, action: str, *, dept: int, threshold: datetime) -> int:
    opened = threshold - timedelta(days=20)
    with unit_of_work(app.state.engine) as s:
        p = Petition(action=action, background="Background.", creator_name="Creator Person",
                     creator_email="creator@example.org", state="open", department_id=dept, signature_count=12_000,
                     created_at=opened, updated_at=opened, opened_at=opened, closes_at=opened + timedelta(days=182),
                     response_threshold_at=threshold)
        s.add(p)
        s.flush()
        return p.id


def _run_job(app, payload=None) -> None:
    with unit_of_work(app.state.engine) as s:
        enqueue(s, open_data.JOB_KIND, payload or {})
    from app.jobs import run_until_idle

    run_until_idle(app.state.job_context, app.state.jobs)


def _rows(app) -> list[tuple]:
    with read_session(app.state.engine) as s:
        return list(s.execute(select(OpenDataSnapshot.dataset, OpenDataSnapshot.as_of, OpenDataSnapshot.created_at,
                                     OpenDataSnapshot.sha256).order_by(OpenDataSnapshot.dataset)))


@pytest.fixture
def world(app, helpers):
    """Transport (named with a formula, as an operator might paste it) has one petition overdue at the snapshot day
    and one that a moderator hid while it was overdue."""
    with unit_of_work(app.state.engine) as s:
        s.add(Department(code="transport", name='=HYPERLINK("https://evil.example","Transport")', name_zh="交通局"))
    official = helpers.add_user(app, "transport@example.org", role="official", department="transport").id
    with read_session(app.state.engine) as s:
        dept = s.scalars(select(Department.id).where(Department.code == "transport")).one()
    day = _day()
    overdue = _petition(app, "Fix the potholes on Mill Road", dept=dept, threshold=_at(day, 40))
    hidden = _petition(app, "Hidden petition HIDDEN-TITLE-x7q", dept=dept, threshold=_at(day, 50))
    with unit_of_work(app.state.engine) as s:
        hide_petition(s, petition_id=hidden, code="defamatory")
    return {"day": day, "dept": dept, "official": official, "overdue": overdue, "hidden": hidden}


def test_the_weekly_job_archives_every_dataset_once_and_the_bytes_never_change(app, client, world):
    day = world["day"].isoformat()
    _run_job(app)
    first = _rows(app)
    assert [(r[0], r[1].isoformat()) for r in first] == [(CON, day), (MOD, day), (HOW, day)]

    url = f"/api/snapshots/{HOW}/{day}.json"
    before = client.get(url)
    assert before.status_code == 200 and before.headers["content-type"] == "application/json"
    digest = hashlib.sha256(before.content).hexdigest()
    assert before.headers["etag"] == f'"{digest}"' and digest == first[2][3]
    assert "immutable" in before.headers["cache-control"] and "max-age=31536000" in before.headers["cache-control"]
    doc = json.loads(before.content)
    assert doc["dataset"] == HOW and doc["as_of"] == day and doc["publisher"] == "Civic"
    assert [o["id"] for o in doc["data"]["overdue"]] == [world["overdue"]]
    assert doc["data"]["overdue_not_listed"] == 1 and doc["data"]["figures"]["overdue"] == 2
    # the canonical form: what a citer recomputes from the parsed document is the same bytes
    assert open_data.canonical_json(doc) == before.content

    # later events: the overdue petition is answered, and a petition that reached the threshold before the day
    # is recorded only now; the live figures for that day change, the snapshot does not
    with unit_of_work(app.state.engine) as s:
        publish_response(s, petition_id=world["overdue"], official_id=world["official"], data=ResponseInput(
            summary="We will fix them.", details="Crews start next month.", decision="accepted", follow_up_on=None))
    _petition(app, "Late-recorded petition", dept=world["dept"], threshold=_at(world["day"], 35))
    live = client.get(f"/api/petitions/how-we-respond?as_of={day}").json()
    assert live["figures"]["reached_threshold"] == 3 != doc["data"]["figures"]["reached_threshold"]

    _run_job(app)   # the next day's run, and one for the same week: nothing is rewritten
    _run_job(app, {"as_of": day})
    assert _rows(app) == first
    after = client.get(url)
    assert after.content == before.content and after.headers["etag"] == before.headers["etag"]
    assert hashlib.sha256(after.content).hexdigest() == digest
    listed = client.get("/api/snapshots").json()
    how = next(d for d in listed["datasets"] if d["name"] == HOW)
    assert how["snapshots"] == [{"as_of": day, "created_at": first[2][2].isoformat(), "size": len(before.content),
                                 "sha256": digest, "json_url": f"https://testserver{url}",
                                 "csv_url": f"https://testserver/api/snapshots/{HOW}/{day}.csv"}]
    only = client.get("/api/snapshots", params={"dataset": MOD}).json()["datasets"]
    assert [d["name"] for d in only] == [MOD] and len(only[0]["snapshots"]) == 1
    unknown = client.get("/api/snapshots", params={"dataset": "petitions-secrets"})
    assert unknown.status_code == 422 and HOW in unknown.json()["error"]["message"]
    # a client that has it is told so without the body
    again = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_second_week_is_a_second_snapshot(app, client, world):
    day = world["day"]
    _petition(app, "Reached the threshold in the last week", dept=world["dept"], threshold=_at(day, 3))
    _run_job(app, {"as_of": (day - timedelta(days=7)).isoformat()})
    _run_job(app)
    with read_session(app.state.engine) as s:
        assert s.scalar(select(func.count()).select_from(OpenDataSnapshot)) == 2 * len(app.state.open_data.names())
    older = client.get(f"/api/snapshots/{HOW}/{(day - timedelta(days=7)).isoformat()}.json").json()
    newer = client.get(f"/api/snapshots/{HOW}/{day.isoformat()}.json").json()
    assert older["data"]["figures"]["reached_threshold"] == 2 and newer["data"]["figures"]["reached_threshold"] == 3


def test_no_snapshot_ever_holds_a_petitions_title(app, client, world):
    """A snapshot can never be edited, so it holds ids and links, never residents' text: a title hidden later
    could not be taken out of it."""
    _run_job(app)
    day = world["day"].isoformat()
    with unit_of_work(app.state.engine) as s:
        hide_petition(s, petition_id=world["overdue"], code="defamatory")
    for dataset in (HOW, MOD):
        for ext in ("json", "csv"):
            text = client.get(f"/api/snapshots/{dataset}/{day}.{ext}").text
            for secret in ("HIDDEN-TITLE-x7q", "Mill Road", "Creator Person", "example.org", "Background."):
                assert secret not in text, (dataset, ext, secret)
    live = client.get(f"/api/petitions/how-we-respond?as_of={day}").text
    assert "Mill Road" not in live   # hidden now: the live report stops listing it too


def test_the_csv_is_made_from_the_archived_json_with_formulas_neutralised(app, client, world):
    _run_job(app)
    day = world["day"].isoformat()
    response = client.get(f"/api/snapshots/{HOW}/{day}.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="{HOW}-{day}.csv"' in response.headers["content-disposition"]
    json_doc = client.get(f"/api/snapshots/{HOW}/{day}.json")
    assert response.headers["etag"] == json_doc.headers["etag"]   # the hash of the document it was made from
    rows = list(csv.DictReader(io.StringIO(response.text)))
    values = {r["path"]: r["value"] for r in rows}
    assert {r["dataset"] for r in rows} == {HOW} and {r["as_of"] for r in rows} == {day}
    assert values["data.figures.reached_threshold"] == "2"
    assert values["data.overdue[0].id"] == str(world["overdue"])
    names = [v for p, v in values.items() if p.endswith("department.name")]
    assert names and all(v.startswith("'=HYPERLINK") for v in names)    # shown as text, never run
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows for v in r.values())
    assert client.get(f"/api/snapshots/{MOD}/{day}.csv").status_code == 200


def test_unknown_and_malformed_addresses(app, client, world):
    day = world["day"].isoformat()
    r = client.get(f"/api/snapshots/{HOW}/{day}.json")
    assert r.status_code == 404 and "No snapshot of" in r.json()["error"]["message"]
    _run_job(app)
    r = client.get("/api/snapshots/petitions-secrets/2026-01-04.json")
    assert r.status_code == 404
    assert f"The datasets are: {CON}, {MOD}, {HOW}" in r.json()["error"]["message"]
    r = client.get(f"/api/snapshots/{HOW}/2001-01-07.csv")
    assert r.status_code == 404 and f"Snapshots exist for: {day}" in r.json()["error"]["message"]
    for bad in ("2026-13-01", "07-01-2026", "2026-02-30", "latest"):
        r = client.get(f"/api/snapshots/{HOW}/{bad}.json")
        assert r.status_code == 422 and "YYYY-MM-DD" in r.json()["error"]["message"], bad
    html = client.get(f"/open-data/{HOW}/2026-02-30")
    assert html.status_code == 422 and "text/html" in html.headers["content-type"] and "YYYY-MM-DD" in html.text
    html = client.get(f"/open-data/{HOW}/2001-01-07")
    assert html.status_code == 404 and day in html.text
    zh = client.get("/api/snapshots/nope/2026-01-04.json", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 404 and "没有名为" in zh.json()["error"]["message"]


def test_the_open_data_page_lists_snapshots_and_how_to_cite_them(app, client, world, settings):
    empty = client.get("/open-data")
    assert empty.status_code == 200 and "No snapshot has been taken yet" in empty.text
    _run_job(app)
    day = world["day"].isoformat()
    digest = _rows(app)[2][3]
    page = client.get("/open-data")
    assert page.status_code == 200
    text = page.text
    assert "How we respond to petitions" in text and "Moderation transparency report" in text
    assert f"/api/snapshots/{HOW}/{day}.json" in text and f"/api/snapshots/{HOW}/{day}.csv" in text
    # the citation: publisher, title, date, URL and hash
    assert (f"Civic. “How we respond to petitions”, open data snapshot as of {day}. "
            f'<a href="https://testserver/api/snapshots/{HOW}/{day}.json">') in text
    assert digest in text
    detail = client.get(f"/open-data/{HOW}/{day}")
    assert detail.status_code == 200 and digest in detail.text and "How to cite" in detail.text
    assert 'href="/open-data"' in client.get("/").text   # the footer links to it
    zh = client.get("/open-data", headers={"Accept-Language": "zh-CN"})
    assert "开放数据" in zh.text and digest in zh.text


def test_the_publisher_is_the_configured_site_name(app, client, world, settings):
    app.state.job_context.settings = dataclasses.replace(settings, site_name="Riverton City Council")
    _run_job(app)
    doc = client.get(f"/api/snapshots/{MOD}/{world['day'].isoformat()}.json").json()
    assert doc["publisher"] == "Riverton City Council" and doc["data"]["months"] and len(doc["data"]["trend"]) == 12


def test_every_snapshot_route_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/snapshots", "/snapshots/{dataset}/{day}.json", "/snapshots/{dataset}/{day}.csv"):
        assert path in paths, path
    assert set(paths["/snapshots/{dataset}/{day}.json"]["get"]["responses"]) >= {"200", "404", "422"}


def test_a_dataset_is_one_registration(app):
    registry = open_data.DatasetRegistry()
    registry.register(open_data.Dataset("consultations-responses", title="t", description="d",
                                        build=lambda session, day, ctx: {"n": 1}))
    with pytest.raises(ValueError):
        registry.register(open_data.Dataset("consultations-responses", title="t", description="d",
                                            build=lambda session, day, ctx: {}))
    with pytest.raises(ValueError):
        registry.register(open_data.Dataset("Bad Name", title="t", description="d", build=lambda s, d, c: {}))
    assert [d.name for d in app.state.open_data] == [CON, MOD, HOW]


def test_weeks_end_on_sunday():
    from datetime import date

    assert open_data.last_complete_week(date(2026, 12, 7)) == date(2026, 12, 6)    # a Monday
    assert open_data.last_complete_week(date(2026, 12, 6)) == date(2026, 11, 29)   # a Sunday: not over yet
    assert open_data.last_complete_week(date(2026, 12, 12)) == date(2026, 12, 6)


def test_the_cli_makes_snapshots_on_demand_and_keeps_existing_ones(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update(CIVIC_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", CIVIC_DATA_DIR=str(tmp_path / "data"),
               CIVIC_TRAIN_MODEL_ON_START="false", CIVIC_SITE_NAME="Riverton City Council", PYTHONPATH=str(root))

    def civic(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", "open-data", "snapshot", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=180)

    day = _day().isoformat()
    first = civic()   # the default: the Sunday that ended last week
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 3 and all(": archived (" in line and "SHA-256 " in line for line in lines)
    assert f"{HOW} {day}: archived" in first.stdout
    assert f"Open-data snapshots as of {day}" in first.stderr and "3/3" in first.stderr   # progress
    again = civic("--as-of", day)
    assert again.returncode == 0 and again.stdout.count("already archived, kept unchanged") == 3
    assert [line.rsplit("SHA-256 ", 1)[1] for line in again.stdout.splitlines()] == \
        [line.rsplit("SHA-256 ", 1)[1] for line in lines]
    for bad, says in (("29/11/2026", "YYYY-MM-DD"), (utc_now().date().isoformat(), "has not ended yet")):
        refused = civic("--as-of", bad)
        assert refused.returncode == 2 and says in refused.stderr

    from app.db import make_engine

    engine = make_engine(env["CIVIC_DATABASE_URL"])
    try:
        with read_session(engine) as s:
            body = s.scalars(select(OpenDataSnapshot.body).where(OpenDataSnapshot.dataset == MOD)).first()
        assert json.loads(body)["publisher"] == "Riverton City Council"
    finally:
        engine.dispose()


def test_the_database_refuses_to_change_an_archived_snapshot(app, world):
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    _run_job(app)
    before = _rows(app)
    with pytest.raises(DBAPIError, match="write-once"):
        with unit_of_work(app.state.engine) as s:
            s.execute(update(OpenDataSnapshot).values(body=b"{}", sha256="0" * 64))
    assert _rows(app) == before


def test_a_migrated_database_refuses_it_too(tmp_path, database_url):
    import uuid

    from sqlalchemy import create_engine, insert, text, update
    from sqlalchemy.exc import DBAPIError

    from app.db import make_engine, normalise_url
    from app.migrate import upgrade

    admin, name = None, ""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path}/migrated.db")
    else:
        root = normalise_url(database_url).rsplit("/", 1)[0]
        admin = create_engine(root + "/postgres", isolation_level="AUTOCOMMIT")
        name = f"civic_od_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(f"{root}/{name}")
    try:
        upgrade(engine)
        with unit_of_work(engine) as s:
            s.execute(insert(OpenDataSnapshot).values(dataset=HOW, as_of=_day(), created_at=utc_now(), size=2,
                                                      sha256="a" * 64, body=b"{}"))
        with pytest.raises(DBAPIError, match="write-once"):
            with unit_of_work(engine) as s:
                s.execute(update(OpenDataSnapshot).values(size=3))
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_the_consultations_snapshot_lists_a_consultation_waiting_for_its_outcome_by_link_not_title(app, client, world):
    from consultations.models import Consultation

    closed = _at(world["day"], 10)
    with unit_of_work(app.state.engine) as s:
        c = Consultation(title="Library hours WAITING-TITLE-k2p", department_id=world["dept"], state="closed",
                         opens_at=closed - timedelta(days=30), closes_at=closed, closed_at=closed,
                         created_at=closed - timedelta(days=31), updated_at=closed)
        s.add(c)
        s.flush()
        consultation_id = c.id
    _run_job(app)
    day = world["day"].isoformat()
    response = client.get(f"/api/snapshots/{CON}/{day}.json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["figures"]["closed"] == 1 and data["figures"]["without_outcome"] == 1
    waiting = data["without_outcome"]
    assert [w["id"] for w in waiting] == [consultation_id] and waiting[0]["url"].endswith(f"/consultations/{consultation_id}")
    assert "WAITING-TITLE" not in response.text and "title" not in waiting[0]
    # the live API, which can drop a title the moment it is withdrawn, does show it
    assert "WAITING-TITLE" in client.get("/api/consultations/how-we-respond", params={"as_of": day}).text
