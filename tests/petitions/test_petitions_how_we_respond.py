"""How we respond: response-time figures for petitions as of a day, overall and per department; the figures of a
past week do not change after later events; the page, its JSON and CSV, and their bad input."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.db import read_session, unit_of_work
from app.models import Department
from petitions import accountability
from petitions.forms import ResponseInput
from petitions.models import Petition
from petitions.service import Tally, apply_tallies, publish_response

AS_OF = date(2026, 3, 31)
LATER = datetime(2026, 6, 1, tzinfo=UTC)   # "now" for reports of AS_OF: long after it


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _departments(app) -> dict[str, int]:
    with unit_of_work(app.state.engine) as s:
        for code, name, name_zh in (("transport", "Transport", "交通局"), ("environment", "Environment", "环境局"),
                                    ("housing", "Housing", "住房局")):
            if s.exec(select(Department).where(Department.code == code)).first() is None:
                s.add(Department(code=code, name=name, name_zh=name_zh))
        s.flush()
        return {d.code: d.id for d in s.exec(select(Department)).all()}


def _petition(app, action: str, *, dept: int | None, threshold: datetime | None, state: str = "open",
              responded: datetime | None = None, official_id: int | None = None, count: int = 12_000) -> int:
    """A published petition that reached the threshold at `threshold`, answered (through the real service) at
    `responded`."""
    opened = (threshold or at("2026-01-01")) - timedelta(days=20)
    with unit_of_work(app.state.engine) as s:
        p = Petition(action=action, background="Background.", creator_name="Creator Person",
                     creator_email="creator@example.org", state=state, department_id=dept, signature_count=count,
                     created_at=opened, updated_at=opened, opened_at=opened, closes_at=opened + timedelta(days=182),
                     response_threshold_at=threshold)
        s.add(p)
        s.flush()
        pid = p.id
    if responded is not None:
        _respond(app, pid, official_id, responded)
    return pid


def _respond(app, pid: int, official_id: int, when: datetime) -> None:
    with unit_of_work(app.state.engine) as s:
        publish_response(s, petition_id=pid, official_id=official_id, now=when, data=ResponseInput(
            summary="We will do it.", details="Details of the answer.", decision="accepted", follow_up_on=None))


def _report(app, as_of=AS_OF, department="", now=LATER, deadline=30):
    with read_session(app.state.engine) as s:
        return accountability.response_report(s, as_of=as_of, deadline_days=deadline, department=department, now=now)


@pytest.fixture
def world(app, helpers):
    """Transport answered one petition in 10 days and one in 42 days and leaves one waiting 50 days; environment
    has one waiting 7 days (not yet overdue); a removed (hidden) petition waits 90 days; housing has none."""
    depts = _departments(app)
    transport = helpers.add_user(app, "transport@example.org", role="official", department="transport").id
    helpers.add_user(app, "environment@example.org", role="official", department="environment")
    ids = {
        "fast": _petition(app, "Fix the potholes on Mill Road", dept=depts["transport"], threshold=at("2026-03-01", 10),
                          responded=at("2026-03-11", 10), official_id=transport),
        "slow": _petition(app, "More buses at night", dept=depts["transport"], threshold=at("2026-02-01"),
                          responded=at("2026-03-15"), official_id=transport),
        "waiting": _petition(app, "=HYPERLINK(\"https://evil.example\",\"Safer crossings near schools\")",
                             dept=depts["transport"], threshold=at("2026-02-10")),
        "recent": _petition(app, "Plant trees along the river", dept=depts["environment"], threshold=at("2026-03-25")),
        "hidden": _petition(app, "A petition that was removed", dept=depts["transport"], threshold=at("2026-01-01"),
                            state="hidden"),
        "never": _petition(app, "A petition below the threshold", dept=depts["environment"], threshold=None, count=40),
    }
    return {"depts": depts, "ids": ids, "transport": transport}


def test_figures_overall_and_per_department(app, world):
    report = _report(app)
    f = report.figures
    assert (f.reached, f.answered) == (5, 2)
    assert (f.median_days, f.p90_days) == (26.0, 42.0)
    # the deadline applies to the 2 answered and the 2 overdue (waiting 50 and 90 days); 1 of them was on time
    assert (f.due, f.answered_in_time, f.overdue) == (4, 1, 2)
    assert f.share_in_time == 0.25
    # the removed petition is counted but not listed by title
    assert [(o.petition_id, o.days_waiting) for o in report.overdue] == [(world["ids"]["waiting"], 50)]
    assert report.unlisted_overdue == 1

    by_code = {row.department.code: row.figures for row in report.departments if row.department}
    assert (by_code["transport"].reached, by_code["transport"].answered, by_code["transport"].overdue) == (4, 2, 2)
    assert (by_code["environment"].reached, by_code["environment"].answered, by_code["environment"].overdue) == (1, 0, 0)
    housing = by_code["housing"]
    assert (housing.reached, housing.answered, housing.median_days, housing.share_in_time) == (0, 0, None, None)


def test_weekly_trend_counts_answers_in_the_week_they_were_published(app, world):
    report = _report(app)
    assert len(report.weeks) == 12 and report.weeks[-1].end == AS_OF
    week = next(w for w in report.weeks if w.start <= date(2026, 3, 11) <= w.end)
    assert week.start <= date(2026, 3, 15) <= week.end        # 11 to 17 March
    assert (week.answered, week.median_days) == (2, 26.0)
    assert sum(w.answered for w in report.weeks) == 2


def test_a_past_week_stays_the_same_after_later_events(app, world, domain_settings):
    before = _report(app)
    before_weeks = _report(app, as_of=date(2026, 3, 17))
    # after that week: the waiting petition is answered, a new one reaches the threshold in the settle tick,
    # more signatures arrive on an answered one, and a response is corrected
    _respond(app, world["ids"]["waiting"], world["transport"], at("2026-04-03"))
    newcomer = _petition(app, "Open the library on Sundays", dept=world["depts"]["environment"], threshold=None, count=9_000)
    with unit_of_work(app.state.engine) as s:
        apply_tallies(s, tallies=[Tally(newcomer, 10_500, {"North": 10_500}),
                                  Tally(world["ids"]["fast"], 15_000, {"North": 15_000})],
                      settings=domain_settings["petitions"], started=at("2026-04-02"), now=at("2026-04-02", 9))
    _respond(app, world["ids"]["fast"], world["transport"], at("2026-04-20"))   # a correction

    assert _report(app) == before
    assert _report(app, as_of=date(2026, 3, 17)) == before_weeks
    # ... while today's figures do see the later events
    now = _report(app, as_of=date(2026, 5, 31))
    assert (now.figures.reached, now.figures.answered) == (6, 3)
    assert [w.answered for w in now.weeks if w.start <= date(2026, 4, 3) <= w.end] == [1]


def test_one_department_and_a_department_without_petitions(app, world):
    transport = _report(app, department="transport")
    assert transport.department.code == "transport" and transport.figures.reached == 4
    housing = _report(app, department="housing")
    assert housing.figures.reached == 0 and housing.overdue == () and all(w.answered == 0 for w in housing.weeks)
    assert _report(app, department="no-such-department") is None


def test_today_counts_waiting_time_up_to_now(app, world):
    now = at("2026-03-31", 12)
    report = _report(app, now=now)
    assert report.overdue[0].days_waiting == 49          # 10 Feb 00:00 to 31 Mar 12:00


@pytest.mark.parametrize("text", ["2026-13-45", "yesterday", "2026-3-1", "31/03/2026", "2026-03-31T00:00"])
def test_a_malformed_as_of_is_refused_with_a_reason(text):
    from app.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        accountability.parse_as_of(text, today=date(2026, 12, 7))
    assert exc.value.errors == {"as_of": "invalid"}


def test_as_of_defaults_to_today_and_a_later_day_reads_as_today():
    today = date(2026, 12, 7)
    assert accountability.parse_as_of("", today=today) == today
    assert accountability.parse_as_of("2999-01-01", today=today) == today
    assert accountability.parse_as_of("1999-12-31", today=today) == date(1999, 12, 31)


def test_a_day_at_the_start_of_the_calendar_still_gives_a_report(app, world):
    report = _report(app, as_of=date(1, 1, 20))
    assert report.figures.reached == 0 and len(report.weeks) == 2


# ----- the page, JSON and CSV -----

def test_page_in_english_and_chinese(client, world):
    r = client.get("/petitions/how-we-respond?as_of=2026-03-31")
    assert r.status_code == 200
    assert "How we respond to petitions" in r.text
    assert "Petitions waiting longer than 30 days" in r.text
    assert f'href="/petitions/{world["ids"]["waiting"]}"' in r.text
    assert "A petition that was removed" not in r.text
    assert "1 more overdue petition is not listed" in r.text
    assert "<svg" in r.text and "Petitions answered per week" in r.text   # the weekly chart, with its table
    assert "Transport" in r.text and "Housing" in r.text
    zh = client.get("/petitions/how-we-respond?as_of=2026-03-31", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    assert "我们如何回应请愿" in zh.text and "交通局" in zh.text
    home = client.get("/")
    assert 'href="/petitions/how-we-respond"' in home.text       # linked from every page's footer


def test_department_page_and_empty_department(client, world):
    r = client.get("/petitions/how-we-respond?as_of=2026-03-31&department=housing")
    assert r.status_code == 200
    assert "nothing to measure yet" in r.text
    assert "No petition was answered in these 12 weeks." in r.text


@pytest.mark.parametrize("query,status,message", [
    ("as_of=2026-02-30", 422, "The date must be a day written as YYYY-MM-DD"),
    ("as_of=%3Cscript%3Ealert(1)%3C/script%3E", 422, "The date must be a day written as YYYY-MM-DD"),
    ("department=nowhere", 404, "No department has that code"),
])
def test_bad_input_gets_a_message_on_a_usable_page(client, world, query, status, message):
    r = client.get("/petitions/how-we-respond?" + query)
    assert r.status_code == status
    assert message in r.text
    assert 'aria-invalid="true"' in r.text and "<script>" not in r.text
    assert 'name="as_of"' in r.text and "All departments" in r.text      # the form is there to try again
    api = client.get("/api/petitions/how-we-respond?" + query)
    assert api.status_code == status and message in api.json()["error"]["message"]


def test_a_future_day_shows_todays_figures_and_says_so(client, world):
    r = client.get("/petitions/how-we-respond?as_of=2999-01-01")
    assert r.status_code == 200 and "these are the figures as of now" in r.text


def test_bad_as_of_in_chinese(client):
    r = client.get("/petitions/how-we-respond?as_of=31/03/2026", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text and "日期" in r.text


def test_json_has_the_figures_and_no_personal_data(client, world):
    data = client.get("/api/petitions/how-we-respond?as_of=2026-03-31").json()
    assert data["as_of"] == "2026-03-31" and data["deadline_days"] == 30
    assert data["figures"] == {"reached_threshold": 5, "answered": 2, "median_days": 26.0, "p90_days": 42.0, "due": 4,
                               "answered_within_deadline": 1, "share_within_deadline": 0.25, "overdue": 2}
    assert [o["id"] for o in data["overdue"]] == [world["ids"]["waiting"]] and data["overdue_not_listed"] == 1
    assert data["overdue"][0]["url"] == f"https://testserver/petitions/{world['ids']['waiting']}"
    assert len(data["weeks"]) == 12
    text = client.get("/api/petitions/how-we-respond?as_of=2026-03-31").text
    assert "creator@example.org" not in text and "Creator Person" not in text and "transport@example.org" not in text


def test_csv_tables_have_no_formula_cells(client, world):
    tables = {}
    for table in ("figures", "overdue", "weekly"):
        r = client.get(f"/api/petitions/how-we-respond.csv?as_of=2026-03-31&table={table}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.text)))
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), cell
        tables[table] = rows
    figures = {row[1]: row for row in tables["figures"][1:]}
    assert figures[""][3:6] == ["5", "2", "26.0"] and figures["housing"][3] == "0"
    assert tables["overdue"][1][3].startswith("'=HYPERLINK")     # shown as text, never run
    assert tables["overdue"][1][2] == f"https://testserver/petitions/{tables['overdue'][1][1]}"
    assert len(tables["weekly"]) == 13
    assert client.get("/api/petitions/how-we-respond.csv?table=secrets").status_code == 422


def test_listed_in_openapi(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/petitions/how-we-respond" in paths and "/petitions/how-we-respond.csv" in paths
