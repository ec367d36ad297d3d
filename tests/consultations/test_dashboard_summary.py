"""The dashboard's summary ("At a glance"): its figures are the same as the detail sections below it, every
figure links somewhere, the sections fold under <details>, and the participation over time adds up."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import utc_now
from app.db import unit_of_work
from consultations import dashboard_jobs, dashboard_queries, service
from consultations.config import ConsultationSettings
from consultations.models import Comment, CommentVote
from moderation import latest_analysis

OFFICIAL = "official@example.org"
BIKES = ["We need protected bike lanes on Main Street", "Bike lanes on Main Street would make cycling safe",
         "Please build more protected bike lanes", "Safer cycling needs separated bike lanes",
         "Bike lanes everywhere, cycling to school is dangerous", "Paint is not protection: real bike lanes please"]
BUSES = ["Bus fares are far too high for families", "Make bus tickets cheaper for students",
         "Lower bus fares so people leave the car at home", "Cheaper bus fares and more frequent buses",
         "The bus fare increase hurts pensioners", "Free bus fares for under 18s"]
LIMITS = ConsultationSettings(vote_rate_limit="1000/60")


@pytest.fixture
def official_client(app, make_client, helpers):
    c = make_client()
    user = helpers.sign_in(c, app, OFFICIAL, role="official", department="transport")
    c.user_id = user.id
    return c


def _consultation_with_votes(app, helpers, factories, official_id):
    """Two themes and two opinion groups (half the voters agree with the bike comments, half with the bus ones),
    and one official response to a bike comment."""
    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"r{i}@example.org", body) for i, body in enumerate(BIKES + BUSES)]
    for p in range(12):
        user = helpers.add_user(app, f"voter{p}@example.org", name=f"Voter {p}")
        with factories.uow(app) as session:
            for n, comment_id in enumerate(ids):
                side = "agree" if (n < len(BIKES)) == (p < 6) else "disagree"
                if n == 0:
                    side = "agree"  # everyone agrees on the first comment: a consensus statement
                service.cast_vote(session, comment_id=comment_id, user_id=user.id, vote=side, limits=LIMITS)
    with factories.uow(app) as session:
        from consultations import forms
        service.publish_response(session, consultation_id=cid, official_id=official_id, comment_id=ids[1],
                                 data=forms.ResponseData(decision="will_act", text="We will build them.",
                                                         commitment="", follow_up_on=None))
    with unit_of_work(app.state.engine) as session:
        dashboard_jobs.request_reanalysis(session, consultation_id=cid, official_id=official_id)
    helpers.run_jobs(app)
    return cid, ids


def _section(text: str, start: str, end: str | None = None) -> str:
    i = text.index(start)
    return text[i:text.index(end, i)] if end else text[i:]


def _links(fragment: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(r"<a [^>]*>(.*?)</a>", fragment, re.S)]


def test_summary_figures_equal_the_detail_sections(app, official_client, helpers, factories):
    cid, ids = _consultation_with_votes(app, helpers, factories, official_client.user_id)
    with unit_of_work(app.state.engine) as session:
        analysis = latest_analysis(session, "consultation", cid)
    assert analysis is not None and len(analysis.themes) >= 2 and len(analysis.opinions.groups) >= 2
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert page.status_code == 200
    text = page.text
    summary = _section(text, 'id="summary"', 'id="analysis-status"')
    details = _section(text, '<details class="analysis-details" id="themes"')

    # participation: the same figures as the status line below, each a link
    figures = {name: int(re.search(rf'id="summary-{name}" href="[^"]+" data-count="(\d+)"', summary).group(1))
               for name in ("comments", "votes", "participants")}
    assert figures == {"comments": analysis.n_items, "votes": analysis.n_votes,
                       "participants": analysis.n_participants}
    assert (f"from {figures['comments']} comments and {figures['votes']} votes by "
            f"{figures['participants']} participants") in text

    # themes: share and agree/disagree in the summary are the ones in the detail table, and the label links
    # to the same theme page
    rows = dict(re.findall(r'<tr data-theme="(\d+)">(.*?)</tr>', summary, re.S))
    detail_rows = dict(re.findall(r'<tr data-theme="(\d+)">(.*?)</tr>', details, re.S))
    assert rows and set(rows) <= set(detail_rows)
    total_responses = 0
    unanswered = set()
    for key, row in detail_rows.items():
        label, size, distinct, share, agree, disagree, responses = _links(row)[:7]
        total_responses += int(responses)
        if int(responses) == 0:
            unanswered.add(label)
        if key in rows:
            s = rows[key]
            assert f'href="/officials/consultations/{cid}/analysis/themes/{key}"' in s
            assert _links(s)[0] == label
            assert f'data-share="{share}"' in s
            assert f'data-agree="{agree}" data-disagree="{disagree}"' in s
    # responses: the total of the table's column, and the unanswered themes are those with 0 there
    assert int(re.search(r'id="summary-responses" href="[^"]+" data-count="(\d+)"', summary).group(1)) \
        == total_responses == 1
    listed = _links(_section(summary, '<ul class="unanswered"', "</ul>"))
    assert set(listed) == unanswered and len(listed) == len(analysis.themes) - 1

    # consensus and divisive: the first three of the detail lists, in order, linking to the same comments
    def comment_ids(fragment):
        return [int(i) for i in re.findall(rf'href="/consultations/{cid}/comments/(\d+)"', fragment)]
    opinions = _section(text, '<details class="analysis-details" id="opinions"')
    consensus = _section(summary, 'summary-consensus-heading', "</section>")
    divisive = _section(summary, 'summary-divisive-heading', "</section>")
    agreed = [c.item for c in analysis.opinions.consensus]
    assert comment_ids(consensus) == agreed[:3] and ids[0] in agreed
    assert comment_ids(divisive) == [d.item for d in analysis.opinions.divisive][:3]
    assert comment_ids(_section(opinions, 'id="divisive-heading"', "</ul>"))[:3] == comment_ids(divisive)

    # the map's groups: named with the sizes of the groups table, each linking to its group's section
    for g in analysis.opinions.groups:
        assert f'<a href="#group-{g.id}" data-size="{g.size}">Group {g.id + 1}: {g.size} participants</a>' in summary
        assert f'<th scope="row"><a href="#group-{g.id}">Group {g.id + 1}</a></th><td class="num">{g.size}</td>' \
            in opinions


def test_details_are_folded_and_a_failed_edit_unfolds_its_form(app, official_client, helpers, factories):
    cid, _ids = _consultation_with_votes(app, helpers, factories, official_client.user_id)
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    for section in ("themes", "participation", "campaigns", "opinions"):
        assert f'<details class="analysis-details" id="{section}">' in page.text
    assert page.text.index('id="summary"') < page.text.index('id="analysis-status"') \
        < page.text.index('id="themes"')
    with unit_of_work(app.state.engine) as session:
        key = latest_analysis(session, "consultation", cid).themes[0].key
    r = official_client.post(f"/officials/consultations/{cid}/analysis/themes/{key}/rename", data={"label": ""})
    assert r.status_code == 422
    assert '<details class="analysis-details" id="themes" open>' in r.text  # the message is in view
    r = official_client.post(f"/officials/consultations/{cid}/analysis/themes/{key}/rename", data={"label": "Bikes"})
    assert r.status_code == 303 and r.headers["location"].endswith("/analysis?open=themes#themes")
    after = official_client.get(r.headers["location"])
    assert '<details class="analysis-details" id="themes" open>' in after.text and "Theme renamed." in after.text
    assert '<details class="analysis-details" id="opinions">' in after.text
    report = official_client.get(f"/officials/consultations/{cid}/analysis/report")
    assert report.status_code == 200 and 'id="summary"' in report.text
    for section in ("themes", "campaigns", "opinions"):
        assert f'<details class="analysis-details" id="{section}" open>' in report.text
    assert "Re-analyse now" not in report.text and "Rename theme" not in report.text


def test_no_summary_before_the_first_analysis(app, official_client, factories):
    cid = factories.consultation(app)
    factories.comment(app, cid, "r1@example.org", "Fix the bridge")
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert page.status_code == 200
    assert 'id="summary"' not in page.text and "has not been analysed yet" in page.text


def test_participation_over_time_adds_up_to_the_current_counts(app, official_client, helpers, factories):
    cid, ids = _consultation_with_votes(app, helpers, factories, official_client.user_id)
    now = utc_now()
    with factories.uow(app) as session:  # spread the comments over three weeks: one point per day
        for n, comment_id in enumerate(ids):
            c = session.get(Comment, comment_id)
            c.created_at = now - timedelta(days=20 - n)
            session.add(c)
        for v in session.exec(select(CommentVote).where(CommentVote.consultation_id == cid)):
            v.created_at = now - timedelta(days=3)
            session.add(v)
    with unit_of_work(app.state.engine) as session:
        unit, points = dashboard_queries.activity(session, cid)
        n_items, n_votes = dashboard_queries.current_counts(session, cid)
    assert unit == "day"
    assert len(points) == 18  # every day from the first comment (20 days ago) to the votes (3 days ago), quiet ones too
    assert sum(p.comments for p in points) == n_items == len(ids)
    assert sum(p.votes for p in points) == n_votes == 12 * len(ids)
    assert points[-1].votes == n_votes and points[-2].votes == 0
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    table = _section(page.text, 'id="participation-over-time-heading"', "</table>")
    cells = [int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>', table)]
    assert sum(cells[0::2]) == n_items and sum(cells[1::2]) == n_votes
    assert "Comments and votes per day" in table
    assert 'role="img"' in page.text and "Comments over time" in page.text


@pytest.mark.parametrize("days, unit", [(30, "day"), (200, "week"), (900, "month"), (3000, "year")])
def test_participation_is_bucketed_by_the_span(app, factories, days, unit):
    cid = factories.consultation(app)
    first = factories.comment(app, cid, "a@example.org", "An early comment about the park")
    factories.comment(app, cid, "b@example.org", "A late comment about the park")
    with factories.uow(app) as session:
        c = session.get(Comment, first)
        c.created_at = utc_now() - timedelta(days=days)
        session.add(c)
    with unit_of_work(app.state.engine) as session:
        got, points = dashboard_queries.activity(session, cid)
    assert got == unit
    assert sum(p.comments for p in points) == 2 and points[0].comments == 1 and points[-1].comments == 1
    assert len(points) <= 70


def test_an_htmx_rename_also_refreshes_the_summary(app, official_client, helpers, factories):
    cid, _ids = _consultation_with_votes(app, helpers, factories, official_client.user_id)
    with unit_of_work(app.state.engine) as session:
        key = latest_analysis(session, "consultation", cid).themes[0].key
    r = official_client.post(f"/officials/consultations/{cid}/analysis/themes/{key}/rename",
                             data={"label": "Cycling safety"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="analysis-themes"')  # the themes region, swapped in place
    summary = _section(r.text, '<section id="summary"')
    assert 'hx-swap-oob="true"' in summary.split(">", 1)[0]  # and the summary, out of band
    assert re.search(rf'<tr data-theme="{key}">\s*<th scope="row"><a class="theme-label" [^>]*>Cycling safety</a>',
                     summary)
    full = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert "hx-swap-oob" not in full.text
