"""How we respond, consultations: comments and questions answered, days from closing to the outcome and the
consultations waiting for one, as of a day, overall and per department; a past week's figures stay the same after
later outcomes, responses and closings; the section on the page, its JSON and CSV, and their bad input."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.db import read_session, unit_of_work
from app.models import Department
from consultations import accountability, forms, service
from consultations.config import ConsultationSettings
from consultations.models import Consultation

AS_OF = date(2026, 3, 31)
LATER = datetime(2026, 6, 1, tzinfo=UTC)
LIMITS = ConsultationSettings(comment_rate_limit="1000/60", comment_ip_rate_limit="1000/60")


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class Clock:
    """The services' clock, moved by the test (they stamp every timestamp with it)."""

    def __init__(self):
        self.now = at("2026-01-01")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr("consultations.service.utc_now", c)
    return c


def _uow(app):
    s = app.state
    return unit_of_work(s.engine, s.unit_context)


class World:
    def __init__(self, app, helpers, clock):
        self.app, self.clock = app, clock
        self.officials = {code: helpers.add_user(app, f"{code}@example.org", role="official", department=code).id
                          for code in ("transport", "environment")}
        helpers.add_user(app, "nobody@example.org", role="official", department="housing")
        self.residents = [helpers.add_user(app, f"r{i}@example.org").id for i in range(3)]

    def when(self, moment: datetime) -> World:
        self.clock.now = moment
        return self

    def consultation(self, dept: str, title: str, questions=()) -> int:
        data = forms.ConsultationData(title=title, summary="", body="<p>Body.</p>", department_id=None,
                                      questions=tuple(questions), opens_on=None, closes_on=None, strict_mode=False)
        with _uow(self.app) as s:
            cid = service.create_consultation(s, user_id=self.officials[dept], data=data).id
        with _uow(self.app) as s:
            service.change_state(s, user_id=self.officials[dept], consultation_id=cid, action="open")
        return cid

    def questions(self, cid: int) -> list[int]:
        from consultations.models import Question
        with read_session(self.app.state.engine) as s:
            return [q.id for q in s.exec(select(Question).where(Question.consultation_id == cid)
                                         .order_by(Question.position))]

    def comment(self, cid: int, who: int = 0, question_id: int | None = None) -> int:
        with _uow(self.app) as s:
            return service.post_comment(s, consultation_id=cid, author_id=self.residents[who], question_id=question_id,
                                        body=f"A comment from resident {who} about this.", limits=LIMITS).id

    def respond(self, cid: int, dept: str, *, comment_id=None, question_id=None) -> None:
        with _uow(self.app) as s:
            service.publish_response(s, consultation_id=cid, official_id=self.officials[dept], comment_id=comment_id,
                                     question_id=question_id, data=forms.ResponseData("noted", "Thank you.", "", None))

    def close(self, cid: int, dept: str) -> None:
        with _uow(self.app) as s:
            service.change_state(s, user_id=self.officials[dept], consultation_id=cid, action="close")

    def reopen(self, cid: int, dept: str) -> None:
        with _uow(self.app) as s:
            service.change_state(s, user_id=self.officials[dept], consultation_id=cid, action="open")

    def outcome(self, cid: int, dept: str, text: str = "<p>What we heard, what we will do.</p>") -> None:
        with _uow(self.app) as s:
            service.publish_report(s, user_id=self.officials[dept], consultation_id=cid, text=text)

    def report(self, as_of=AS_OF, department="", now=LATER):
        with read_session(self.app.state.engine) as s:
            return accountability.consultation_report(s, as_of=as_of, department=department, now=now)


@pytest.fixture
def world(app, helpers, clock):
    """Transport: "Bus lanes" (3 comments, two answered, one of them in the second question's discussion; 2
    questions, the first answered as a whole) closed by an
    official on 1 March, outcome 10 days later; "Night buses" closed by the close job on 20 March at noon, no
    outcome. Environment: "River trees" (1 unanswered comment) closed 10 March, outcome 4 days later.
    Housing has no consultation."""
    w = World(app, helpers, clock)
    w.when(at("2026-02-01"))
    w.ids = {"lanes": w.consultation("transport", "Bus lanes on the High Street", ["Where?", "When?"]),
             "night": w.consultation("transport", "Night buses"),
             "trees": w.consultation("environment", "Trees along the river")}
    w.when(at("2026-02-05"))
    w.lanes_comments = [w.comment(w.ids["lanes"], 0), w.comment(w.ids["lanes"], 1)]
    w.trees_comment = w.comment(w.ids["trees"], 2)
    w.lanes_questions = w.questions(w.ids["lanes"])
    in_question = w.comment(w.ids["lanes"], 2, question_id=w.lanes_questions[1])
    w.when(at("2026-02-10"))
    w.respond(w.ids["lanes"], "transport", comment_id=w.lanes_comments[0])
    w.respond(w.ids["lanes"], "transport", comment_id=in_question)   # answers the comment, not its question
    w.when(at("2026-02-12")).respond(w.ids["lanes"], "transport", question_id=w.lanes_questions[0])
    w.when(at("2026-03-01")).close(w.ids["lanes"], "transport")
    w.when(at("2026-03-10")).close(w.ids["trees"], "environment")
    w.when(at("2026-03-11")).outcome(w.ids["lanes"], "transport")
    w.when(at("2026-03-14")).outcome(w.ids["trees"], "environment")
    with _uow(app) as s:  # the close job: the closing date passed
        s.get(Consultation, w.ids["night"]).closes_at = at("2026-03-20", 12)
    with _uow(app) as s:
        assert service.close_expired(s, now=at("2026-03-20", 12)) == 1
    return w


def test_figures_overall_and_per_department(world):
    r = world.report()
    f = r.figures
    assert (f.closed, f.with_outcome, f.waiting, f.median_days) == (3, 2, 1, 7.0)   # median of 10 and 4 days
    assert (f.comments, f.comments_answered, f.themes, f.themes_answered) == (4, 2, 2, 1)
    by_code = {row.department.code if row.department else None: row.figures for row in r.departments}
    t = by_code["transport"]
    assert (t.closed, t.with_outcome, t.waiting, t.median_days) == (2, 1, 1, 10.0)
    assert (t.comments_answered, t.comments, t.themes_answered, t.themes) == (2, 3, 1, 2)
    assert t.share_comments_answered == pytest.approx(2 / 3) and t.share_themes_answered == 0.5
    e = by_code["environment"]
    assert (e.closed, e.with_outcome, e.median_days, e.comments, e.comments_answered, e.themes) == (1, 1, 4.0, 1, 0, 0)
    assert e.share_themes_answered is None
    assert by_code["housing"].closed == 0
    # The consultation the close job closed waits, linked with its days waiting (20 March noon -> 1 April).
    assert [(w.consultation_id, w.days_waiting, w.closed_at) for w in r.waiting] == [
        (world.ids["night"], 11, at("2026-03-20", 12))]


def test_one_department_and_an_earlier_day(world):
    r = world.report(department="environment")
    assert r.department.code == "environment" and r.figures.closed == 1 and r.waiting == ()
    early = world.report(as_of=date(2026, 3, 5))   # only "Bus lanes" had closed, its outcome not yet published
    assert (early.figures.closed, early.figures.with_outcome, early.figures.waiting) == (1, 0, 1)
    assert [w.days_waiting for w in early.waiting] == [5]
    assert world.report(department="no-such-code") is None


def test_weekly_trend(world):
    weeks = world.report().weeks
    assert len(weeks) == 12 and weeks[-1].end == AS_OF and weeks[-1].start == AS_OF - timedelta(days=6)
    assert sum(w.outcomes for w in weeks) == 2
    week_of = {w.start: w for w in weeks}
    march_10 = next(w for w in weeks if w.start <= date(2026, 3, 11) <= w.end)
    assert march_10.outcomes == 2 and march_10.median_days == 7.0   # 11 and 14 March fall in the same week
    assert weeks[-1].waiting == 1 and weeks[-1].share_comments_answered == 0.5
    assert all(w.waiting == 0 for w in week_of.values() if w.end < date(2026, 3, 1))


def test_a_past_week_stays_the_same_after_later_events(world, helpers):
    before = world.report()
    before_week = world.report(as_of=date(2026, 3, 15))
    w = world
    w.when(at("2026-04-02")).respond(w.ids["lanes"], "transport", comment_id=w.lanes_comments[1])   # later response
    w.respond(w.ids["lanes"], "transport", question_id=w.lanes_questions[1])
    w.when(at("2026-04-02", 6)).reopen(w.ids["night"], "transport")                             # reopened...
    w.comment(w.ids["night"], 0)
    w.when(at("2026-04-02", 9)).close(w.ids["night"], "transport")                              # ...closed again
    w.when(at("2026-04-03")).outcome(w.ids["night"], "transport")                                # later outcome
    w.when(at("2026-04-04")).outcome(w.ids["lanes"], "transport", "<p>A corrected outcome.</p>")  # re-published
    late = w.when(at("2026-04-01", 9)).consultation("environment", "Cycle paths")
    w.when(at("2026-04-07")).close(late, "environment")                                         # later closing
    assert world.report() == before
    assert world.report(as_of=date(2026, 3, 15)) == before_week
    # The later events do show from their own days on.
    after = world.report(as_of=date(2026, 4, 30)).figures
    assert (after.closed, after.with_outcome, after.comments, after.comments_answered, after.themes_answered) == (
        4, 3, 5, 3, 2)
    with read_session(w.app.state.engine) as s:
        lanes = s.get(Consultation, w.ids["lanes"])
        assert lanes.report_published_at.replace(tzinfo=UTC) == at("2026-03-11")   # the first publication stays
        assert s.get(Consultation, w.ids["night"]).closed_at.replace(tzinfo=UTC) == at("2026-03-20", 12)


# ----- the page -----

def test_the_page_shows_the_consultations_section(world, client):
    r = client.get("/petitions/how-we-respond", params={"as_of": "2026-03-31"})
    assert r.status_code == 200
    assert "How we respond to petitions and consultations" in r.text
    assert 'id="consultations"' in r.text and "Consultations: all departments" in r.text
    assert f'/consultations/{world.ids["night"]}"' in r.text and "Night buses" in r.text
    assert "Median days from closing to the outcome" in r.text
    assert "<svg" in r.text.split('id="consultations-weekly"')[1]   # the trend is drawn, with the table beside
    assert "Consultations by department" in r.text


def test_a_department_without_consultations_says_so(world, client):
    r = client.get("/petitions/how-we-respond", params={"department": "housing"})
    assert r.status_code == 200
    assert "Housing had not closed any consultation by this day" in r.text


def test_page_bad_input(world, client):
    r = client.get("/petitions/how-we-respond", params={"as_of": "31/03/2026"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text and 'id="consultations"' not in r.text
    assert client.get("/petitions/how-we-respond", params={"department": "nope"}).status_code == 404


def test_page_in_chinese(world, client):
    r = client.get("/petitions/how-we-respond", params={"as_of": "2026-03-31"}, headers={"Accept-Language": "zh-Hans"})
    assert r.status_code == 200 and 'lang="zh-Hans"' in r.text
    assert "Median days from closing to the outcome" not in r.text


# ----- JSON and CSV -----

def test_json(world, client):
    r = client.get("/api/consultations/how-we-respond", params={"as_of": "2026-03-31"})
    assert r.status_code == 200
    data = r.json()
    assert data["as_of"] == "2026-03-31" and data["department"] is None
    assert data["figures"] == {"closed": 3, "with_outcome": 2, "without_outcome": 1, "median_days_to_outcome": 7.0,
                               "comments": 4, "comments_answered": 2, "share_comments_answered": 0.5,
                               "questions": 2, "questions_answered": 1, "share_questions_answered": 0.5}
    assert [w["id"] for w in data["without_outcome"]] == [world.ids["night"]]
    assert data["without_outcome"][0]["url"] == f"https://testserver/consultations/{world.ids['night']}"
    assert len(data["weeks"]) == 12
    one = client.get("/api/consultations/how-we-respond", params={"department": "transport", "as_of": "2026-03-31"})
    assert one.json()["figures"]["closed"] == 2 and one.json()["department"]["code"] == "transport"
    assert "@" not in r.text


def test_csv_tables(world, client):
    r = client.get("/api/consultations/how-we-respond.csv", params={"as_of": "2026-03-31"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["department"] == "All departments" and rows[0]["closed"] == "3"
    assert {row["department_code"]: row["with_outcome"] for row in rows[1:]} == {
        "environment": "1", "housing": "0", "transport": "1"}
    waiting = list(csv.DictReader(io.StringIO(client.get(
        "/api/consultations/how-we-respond.csv", params={"as_of": "2026-03-31", "table": "waiting"}).text)))
    assert [(w["title"], w["days_waiting"]) for w in waiting] == [("Night buses", "11")]
    weekly = list(csv.DictReader(io.StringIO(client.get(
        "/api/consultations/how-we-respond.csv", params={"as_of": "2026-03-31", "table": "weekly"}).text)))
    assert len(weekly) == 12 and sum(int(w["outcomes"]) for w in weekly) == 2


@pytest.mark.parametrize("path", ["/api/consultations/how-we-respond", "/api/consultations/how-we-respond.csv"])
def test_api_bad_input(world, client, path):
    r = client.get(path, params={"as_of": "2026-02-30"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    assert client.get(path, params={"department": "nope"}).status_code == 404
    if path.endswith(".csv"):
        assert client.get(path, params={"table": "everything"}).status_code == 422


def test_listed_in_openapi(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for p in ("/consultations/how-we-respond", "/consultations/how-we-respond.csv",
              "/consultations/{id}/participation-by-area.csv"):
        assert p in paths
    assert "422" in paths["/consultations/how-we-respond"]["get"]["responses"]


def test_closing_is_recorded_once_and_departments_exist(world):
    with read_session(world.app.state.engine) as s:
        night = s.get(Consultation, world.ids["night"])
        assert night.closed_at.replace(tzinfo=UTC) == at("2026-03-20", 12)
        assert {d.code for d in s.exec(select(Department))} >= {"transport", "environment", "housing"}
