"""The public moderation transparency report: monthly figures counted from seeded screenings, cases, decisions and
appeals (a month with nothing, precision and recall from a known confusion); the page in both languages, its
JSON and CSV (no personal data, no formula cells) and a malformed month."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.clock import utc_now
from app.db import read_session, unit_of_work
from moderation import transparency
from moderation.models import ModerationAppeal, ModerationCase, ModerationDecision, ModerationItem

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
OCT, NOV = transparency.Month(2026, 10), transparency.Month(2026, 11)
SECRET_TEXT = "=HYPERLINK(\"https://evil.example\") my phone is 07700 900123"
MODERATOR_EMAIL = "mod.person@example.org"


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class World:
    def __init__(self, app, add_user):
        self.app, self._add = app, add_user
        self.mod = self._user(MODERATOR_EMAIL, "moderator")
        self.author = self._user("author.person@example.org", "resident")
        self.n = 0

    def _user(self, email, role):
        return self._add(self.app, email, role, name="Named " + role.title()).id

    def item(self, when: datetime, *, kind="comment", score: float | None = 0.9, route="review", language="en",
             flagged: bool | None = True) -> int:
        self.n += 1
        with unit_of_work(self.app.state.engine) as s:
            item = ModerationItem(kind=kind, item_id=self.n, text=SECRET_TEXT, author_id=self.author, language=language,
                                  score=score, model_version="v1", route=route, model_flagged=flagged,
                                  screened_at=when, updated_at=when, url=f"/x/{self.n}")
            s.add(item)
            s.flush()
            return item.id

    def case(self, item_pk: int, opened: datetime, *, decided: datetime | None = None, by_person=True,
             reason="model", appeal_id: int | None = None) -> int:
        with unit_of_work(self.app.state.engine) as s:
            case = ModerationCase(item_pk=item_pk, reason=reason, state="decided" if decided else "open",
                                  opened_at=opened, decided_at=decided, decided_by=self.mod if decided and by_person else None,
                                  appeal_id=appeal_id)
            s.add(case)
            s.flush()
            return case.id

    def decide(self, when: datetime, *, opened: datetime | None = None, kind="comment", decision="hide",
               reason="abuse", language="en", flagged: bool | None = True, is_appeal=False, item_pk=None) -> int:
        """A decided item: screened and queued at `opened` (default an hour before), decided at `when`."""
        opened = opened or when - timedelta(hours=1)
        item_pk = item_pk or self.item(opened, kind=kind, language=language, flagged=flagged,
                                       score=None if flagged is None else 0.9)
        case_id = self.case(item_pk, opened, decided=when, reason="appeal" if is_appeal else "model")
        with unit_of_work(self.app.state.engine) as s:
            d = ModerationDecision(case_id=case_id, item_pk=item_pk, kind=kind, moderator_id=self.mod, decision=decision,
                                   reason_code="acceptable" if decision == "approve" else reason,
                                   note="Named Moderator's private note", original_text=SECRET_TEXT, is_appeal=is_appeal,
                                   label=0 if decision == "approve" else 1, language=language,
                                   score=None if flagged is None else 0.9, model_version="v1", model_flagged=flagged,
                                   decided_at=when, request_id="req-secret")
            s.add(d)
            s.flush()
            return d.id

    def appeal(self, decision_id: int, made: datetime, *, outcome="", decided: datetime | None = None) -> None:
        with unit_of_work(self.app.state.engine) as s:
            d = s.get(ModerationDecision, decision_id)
            s.add(ModerationAppeal(decision_id=decision_id, item_pk=d.item_pk, author_id=self.author,
                                   statement="I, Named Author, disagree", created_at=made, outcome=outcome,
                                   decided_at=decided))


@pytest.fixture
def world(app, helpers):
    return World(app, helpers.add_user)


def seed_october(w: World) -> None:
    """October 2026: a known confusion per language, plus rows that must be left out of it."""
    # English: 3 flagged and removed, 1 flagged but approved, 2 removed but not flagged, 1 neither -> P 3/4, R 3/5
    for i in range(3):
        w.decide(at("2026-10-05", i), reason="abuse" if i else "spam")
    w.decide(at("2026-10-06"), decision="approve")
    w.decide(at("2026-10-07"), flagged=False, decision="redact", reason="personal-information")
    w.decide(at("2026-10-07", 5), flagged=False)
    w.decide(at("2026-10-08"), flagged=False, decision="approve")
    # Chinese: 1 flagged and removed, 1 flagged but approved -> P 1/2, R 1/1; on a petition
    w.decide(at("2026-10-10"), language="zh", kind="petition", opened=at("2026-10-09"))
    w.decide(at("2026-10-11"), language="zh", kind="petition", decision="approve")
    # not in the confusion: a decision on an unscored item, and an appeal decision (both still decisions)
    w.decide(at("2026-10-12"), flagged=None)
    first = w.decide(at("2026-10-13"))
    w.appeal(first, at("2026-10-14"), outcome="upheld", decided=at("2026-10-15"))
    w.decide(at("2026-10-15"), is_appeal=True, item_pk=None)
    # screened in October without a decision: two held by the model, one published; one unscored (not screened)
    w.item(at("2026-10-20"), route="hold")
    w.item(at("2026-10-21"), route="hold")
    w.item(at("2026-10-22"), route="publish", flagged=False, score=0.1)
    w.item(at("2026-10-23"), route="review", score=None, flagged=None)
    # a petition approved on its own page (a person closed its case, no decision record), 4 hours after queueing
    w.case(w.item(at("2026-10-24"), kind="petition"), at("2026-10-24"), decided=at("2026-10-24", 4))
    # an open case closed by an appeal superseding it (nobody decided it): not a human decision
    w.case(w.item(at("2026-10-25")), at("2026-10-25"), decided=at("2026-10-26"), by_person=False)
    # an October decision appealed in November and overturned in December
    late = w.decide(at("2026-10-30"))
    w.appeal(late, at("2026-11-02"), outcome="overturned", decided=at("2026-12-01"))


def report(app, month, now=NOW):
    with read_session(app.state.engine) as s:
        return transparency.transparency_report(s, month=month, now=now)


def test_october_figures_come_from_the_recorded_rows(app, world):
    seed_october(world)
    m = report(app, OCT).months[0]
    assert m.month == "2026-10" and m.status == "complete"
    # 13 decided items (the unscored one is not screened) + 3 scored screenings without a decision + 2 cases
    assert m.screened == 12 + 3 + 2
    assert m.held == 2
    # every case opened in October except the appeal's: 12 decided + the 2 closed without a decision record
    assert m.reviewed == 12 + 2
    # 13 decision records (the appeal's included) + the petition closed on its own page; the superseded case isn't
    assert m.decisions == 13 and m.workflow_closures == 1 and m.human_decisions == 14
    assert dict((c.key, c.count) for c in m.by_outcome) == {"hide": 9, "approve": 3, "redact": 1}
    assert dict((c.key, c.count) for c in m.by_kind) == {"comment": 11, "petition": 2}
    assert m.by_reason[0].key == "abuse" and dict((c.key, c.count) for c in m.by_reason)["spam"] == 1
    assert dict((c.key, c.count) for c in m.by_reason)["personal-information"] == 1
    # 1 hour for every decided item except the zh petition (a day) and the petition closed on its page (4 hours)
    assert m.median_hours == 1.0
    assert (m.appeals_made, m.appeals_decided, m.appeals_upheld, m.appeals_overturned) == (1, 1, 1, 0)


def test_precision_and_recall_per_language_from_a_known_confusion(app, world):
    seed_october(world)
    quality = {q.language: q for q in report(app, OCT).months[0].quality}
    en, zh = quality["en"], quality["zh"]
    # the first October decision appealed (flagged, removed) counts, the appeal's own decision and the unscored don't
    # ... and the late one on the 30th: 3 + 1 + 1 flagged and removed
    assert (en.tp, en.fp, en.fn, en.tn) == (5, 1, 2, 1)
    assert en.precision == pytest.approx(5 / 6) and en.recall == pytest.approx(5 / 7)
    assert (zh.tp, zh.fp, zh.fn, zh.tn) == (1, 1, 0, 0)
    assert zh.precision == 0.5 and zh.recall == 1.0


def test_appeals_count_in_the_month_they_were_made_and_decided(app, world):
    seed_october(world)
    nov = report(app, NOV).months[0]
    assert (nov.appeals_made, nov.appeals_decided) == (1, 0)
    dec = report(app, transparency.Month(2026, 12)).months[0]
    assert dec.status == "to-date"
    assert (dec.appeals_made, dec.appeals_decided, dec.appeals_upheld, dec.appeals_overturned) == (0, 1, 0, 1)


def test_a_month_with_nothing_gives_zeros_and_no_rates(app, world):
    seed_october(world)
    m = report(app, transparency.Month(2025, 3)).months[0]
    assert (m.screened, m.reviewed, m.held, m.human_decisions, m.appeals_made) == (0, 0, 0, 0, 0)
    assert m.median_hours is None and m.by_reason == () and m.by_kind == ()
    assert {q.language for q in m.quality} == {"en", "zh"}
    assert all(q.decisions == 0 and q.precision is None and q.recall is None for q in m.quality)
    future = report(app, transparency.Month(2030, 1)).months[0]
    assert future.status == "future" and future.screened == 0


def test_the_default_is_last_month_and_this_month_and_the_trend_has_twelve_months(app, world):
    seed_october(world)
    r = report(app, None)
    assert [m.month for m in r.months] == ["2026-11", "2026-12"] and r.chosen == ""
    assert [m.status for m in r.months] == ["complete", "to-date"]
    assert [p.month for p in r.trend][0] == "2026-01" and r.trend[-1].month == "2026-12" and len(r.trend) == 12
    october = next(p for p in r.trend if p.month == "2026-10")
    m = report(app, OCT).months[0]
    assert (october.screened, october.reviewed, october.held) == (m.screened, m.reviewed, m.held)
    assert sum(p.screened for p in r.trend) == m.screened


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "2026-10-01", "october", "1899-12", "2100-01"])
def test_a_malformed_month_is_refused_with_a_message(text):
    from app.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        transparency.parse_month(text)
    assert "YYYY-MM" in info.value.message


# ----- pages and open data -----

def _seed_recent(w: World) -> None:
    # seconds before now, so the rows fall in the current month unless the test starts in a month's first 3 seconds
    now = utc_now()
    w.decide(now - timedelta(seconds=3), reason="abuse")
    w.decide(now - timedelta(seconds=2), decision="approve", language="zh", kind="petition")
    w.item(now - timedelta(seconds=1), route="hold")


@pytest.mark.parametrize("locale, heading", [("en", "Moderation transparency report"), ("zh-Hans", "审核透明度报告")])
def test_the_page_shows_the_report_in_both_languages(app, client, world, locale, heading):
    _seed_recent(world)
    client.cookies.set("civic_locale", locale)
    page = client.get("/moderation/transparency")
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in page.text
    assert "<svg" in page.text and "/api/moderation/transparency.csv" in page.text
    assert "Named" not in page.text and "example.org" not in page.text and "HYPERLINK" not in page.text
    empty = client.get("/moderation/transparency?month=1999-01")
    assert empty.status_code == 200 and "month=1999-01" in empty.text


def test_a_malformed_month_is_a_422_on_the_page_and_in_the_api(client):
    page = client.get("/moderation/transparency?month=2026-13")
    assert page.status_code == 422
    assert "The month must be written as YYYY-MM" in page.text and 'name="month"' in page.text
    for path in ("/api/moderation/transparency?month=x", "/api/moderation/transparency.csv?month=2026-1"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert "YYYY-MM" in response.json()["error"]["message"]


def test_json_has_counts_and_no_personal_data(app, client, world):
    _seed_recent(world)
    data = client.get("/api/moderation/transparency").json()
    current = data["months"][-1]
    assert current["human_decisions"] == 2 and current["held"] == 1 and current["decisions_by_reason"]["abuse"] == 1
    assert {m["language"] for m in current["model"]} == {"en", "zh"}
    text = str(data)
    for secret in ("Named", "example.org", "HYPERLINK", "07700", "req-secret", "/x/", "private note"):
        assert secret not in text


def test_csv_is_long_form_without_formula_cells(app, client, world):
    _seed_recent(world)
    month = utc_now().strftime("%Y-%m")
    response = client.get(f"/api/moderation/transparency.csv?month={month}")
    assert response.status_code == 200 and "text/csv" in response.headers["content-type"]
    assert f'moderation-transparency-{month}.csv' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    figures = {(r["month"], r["figure"], r["group"]): r["value"] for r in rows if r["status"] != "trend"}
    assert figures[(month, "held", "")] == "1" and figures[(month, "decisions_by_kind", "petition")] == "1"
    assert figures[(month, "model_precision", "en")] == "1.0"
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    assert "Named" not in response.text and "example.org" not in response.text
    openapi = client.get("/api/openapi.json").json()
    param = openapi["paths"]["/moderation/transparency.csv"]["get"]["parameters"][0]
    assert param["schema"]["pattern"] == transparency.MONTH_PATTERN
