"""Participants' areas in a consultation: optional on the comment form and when voting on statements, one per
participant (the latest wins), drawn per area as a map (with boundaries) and always as a table, with areas of
fewer than 5 participants shown only as "fewer than 5" on the page, in the API and in the export."""
from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest
from sqlmodel import select

from app.db import read_session
from consultations import service
from consultations.config import ConsultationSettings
from consultations.models import ParticipantArea
from petitions.demo import BOUNDARIES

LIMITS = ConsultationSettings(comment_rate_limit="1000/60", comment_ip_rate_limit="1000/60")
AREAS = ("Central", "North", "South", "East", "West", "Riverside", "Hillside", "Outside the city")


@pytest.fixture
def domain_settings(domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries=str(BOUNDARIES))
    return domain_settings


def _participants(app, helpers, factories, cid: int, by_area: dict[str, int]) -> None:
    """Residents who commented giving an area: `by_area` participants per area."""
    n = 0
    for area, count in by_area.items():
        for _ in range(count):
            user = helpers.add_user(app, f"p{n}@example.org")
            n += 1
            with factories.uow(app) as s:
                service.post_comment(s, consultation_id=cid, author_id=user.id, body=f"My view number {n}.",
                                     limits=LIMITS, area=area, areas=AREAS)


def _map(page: str) -> dict[str, tuple[str, str]]:
    svg = page.split('class="chart choropleth"')[1].split("</svg>")[0]
    return {a: (label, count) for label, a, count in
            re.findall(r'<path role="img" aria-label="([^"]+)"[^>]*data-area="([^"]+)" data-count="([^"]+)"', svg)}


def test_the_page_maps_participants_by_area_and_hides_small_counts(app, client, helpers, factories):
    cid = factories.consultation(app)
    _participants(app, helpers, factories, cid, {"Central": 6, "North": 2})
    page = client.get(f"/consultations/{cid}")
    assert page.status_code == 200 and "Where participants come from" in page.text
    drawn = _map(page.text)
    assert len(drawn) == 8
    assert drawn["Central"] == ("Central: 6 participants", "6")
    assert drawn["North"] == ("North: fewer than 5 participants", "small")   # no exact count, not even in data-*
    assert drawn["Hillside"][1] == "0"
    table = page.text.split('id="participation-table-caption"')[1].split("</table>")[0]
    assert '<td>Central</td><td class="num">6</td>' in table
    assert '<td>North</td><td class="num">fewer than 5</td>' in table
    assert ">2<" not in table


def test_one_area_per_participant_latest_wins(app, helpers, factories):
    cid = factories.consultation(app)
    user = helpers.add_user(app, "mover@example.org")
    for area in ("Central", "North", ""):   # an empty choice keeps the earlier answer
        with factories.uow(app) as s:
            service.post_comment(s, consultation_id=cid, author_id=user.id, body=f"Comment with area {area!r}.",
                                 limits=LIMITS, area=area, areas=AREAS)
    with read_session(app.state.engine) as s:
        rows = s.exec(select(ParticipantArea).where(ParticipantArea.consultation_id == cid)).all()
    assert [(r.user_id, r.area) for r in rows] == [(user.id, "North")]


def test_a_vote_on_a_statement_records_the_area(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "author@example.org", "Close the street at drop-off.")
    factories.comment(app, cid, "other@example.org", "Keep the street open.")
    helpers.sign_in(client, app, "voter@example.org")
    r = client.post(f"/consultations/{cid}/statements", data={"comment_id": cmt, "vote": "agree", "area": "riverside"},
                    follow_redirects=False)
    assert r.status_code == 303
    with read_session(app.state.engine) as s:
        assert [p.area for p in s.exec(select(ParticipantArea))] == ["Riverside"]   # matched without regard to case
    page = client.get(f"/consultations/{cid}/statements")
    assert 'id="statement-area"' in page.text and "Your area (optional)" in page.text
    assert '<option value="Riverside" selected>' in page.text   # their own answer, shown back to them only


def test_an_unknown_area_is_a_422_next_to_the_field(app, client, helpers, factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "resident@example.org")
    page = client.get(f"/consultations/{cid}")
    assert 'id="new-area"' in page.text and "<option value=\"Central\">" in page.text
    r = client.post(f"/consultations/{cid}/comments", data={"body": "My comment stays typed.", "area": "Atlantis"})
    assert r.status_code == 422
    field = r.text.split('<label for="new-area"')[1].split("</select>")[0]
    assert "Choose your area from the list, or leave it empty." in field and 'aria-invalid="true"' in field
    assert "My comment stays typed." in r.text
    with read_session(app.state.engine) as s:
        assert s.exec(select(ParticipantArea)).all() == []
    vote = client.post(f"/consultations/{cid}/statements",
                       data={"comment_id": factories.comment(app, cid, "a@example.org", "A statement to vote on."),
                             "vote": "agree", "area": "Atlantis"})
    assert vote.status_code == 422 and "Choose your area from the list" in vote.text


def test_api_and_export_hide_small_counts(app, client, helpers, factories):
    cid = factories.consultation(app)
    _participants(app, helpers, factories, cid, {"South": 5, "East": 4})
    data = client.get(f"/api/consultations/{cid}").json()
    assert data["participation_by_area"] == [{"area": "South", "participants": 5, "fewer_than": None},
                                             {"area": "East", "participants": None, "fewer_than": 5}]
    # absolute, so a script that fetched the JSON from elsewhere can follow it
    assert data["exports"]["participation_by_area_csv"] == f"https://testserver/api/consultations/{cid}/participation-by-area.csv"
    r = client.get(data["exports"]["participation_by_area_csv"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["area"], row["participants"], row["fewer_than"]) for row in rows] == [
        ("South", "5", ""), ("East", "", "5")]
    assert "@" not in r.text and "@" not in str(data["participation_by_area"])
    draft = factories.consultation(app, state="draft", title="A draft")
    assert client.get(f"/api/consultations/{draft}/participation-by-area.csv").status_code == 404


def test_without_boundaries_only_the_table(app, client, helpers, factories, domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries="")
    cid = factories.consultation(app)
    _participants(app, helpers, factories, cid, {"West": 7})
    page = client.get(f"/consultations/{cid}")
    assert "choropleth" not in page.text and '<td>West</td><td class="num">7</td>' in page.text


def test_nobody_gave_an_area_yet(app, client, factories):
    cid = factories.consultation(app)
    page = client.get(f"/consultations/{cid}")
    assert "No participant has given their area yet." in page.text and "choropleth" not in page.text


def test_a_reply_can_give_the_area_too(app, client, helpers, factories):
    cid = factories.consultation(app)
    parent = factories.comment(app, cid, "author@example.org", "Close the street at drop-off.")
    helpers.sign_in(client, app, "replier@example.org")
    page = client.get(f"/consultations/{cid}/comments/{parent}")
    assert f'id="reply-{parent}-area"' in page.text
    bad = client.post(f"/consultations/{cid}/comments", data={"body": "I agree.", "parent_id": parent, "area": "Mars"})
    assert bad.status_code == 422
    assert "Choose your area from the list" in bad.text.split(f'<label for="reply-{parent}-area"')[1].split("</select>")[0]
    ok = client.post(f"/consultations/{cid}/comments", data={"body": "I agree.", "parent_id": parent, "area": "Hillside"},
                     follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(f"/consultations/{cid}/comments/{parent}")
    assert '<option value="Hillside" selected>' in page.text   # shown back to its author only
    with read_session(app.state.engine) as s:
        assert [p.area for p in s.exec(select(ParticipantArea))] == ["Hillside"]
