"""Officials' feedback-analysis dashboard: analysis in the background, themes, campaigns, edits that survive
re-runs, answering a theme, exports and access."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app.db import unit_of_work
from consultations import dashboard_jobs
from consultations.config import ConsultationSettings
from moderation import latest_analysis

OFFICIAL = "official@example.org"

BIKES = ["We need protected bike lanes on Main Street", "Bike lanes on Main Street would make cycling safe",
         "Please build more protected bike lanes", "Safer cycling needs separated bike lanes",
         "Bike lanes everywhere, cycling to school is dangerous", "Paint is not protection: real bike lanes please",
         "My kids would cycle to school with safe bike lanes"]
BUSES = ["Bus fares are far too high for families", "Make bus tickets cheaper for students",
         "Lower bus fares so people leave the car at home", "Cheaper bus fares and more frequent buses",
         "The bus fare increase hurts pensioners", "Free bus fares for under 18s",
         "Bus tickets cost more than parking, cut the fares"]
TREES = ["Plant more trees along the streets for shade", "More trees and benches in the park",
         "Street trees keep the city cool in summer", "Plant trees on every street near schools",
         "We want more green space and trees", "Old trees were cut down, plant new trees",
         "Fruit trees in the park would be lovely"]


def _analyse(app, helpers):
    """Run the on-demand analysis job like the worker does."""
    ran = helpers.run_jobs(app)
    assert ran >= 1
    return ran


def _request_run(app, cid, official_id):
    with unit_of_work(app.state.engine) as session:
        return dashboard_jobs.request_reanalysis(session, consultation_id=cid, official_id=official_id)


def _latest(app, cid):
    with unit_of_work(app.state.engine) as session:
        return latest_analysis(session, "consultation", cid)


@pytest.fixture
def official_client(app, make_client, helpers):
    c = make_client()
    user = helpers.sign_in(c, app, OFFICIAL, role="official", department="transport")
    c.user_id = user.id
    return c


def _seed(app, factories, texts, prefix="r"):
    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"{prefix}{i}@example.org", body) for i, body in enumerate(texts)]
    return cid, ids


def test_dashboard_shows_themes_after_the_background_analysis(app, official_client, helpers, factories):
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES)
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert page.status_code == 200
    assert "has not been analysed yet" in page.text
    # "Re-analyse now" only queues a job (never runs the analysis in the request)
    response = official_client.post(f"/officials/consultations/{cid}/analysis/run")
    assert response.status_code == 303
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert "A re-analysis is queued" in page.text
    _analyse(app, helpers)
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert "Last analysed on" in page.text and "from 21 comments" in page.text
    analysis = _latest(app, cid)
    assert len(analysis.themes) >= 2
    assert sum(t.size for t in analysis.themes) == 21
    # every theme links to the comments behind it, and those pages list them
    first = analysis.themes[0]
    link = f"/officials/consultations/{cid}/analysis/themes/{first.key}"
    assert link in page.text
    theme_page = official_client.get(link)
    assert theme_page.status_code == 200
    for comment_id in first.members:
        assert f"/consultations/{cid}/comments/{comment_id}" in theme_page.text
    assert "<svg" in page.text  # the bar chart


@pytest.mark.parametrize("texts, message", [
    ([], "There are no comments to analyse yet"),
    (["Just one comment about the bridge"], "There is only one comment"),
    (["Fix the bridge", "Close the road at night"], "There are only two comments"),
    (["Save our library!"] * 6, "All the comments are identical or nearly identical"),
    (["修建更多的自行车道", "Build more bike lanes", "公交车票太贵了", "Bus tickets are too expensive"], ""),
])
def test_small_and_odd_inputs_give_a_clear_message(app, official_client, helpers, factories, texts, message):
    cid, _ids = _seed(app, factories, texts)
    assert _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert page.status_code == 200
    assert "Last analysed on" in page.text
    if message:
        assert message in page.text
    assert "Nobody has voted on the comments yet" in page.text
    for path in ("analysis.csv", "analysis.json", "analysis/report"):
        assert official_client.get(f"/officials/consultations/{cid}/{path}").status_code == 200


def test_a_campaign_counts_once_and_is_shown(app, official_client, helpers, factories):
    campaign = "Stop the car park on Elm Street now! Keep the green for our children."
    cid, ids = _seed(app, factories, BIKES + BUSES + [campaign] * 40)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    analysis = _latest(app, cid)
    assert len(analysis.campaigns) == 1
    group = analysis.campaigns[0]
    assert group.count == 40
    theme = next(t for t in analysis.themes if group.representative in t.members)
    assert theme.size >= 40 and theme.distinct < 10  # 40 copies count as one distinct view
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert "Campaigns and copy-paste comments" in page.text
    link = f"/officials/consultations/{cid}/analysis/campaigns/1"
    assert link in page.text
    listed = official_client.get(link)
    assert listed.status_code == 200 and "The 40 comments behind it" in listed.text


def test_rename_merge_and_split_survive_a_re_run(app, official_client, helpers, factories):
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    themes = _latest(app, cid).themes
    assert len(themes) >= 3, themes
    base = f"/officials/consultations/{cid}/analysis"
    target = themes[0]
    r = official_client.post(f"{base}/themes/{target.key}/rename", data={"label": "Cycling safety"})
    assert r.status_code == 303
    assert "Cycling safety" in official_client.get(base).text
    # an empty name is refused next to the field
    r = official_client.post(f"{base}/themes/{target.key}/rename", data={"label": "  "})
    assert r.status_code == 422 and "Enter a name of up to 200 characters." in r.text
    # merge the other two
    a, b = themes[1], themes[2]
    r = official_client.post(f"{base}/merge", data={"theme": [str(a.key), str(b.key)], "merge-label": "Money and green"})
    assert r.status_code == 303
    after = _latest(app, cid)
    merged = next(t for t in after.themes if t.label == "Money and green")
    assert set(merged.members) == set(a.members) | set(b.members)
    # one theme is refused
    r = official_client.post(f"{base}/merge", data={"theme": [str(merged.key)]})
    assert r.status_code == 422 and "Choose at least two themes to merge." in r.text

    # a new comment arrives (a copy of an earlier one, so the clustering stays comparable); the re-run keeps the edits
    factories.comment(app, cid, "late@example.org", "We need protected bike lanes on Main Street!")
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    rerun = _latest(app, cid)
    assert rerun.run_id != after.run_id
    labels = {t.label for t in rerun.themes}
    assert "Cycling safety" in labels and "Money and green" in labels
    merged_again = next(t for t in rerun.themes if t.label == "Money and green")
    union = set(a.members) | set(b.members)
    assert len(union & set(merged_again.members)) / len(union | set(merged_again.members)) >= 0.5

    # split the merged theme, re-run: still split
    r = official_client.post(f"{base}/themes/{merged_again.key}/split", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="analysis-themes"' in r.text and "<h1>" not in r.text
    split = _latest(app, cid)
    parts = [t for t in split.themes if t.origin == "split"]
    assert len(parts) == 2 and set(parts[0].members) | set(parts[1].members) == set(merged_again.members)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    assert len([t for t in _latest(app, cid).themes if t.origin == "split"]) == 2


def test_answering_a_theme_publishes_into_each_thread_and_emails_authors(app, official_client, helpers, factories):
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    theme = _latest(app, cid).themes[0]
    url = f"/officials/consultations/{cid}/analysis/themes/{theme.key}"
    # validation errors are shown next to the fields, nothing is published
    r = official_client.post(url + "/answer", data={"decision": "", "text": ""})
    assert r.status_code == 422 and "Choose what the department will do." in r.text
    r = official_client.post(url + "/answer", data={"decision": "will_act",
                                                    "text": "We will consult on a new plan for this."})
    assert r.status_code == 303
    helpers.run_jobs(app)
    for comment_id in theme.members:
        thread = official_client.get(f"/consultations/{cid}/comments/{comment_id}")
        assert "We will consult on a new plan for this." in thread.text
    authors = {f"r{ids.index(i)}@example.org" for i in theme.members}
    for email in authors:
        assert any("We will consult on a new plan for this." in m.body for m in helpers.outbox(app, email)), email
    page = official_client.get(url)
    assert "Responses already given in this theme" in page.text
    dashboard = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert f"{url}#responses\">{len(theme.members)}<" in dashboard.text
    # resubmitting does not duplicate the response
    r = official_client.post(url + "/answer", data={"decision": "will_act",
                                                    "text": "We will consult on a new plan for this."})
    assert r.status_code == 409


def test_a_large_theme_is_answered_in_the_background(app, official_client, helpers, factories, monkeypatch):
    monkeypatch.setattr(dashboard_jobs, "ANSWER_INLINE_LIMIT", 2)  # every theme here counts as large
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    theme = _latest(app, cid).themes[0]
    assert len(theme.members) > 2
    url = f"/officials/consultations/{cid}/analysis/themes/{theme.key}"
    answer = {"decision": "will_act", "text": "A new cycling plan is coming."}
    r = official_client.post(url + "/answer", data=answer, follow_redirects=True)
    assert r.status_code == 200
    assert f"Your response is being published in {len(theme.members)} comment threads" in r.text
    first = f"/consultations/{cid}/comments/{theme.members[0]}"
    assert "A new cycling plan is coming." not in official_client.get(first).text  # not yet: it is queued
    # a double submission queues nothing more
    assert official_client.post(url + "/answer", data=answer).status_code == 303
    assert helpers.run_jobs(app) >= 1
    for comment_id in theme.members:
        assert official_client.get(f"/consultations/{cid}/comments/{comment_id}").text.count(
            "A new cycling plan is coming.") == 1
    authors = {f"r{ids.index(i)}@example.org" for i in theme.members}
    for email in authors:
        assert any("A new cycling plan is coming." in m.body for m in helpers.outbox(app, email)), email
    # once published, the same answer is refused with a clear message
    again = official_client.post(url + "/answer", data=answer)
    assert again.status_code == 409 and "already has this response" in again.text


def test_answering_a_theme_is_one_transaction(app, official_client, helpers, factories, monkeypatch):
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    theme = _latest(app, cid).themes[0]
    from consultations import service

    real = service.publish_response
    calls = []

    def flaky(session, **kwargs):
        calls.append(kwargs["comment_id"])
        if len(calls) == len(theme.members):
            raise RuntimeError("database went away")
        return real(session, **kwargs)

    monkeypatch.setattr(service, "publish_response", flaky)
    with pytest.raises(RuntimeError), unit_of_work(app.state.engine, app.state.unit_context) as session:
        from consultations import forms
        dashboard_jobs.request_theme_answer(session, consultation_id=cid, theme_key=theme.key,
                                            official_id=official_client.user_id,
                                            data=forms.ResponseData("noted", "Thanks", "", None))
    for comment_id in theme.members:
        assert "Thanks" not in official_client.get(f"/consultations/{cid}/comments/{comment_id}").text


def test_exports_have_no_names_or_email_addresses(app, official_client, helpers, factories):
    cid, ids = _seed(app, factories, BIKES + BUSES + TREES, prefix="person.name")
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    j = official_client.get(f"/officials/consultations/{cid}/analysis.json")
    assert j.status_code == 200 and j.headers["content-type"].startswith("application/json")
    data = json.loads(j.text)
    assert {t["comments"] for t in data["themes"]} and sum(t["comments"] for t in data["themes"]) == 21
    c = official_client.get(f"/officials/consultations/{cid}/analysis.csv")
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert rows and rows[0]["section"] == "theme"
    report = official_client.get(f"/officials/consultations/{cid}/analysis/report")
    for body in (j.text, c.text, report.text):
        assert "@" not in body.replace("@media", "")
        assert not re.search(r"person\.?name", body, re.I)
        assert "Olivia" not in body


def test_periodic_scan_enqueues_once_and_dedupes(app, official_client, helpers, factories, monkeypatch):
    from sqlmodel import select

    from app.models import Job

    monkeypatch.setattr(dashboard_jobs, "MIN_NEW_COMMENTS", 3)
    cid, ids = _seed(app, factories, BIKES)
    ctx = app.state.job_context
    dashboard_jobs.scan(ctx, {})
    dashboard_jobs.scan(ctx, {})
    assert not _request_run(app, cid, official_client.user_id)  # a double click is ignored
    with unit_of_work(app.state.engine) as session:
        jobs = list(session.exec(select(Job).where(Job.kind == "consultations.analyse")))
    assert len(jobs) == 1
    helpers.run_jobs(app)
    first = _latest(app, cid)
    dashboard_jobs.scan(ctx, {})  # nothing changed: nothing queued
    assert helpers.run_jobs(app) == 0 or _latest(app, cid).run_id == first.run_id
    for i in range(3):
        factories.comment(app, cid, f"new{i}@example.org", BUSES[i])
    dashboard_jobs.scan(ctx, {})
    helpers.run_jobs(app)
    assert _latest(app, cid).run_id != first.run_id
    assert _latest(app, cid).n_items == 10


def test_opinion_groups_and_map_without_identities(app, official_client, helpers, factories):
    from consultations import service

    cid, ids = _seed(app, factories, BIKES + BUSES)
    limits = ConsultationSettings(vote_rate_limit="1000/60")
    for p in range(12):
        user = helpers.add_user(app, f"voter{p}@example.org", name=f"Voter Person {p}")
        with factories.uow(app) as session:
            for n, comment_id in enumerate(ids):
                side = "agree" if (n < 5) == (p < 6) else "disagree"
                service.cast_vote(session, comment_id=comment_id, user_id=user.id, vote=side, limits=limits)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    analysis = _latest(app, cid)
    assert len(analysis.opinions.groups) == 2
    assert {g.size for g in analysis.opinions.groups} == {6}
    page = official_client.get(f"/officials/consultations/{cid}/analysis")
    assert "Map of participants by how they voted" in page.text
    assert "Group 2" in page.text and "of this group agree" in page.text
    assert re.search(r"\(p (&lt;|=) 0\.\d{3}\)", page.text) and "e-0" not in page.text  # plain p-values
    assert "Voter Person" not in page.text and "voter0@" not in page.text


def test_non_officials_are_refused(app, client, make_client, helpers, factories):
    cid, _ids = _seed(app, factories, BIKES)
    resident = make_client()
    helpers.sign_in(resident, app, "someone@example.org")
    for c in (client, resident):
        assert c.get(f"/officials/consultations/{cid}/analysis").status_code == 403
        assert c.get(f"/officials/consultations/{cid}/analysis.csv").status_code == 403
        assert c.post(f"/officials/consultations/{cid}/analysis/run").status_code == 403


def test_edits_follow_a_theme_whose_members_mostly_stay(app):
    """A rename sticks to a theme that keeps at least half of its comments (Jaccard >= 0.5), and not otherwise."""
    from datetime import UTC, datetime

    from moderation import AnalysisItem, analyse_subject, rename_theme

    now = datetime.now(UTC)
    words = {"bikes": "bike lane cycling helmet pedal", "buses": "bus fare ticket driver route",
             "trees": "tree park shade leaf bench"}

    def items(spec):
        out = []
        for topic, ids in spec.items():
            for i in ids:
                out.append(AnalysisItem(i, f"{words[topic]} {words[topic].split()[i % 5]} number{i}", now, 1, 0))
        return out

    first = {"bikes": range(1, 9), "buses": range(11, 19), "trees": range(21, 29)}
    with unit_of_work(app.state.engine) as session:
        analyse_subject(session, subject_kind="test", subject_id=1, items=items(first), votes=[], now=now)
        themes = latest_analysis(session, "test", 1).themes
        bikes = next(t for t in themes if 1 in t.members)
        rename_theme(session, subject_kind="test", subject_id=1, theme_key=bikes.key, label="Cycling",
                     actor_id=None, now=now)
    later = {"bikes": [*range(1, 9), 9, 10], "buses": range(11, 19), "trees": range(21, 29)}
    with unit_of_work(app.state.engine) as session:
        analyse_subject(session, subject_kind="test", subject_id=1, items=items(later), votes=[], now=now)
        themes = latest_analysis(session, "test", 1).themes
    renamed = next(t for t in themes if 1 in t.members)
    assert renamed.label == "Cycling" and renamed.key == bikes.key and {9, 10} <= set(renamed.members)
    assert all(t.label != "Cycling" for t in themes if t is not renamed)


def test_consensus_is_split_into_agreed_and_rejected_statements(app, official_client, helpers, factories):
    """A statement every group disagrees with is consensus too, but not under "every group agrees on"."""
    from consultations import service

    cid, ids = _seed(app, factories, BIKES + BUSES)
    everyone_agrees, everyone_disagrees = ids[12], ids[13]
    limits = ConsultationSettings(vote_rate_limit="1000/60")
    for p in range(12):
        user = helpers.add_user(app, f"voter{p}@example.org")
        with factories.uow(app) as session:
            for n, comment_id in enumerate(ids):
                if comment_id == everyone_agrees:
                    side = "agree"
                elif comment_id == everyone_disagrees:
                    side = "disagree"
                else:
                    side = "agree" if (n < 5) == (p < 6) else "disagree"
                service.cast_vote(session, comment_id=comment_id, user_id=user.id, vote=side, limits=limits)
    _request_run(app, cid, official_client.user_id)
    helpers.run_jobs(app)
    consensus = {s.item: s.direction for s in _latest(app, cid).opinions.consensus}
    assert consensus.get(everyone_agrees) == "agree" and consensus.get(everyone_disagrees) == "disagree"
    page = official_client.get(f"/officials/consultations/{cid}/analysis").text
    agreed = page.split('id="consensus-heading"')[1].split("<h3")[0]
    rejected = page.split('id="consensus-against-heading"')[1].split("<h3")[0]
    assert "statements every group agrees on" in page and "statements every group disagrees with" in page
    assert f"/comments/{everyone_agrees}\"" in agreed and f"/comments/{everyone_disagrees}\"" not in agreed
    assert "Every group disagrees" not in agreed
    assert f"/comments/{everyone_disagrees}\"" in rejected and "Every group disagrees" in rejected
