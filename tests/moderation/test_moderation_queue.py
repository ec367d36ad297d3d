"""Moderators' queue: screening, routing, reports, claims, grouped decisions, redaction, appeals, logs, access."""
from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import utc_now
from app.db import unit_of_work
from app.models import User
from moderation import ContentRef, Decision, ModerationDecided, Route, latest_score, report_content, screen_content
from moderation.facade import ClassifierHolder, Screening
from moderation.models import CaseState, ModerationCase, ModerationItem
from moderation.policy import Thresholds, effective_thresholds, route_for


@pytest.fixture
def classifier(helpers):
    return helpers.FakeClassifier()


@pytest.fixture
def decided(app):
    """Events the owning domain would receive (a stand-in subscriber for consultations/petitions)."""
    events: list[ModerationDecided] = []
    app.state.unit_context.events.subscribe(ModerationDecided, lambda session, event: events.append(event))
    return events


def uow(app):
    s = app.state
    return unit_of_work(s.engine, s.unit_context)


def screen(app, item_id, text, *, kind="comment", author_id=None, reach=0, context_id=7, strict=False) -> Screening:
    with uow(app) as session:
        return screen_content(session, ContentRef(kind=kind, item_id=item_id, text=text, author_id=author_id,
                                                  context_id=context_id, context_title="Park plan", reach=reach,
                                                  url=f"/consultations/7#c{item_id}", strict=strict))


def case_id_for(app, item_id, kind="comment") -> int:
    with uow(app) as session:
        item = session.exec(select(ModerationItem).where(ModerationItem.kind == kind,
                                                         ModerationItem.item_id == item_id)).one()
        return session.exec(select(ModerationCase).where(ModerationCase.item_pk == item.id,
                                                         ModerationCase.state == CaseState.OPEN)).one().id


def moderator(client, app, helpers, email="mod1@example.org", name="Mo Derator", role="moderator"):
    return helpers.sign_in(client, app, email, role=role, name=name)


DECIDE = {"decision": "hide", "reason": "abuse", "passages": "", "block_days": "0", "note": ""}


# ----- policy -----

def test_policy_routes_by_thresholds_strict_mode_and_missing_score():
    t = Thresholds(review=0.4, hold=0.8)
    assert route_for(0.1, t).route == Route.PUBLISH
    assert route_for(0.4, t).route == Route.REVIEW
    assert route_for(0.8, t).route == Route.HOLD
    assert route_for(0.1, t, strict=True).route == Route.HOLD
    choice = route_for(None, t, no_model_reason="checksum mismatch")
    assert choice.route == Route.REVIEW and choice.reason == "no-model" and "checksum mismatch" in choice.detail
    assert route_for(None, t, no_model_route="hold").route == Route.HOLD


def test_thresholds_come_from_settings_when_set_else_from_the_model(domain_settings):
    cfg = domain_settings["moderation"]
    assert effective_thresholds(cfg, {"review": 0.3, "hold": 0.7}) == Thresholds(0.3, 0.7)
    custom = dataclasses.replace(cfg, review_threshold=0.2, hold_threshold=0.1)
    assert effective_thresholds(custom, {"review": 0.3, "hold": 0.7}) == Thresholds(0.2, 0.2)  # hold never below review


# ----- screening -----

def test_screening_stores_score_version_explanation_and_queues_held_items(app):
    clean = screen(app, 1, "I support the new bike lanes.")
    assert clean.route == Route.PUBLISH and clean.score == 0.05 and clean.model_version == "fake-2026"
    held = screen(app, 2, "you idiot")
    assert held.route == Route.HOLD and not held.visible
    assert held.explanation[0][0] == "idiot" and held.language == "en" and "hold threshold" in held.reason
    review = screen(app, 3, "a stupid plan")
    assert review.route == Route.REVIEW and review.visible
    with uow(app) as session:
        stored = latest_score(session, "comment", 2)
        assert stored == held
        assert latest_score(session, "comment", 999) is None
        open_items = {session.get(ModerationItem, c.item_pk).item_id
                      for c in session.exec(select(ModerationCase).where(ModerationCase.state == CaseState.OPEN))}
    assert open_items == {2, 3}


def test_strict_mode_holds_everything(app):
    s = screen(app, 1, "I support the new bike lanes.", strict=True)
    assert s.route == Route.HOLD and s.score == 0.05 and "strict" in s.reason


@pytest.mark.parametrize("no_model_route", ["review", "hold"])
def test_without_a_model_everything_goes_to_moderators_and_says_why(app, settings, no_model_route, tmp_path, helpers):
    cfg = dataclasses.replace(app.state.unit_context.domain_settings["moderation"], no_model_route=no_model_route)
    app.state.unit_context.domain_settings["moderation"] = cfg
    helpers.use_classifier(app, ClassifierHolder(tmp_path / "empty"))
    s = screen(app, 1, "I support the new bike lanes.")
    assert s.route == Route(no_model_route) and s.score is None and s.model_version == "none"
    assert "no usable abuse model" in s.reason and "no current abuse model" in s.reason


def test_a_corrupt_model_file_falls_back_safely_with_a_logged_reason(app, tmp_path, caplog, helpers):
    root = tmp_path / "models" / "abuse"
    version = "abuse-20260101-000000-deadbeef"
    (root / version).mkdir(parents=True)
    (root / version / "metadata.json").write_text('{"versions": {"sklearn": "0"}, "model_sha256": "x"}')
    (root / version / "model.joblib").write_bytes(b"not a model")
    (root / "CURRENT").write_text(version + "\n")
    helpers.use_classifier(app, ClassifierHolder(tmp_path))
    with caplog.at_level("WARNING", logger="civic.moderation"):
        s = screen(app, 1, "hello")
    assert s.route == Route.REVIEW and s.score is None
    assert "older format" in caplog.text and "human review" in caplog.text


def test_a_classifier_that_raises_does_not_stop_posting(app, helpers):
    class Broken(helpers.FakeClassifier):
        def score(self, text):
            raise MemoryError("boom")

    helpers.use_classifier(app, Broken())
    s = screen(app, 1, "hello")
    assert s.route == Route.REVIEW and s.score is None and "scoring failed" in s.reason


def test_bad_input_is_stored_without_error(app):
    texts = ["", "x" * 2_000_000, "\x00\x01\xff binary\x00", "<script>alert(1)</script><b>hi</b>", "混合 mixed テキスト 😀"]
    for i, text in enumerate(texts, start=1):
        s = screen(app, i, text)
        assert s.route in set(Route)
    with uow(app) as session:
        item = session.exec(select(ModerationItem).where(ModerationItem.item_id == 3)).one()
        assert "\x00" not in item.text


# ----- reports -----

def test_reports_queue_the_item_once_per_resident_and_hide_at_the_threshold(app, helpers):
    screen(app, 1, "I support the new bike lanes.")
    residents = [helpers.add_user(app, f"r{i}@example.org") for i in range(3)]
    ref = ContentRef(kind="comment", item_id=1, text="I support the new bike lanes.", reach=4)
    outcomes = []
    for user in [residents[0], residents[0], residents[1], residents[2]]:
        with uow(app) as session:
            outcomes.append(report_content(session, ref, reporter_id=user.id, reason="spam"))
    assert [o.report_count for o in outcomes] == [1, 1, 2, 3]
    assert [o.hide for o in outcomes] == [False, False, False, True]
    case_id_for(app, 1)  # in the queue


def test_reported_items_show_in_the_queue_with_the_report_filter(app, client, helpers):
    screen(app, 1, "I support the new bike lanes.")
    screen(app, 2, "a stupid plan")
    user = helpers.add_user(app, "r@example.org")
    with uow(app) as session:
        report_content(session, ContentRef(kind="comment", item_id=1, text="I support the new bike lanes."),
                       reporter_id=user.id, reason="off-topic")
    moderator(client, app, helpers)
    page = client.get("/moderation/", params={"reason": "report"})
    assert "I support the new bike lanes." in page.text and "a stupid plan" not in page.text
    everything = client.get("/moderation/")
    assert "a stupid plan" in everything.text


def test_the_abuse_category_filter_shows_only_items_a_category_rule_sent(app, client, helpers):
    class ThreatRules(helpers.FakeClassifier):
        """A low model score, but 'where you live' matches the (held) threat category."""

        def score(self, text):
            found = super().score(text)
            if "where you live" in str(text):
                return dataclasses.replace(found, category="threat")
            return found

    helpers.use_classifier(app, ThreatRules())
    screen(app, 1, "I know where you live")
    screen(app, 2, "a stupid plan")
    moderator(client, app, helpers)
    page = client.get("/moderation/", params={"reason": "category"})
    assert "I know where you live" in page.text and "a stupid plan" not in page.text
    assert 'value="category" selected' in page.text


# ----- queue -----

def test_queue_orders_by_score_times_reach_and_shows_overdue(app, client, helpers):
    screen(app, 1, "a stupid plan, low reach", reach=0)
    screen(app, 2, "another stupid plan, high reach", reach=50)
    with uow(app) as session:
        first = session.get(ModerationCase, case_id_for(app, 1))
        first.opened_at = utc_now() - timedelta(hours=30)
        session.add(first)
    moderator(client, app, helpers)
    page = client.get("/moderation/")
    assert page.text.index("high reach") < page.text.index("low reach")
    assert "Overdue" in page.text and "1 overdue" in page.text
    partial = client.get("/moderation/", params={"kind": "petition"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "Nothing is waiting here" in partial.text


def test_claim_lock_keeps_two_moderators_off_the_same_item(app, client, make_client, helpers, decided):
    screen(app, 1, "you idiot")
    case_id = case_id_for(app, 1)
    other = make_client()
    moderator(client, app, helpers, "a@example.org", "Alice")
    moderator(other, app, helpers, "b@example.org", "Bob")
    assert client.post(f"/moderation/cases/{case_id}/claim").status_code == 303
    seen_by_bob = other.get(f"/moderation/cases/{case_id}")
    assert "Alice is working on this item" in seen_by_bob.text and "Save decision" not in seen_by_bob.text
    assert "Taken by Alice" in other.get("/moderation/").text
    other.post(f"/moderation/cases/{case_id}/claim")
    assert "Alice is working on this item" in other.get(f"/moderation/cases/{case_id}").text
    refused = other.post(f"/moderation/cases/{case_id}/decide", data=DECIDE)
    assert refused.status_code == 303 and not decided
    assert client.post(f"/moderation/cases/{case_id}/decide", data=DECIDE).status_code == 303
    assert [(e.item_id, e.decision) for e in decided] == [(1, Decision.HIDE)]
    again = client.post(f"/moderation/cases/{case_id}/decide", data=DECIDE)
    assert again.status_code == 303 and len(decided) == 1  # no double decision
    # An expired claim frees the item.
    screen(app, 2, "you idiot too")
    case2 = case_id_for(app, 2)
    client.post(f"/moderation/cases/{case2}/claim")
    with uow(app) as session:
        c = session.get(ModerationCase, case2)
        c.claimed_until = utc_now() - timedelta(minutes=1)
        session.add(c)
    assert other.post(f"/moderation/cases/{case2}/decide", data=DECIDE).status_code == 303
    assert len(decided) == 2


def test_decision_form_errors_are_shown_next_to_fields(app, client, helpers):
    screen(app, 1, "you idiot")
    case_id = case_id_for(app, 1)
    moderator(client, app, helpers)
    r = client.post(f"/moderation/cases/{case_id}/decide", data={**DECIDE, "reason": ""})
    assert r.status_code == 422 and "Choose the rule the text breaks." in r.text
    r = client.post(f"/moderation/cases/{case_id}/decide", data={**DECIDE, "decision": "redact", "passages": "not there"})
    assert r.status_code == 422 and "None of these passages appear in the text" in r.text
    r = client.post(f"/moderation/cases/{case_id}/decide", data={**DECIDE, "decision": "redact", "passages": "idiot\nnot there"})
    assert r.status_code == 422 and "This passage does not appear in the text" in r.text and "not there" in r.text
    r = client.post(f"/moderation/cases/{case_id}/decide", data={**DECIDE, "block_days": "lots"})
    assert r.status_code == 422 and "whole number of days" in r.text


def test_case_page_shows_score_version_and_highlights_explanation_terms(app, client, helpers):
    screen(app, 1, "you idiot <b>really</b>")
    moderator(client, app, helpers)
    page = client.get(f"/moderation/cases/{case_id_for(app, 1)}")
    assert "<mark>idiot</mark>" in page.text and "fake-2026" in page.text and "95.0%" in page.text
    assert "&lt;b&gt;really&lt;/b&gt;" in page.text  # residents' markup is shown, never rendered


def test_a_campaign_is_shown_as_one_group_and_decided_at_once(app, client, helpers, decided):
    base = "Stop the stupid parking plan now, sign and share with everyone you know in the district today"
    for i, suffix in enumerate(["", "!", " please"], start=1):
        screen(app, i, base + suffix, reach=i)
    screen(app, 9, "a stupid but unrelated remark about buses and timetables")
    moderator(client, app, helpers)
    queue = client.get("/moderation/")
    assert "Group of 3 near-duplicates" in queue.text
    leader = re.search(r'href="/moderation/groups/(\d+)"', queue.text).group(1)
    group = client.get(f"/moderation/groups/{leader}")
    ids = re.findall(r'name="case_ids" value="(\d+)"', group.text)
    assert len(ids) == 3
    done = client.post(f"/moderation/groups/{leader}/decide", data={**DECIDE, "reason": "spam", "case_ids": ids})
    assert done.status_code == 303
    assert sorted(e.item_id for e in decided) == [1, 2, 3] and {e.reason_code for e in decided} == {"spam"}
    after = client.get("/moderation/")
    assert "Group of" not in after.text and "unrelated remark" in after.text


def test_redaction_replaces_passages_and_keeps_the_original_for_audit(app, client, make_client, helpers, decided):
    author = helpers.add_user(app, "author@example.org", name="Ann Author")
    screen(app, 1, "Call John at 555-0100, he is a stupid neighbour.", author_id=author.id)
    moderator(client, app, helpers)
    r = client.post(f"/moderation/cases/{case_id_for(app, 1)}/decide",
                    data={**DECIDE, "decision": "redact", "reason": "personal-information",
                          "passages": "John at 555-0100\r\nstupid"})
    assert r.status_code == 303
    assert decided[0].decision == Decision.REDACT
    assert decided[0].redacted_text == "Call [...], he is a [...] neighbour."
    mail = helpers.outbox(app, "author@example.org")[-1]
    assert "Call [...], he is a [...] neighbour." in mail.body and "Personal information" in mail.body
    admin = make_client()
    helpers.sign_in(admin, app, "admin@example.org", role="admin")
    export = admin.get("/moderation/audit.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0]["original_text"] == "Call John at 555-0100, he is a stupid neighbour."
    assert rows[0]["redacted_text"] == "Call [...], he is a [...] neighbour."
    assert rows[0]["moderator_email"] == "mod1@example.org" and rows[0]["reason"] == "personal-information"


def test_blocking_an_author_sets_blocked_until(app, client, helpers):
    from moderation import is_blocked

    author = helpers.add_user(app, "troll@example.org")
    screen(app, 1, "you idiot", author_id=author.id)
    moderator(client, app, helpers)
    client.post(f"/moderation/cases/{case_id_for(app, 1)}/decide", data={**DECIDE, "block_days": "7"})
    with uow(app) as session:
        user = session.get(User, author.id)
        assert user.blocked_until > utc_now() + timedelta(days=6)
        assert is_blocked(session, author.id)
    assert "blocked from posting until" in helpers.outbox(app, "troll@example.org")[-1].body


def test_appeal_goes_to_a_different_moderator_and_the_link_works_once(app, client, make_client, helpers, decided):
    author = helpers.add_user(app, "author@example.org", name="Ann")
    screen(app, 1, "you idiot", author_id=author.id)
    moderator(client, app, helpers, "a@example.org", "Alice")
    client.post(f"/moderation/cases/{case_id_for(app, 1)}/decide", data=DECIDE)
    link = helpers.last_link(app, "author@example.org")
    path = link.replace(app.state.settings.base_url, "")
    resident = make_client()
    form = resident.get(path)
    assert form.status_code == 200 and "Abusive language" in form.text
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    empty = resident.post("/moderation/appeal", data={"token": token, "statement": ""})
    assert empty.status_code == 422 and "Say why" in empty.text
    sent = resident.post("/moderation/appeal", data={"token": token, "statement": "It was a quote from a film."})
    assert sent.status_code == 200 and "Appeal received" in sent.text
    replay = resident.post("/moderation/appeal", data={"token": token, "statement": "Again"})
    assert replay.status_code == 400
    appeal_case = case_id_for(app, 1)
    own = client.get(f"/moderation/cases/{appeal_case}")
    assert "Another moderator must decide this appeal" in own.text and "It was a quote from a film." in own.text
    assert client.post(f"/moderation/cases/{appeal_case}/decide", data={**DECIDE, "decision": "approve"}).status_code == 403
    bob = make_client()
    moderator(bob, app, helpers, "b@example.org", "Bob")
    assert bob.post(f"/moderation/cases/{appeal_case}/decide", data={**DECIDE, "decision": "approve"}).status_code == 303
    assert [e.decision for e in decided] == [Decision.HIDE, Decision.APPROVE] and decided[1].extra["appeal"]
    outcome = helpers.outbox(app, "author@example.org")[-1]
    assert "agreed with you" in outcome.body and "/moderation/appeal" not in outcome.body


def test_public_log_lists_decisions_without_personal_data(app, client, make_client, helpers):
    author = helpers.add_user(app, "secret.author@example.org", name="Secret Author")
    screen(app, 1, "you idiot, private text", author_id=author.id)
    moderator(client, app, helpers, "visible.mod@example.org", "Visible Moderator")
    client.post(f"/moderation/cases/{case_id_for(app, 1)}/decide", data=DECIDE)
    anon = make_client()
    log = anon.get("/moderation/log")
    assert log.status_code == 200
    body = log.text.split('id="main"')[1]
    assert "Comment" in body and "Abusive language" in body and "Hidden" in body
    for private in ("secret.author", "Secret Author", "Visible Moderator", "visible.mod", "private text", "@"):
        assert private not in body


def test_model_quality_page_shows_precision_and_recall_per_language(app, client, helpers):
    screen(app, 1, "you idiot")
    screen(app, 2, "a stupid plan")
    screen(app, 3, "nice plan")
    user = helpers.add_user(app, "r@example.org")
    with uow(app) as session:
        report_content(session, ContentRef(kind="comment", item_id=3, text="nice plan"), reporter_id=user.id, reason="spam")
    moderator(client, app, helpers)
    client.post(f"/moderation/cases/{case_id_for(app, 1)}/decide", data=DECIDE)                        # flagged, removed
    client.post(f"/moderation/cases/{case_id_for(app, 2)}/decide", data={**DECIDE, "decision": "approve"})  # flagged, fine
    client.post(f"/moderation/cases/{case_id_for(app, 3)}/decide", data=DECIDE)                        # missed
    page = client.get("/moderation/quality")
    assert page.status_code == 200 and "<svg" in page.text
    row = re.search(r"<tr><td>English</td><td class=\"num\">3</td>\s*<td class=\"num\">([^<]+)</td>\s*<td class=\"num\">([^<]+)</td>", page.text)
    assert row and row.group(1) == "50.0%" and row.group(2) == "50.0%"
    from moderation.models import ModerationDecision

    with uow(app) as session:  # one decision a week earlier: the page shows the trend over two weeks
        first = session.exec(select(ModerationDecision).order_by(ModerationDecision.id)).first()
        first.decided_at = first.decided_at - timedelta(days=8)
        session.add(first)
    page = client.get("/moderation/quality")
    assert "Precision by week (per cent)" in page.text and page.text.count("<polyline") == 2
    assert len(re.findall(r"<tr><td>\d{4}-W\d{2}</td><td>English</td>", page.text)) == 2


# ----- access -----

MODERATOR_GETS = ["/moderation/", "/moderation/cases/1", "/moderation/groups/1", "/moderation/quality"]
MODERATOR_POSTS = ["/moderation/cases/1/claim", "/moderation/cases/1/release", "/moderation/cases/1/decide",
                   "/moderation/groups/1/decide"]
ADMIN_ONLY = ["/moderation/audit", "/moderation/audit.csv"]


def test_every_staff_moderation_route_is_403_for_everyone_else(app, client, make_client, helpers):
    from moderation.routes import routes

    guarded = {r.path for r in routes if getattr(r.endpoint, "required_roles", None)}
    assert guarded == {"/", "/cases/{case_id:int}", "/cases/{case_id:int}/claim", "/cases/{case_id:int}/release",
                       "/cases/{case_id:int}/decide", "/groups/{case_id:int}", "/groups/{case_id:int}/decide",
                       "/quality", "/audit", "/audit.csv"}
    screen(app, 1, "you idiot")
    anon = make_client()
    resident = make_client()
    helpers.sign_in(resident, app, "res@example.org")
    official = make_client()
    helpers.sign_in(official, app, "off@example.org", role="official", department="parks")
    for c in (anon, resident, official):
        for url in MODERATOR_GETS + ADMIN_ONLY:
            assert c.get(url).status_code == 403, url
        for url in MODERATOR_POSTS:
            assert c.post(url, data=DECIDE).status_code == 403, url
    moderator(client, app, helpers)
    for url in ADMIN_ONLY:
        assert client.get(url).status_code == 403, url
    assert client.get("/moderation/").status_code == 200
    admin = make_client()
    helpers.sign_in(admin, app, "admin@example.org", role="admin")
    for url in ["/moderation/", "/moderation/quality", *ADMIN_ONLY]:
        assert admin.get(url).status_code == 200, url
    assert anon.get("/moderation/log").status_code == 200


def test_first_start_queues_one_training_job(app, tmp_path, helpers):
    from app.jobs import JobContext
    from app.models import Job
    from moderation.facade import ENSURE_MODEL_JOB, on_startup

    ctx = JobContext(engine=app.state.engine, settings=app.state.settings,
                     unit=dataclasses.replace(app.state.unit_context, classifier=ClassifierHolder(tmp_path)))
    on_startup(ctx, enqueue_training=True)
    on_startup(ctx, enqueue_training=True)
    with uow(app) as session:
        jobs = list(session.exec(select(Job).where(Job.kind == ENSURE_MODEL_JOB)))
    assert len(jobs) == 1 and ENSURE_MODEL_JOB in app.state.jobs.handlers
    on_startup(JobContext(engine=app.state.engine, settings=app.state.settings,
                          unit=dataclasses.replace(app.state.unit_context, classifier=helpers.FakeClassifier())),
               enqueue_training=True)  # a loadable model: nothing more to do


def test_moderator_pages_render_in_chinese(app, client, helpers):
    screen(app, 1, "你这个白痴 idiot")
    moderator(client, app, helpers)
    client.cookies.set("civic_locale", "zh-Hans")
    queue = client.get("/moderation/")
    assert "审核队列" in queue.text and "模型评分" in queue.text and 'lang="zh-Hans"' in queue.text
    case = client.get(f"/moderation/cases/{case_id_for(app, 1)}")
    assert "保存决定" in case.text and "辱骂性语言" in case.text


def test_the_training_job_does_nothing_while_another_process_trains(app, tmp_path, monkeypatch):
    import moderation.jobs
    from app.jobs import JobContext
    from moderation.jobs import TRAINING_LOCK, ensure_model_job

    calls = []
    monkeypatch.setattr(moderation.jobs, "ensure_model", lambda data_dir: calls.append(data_dir) or "abuse-x")
    settings = dataclasses.replace(app.state.settings, data_dir=tmp_path)
    (tmp_path / "models" / "abuse").mkdir(parents=True)
    (tmp_path / "models" / "abuse" / TRAINING_LOCK).write_text("123\n")
    ensure_model_job(JobContext(engine=app.state.engine, settings=settings, unit=app.state.unit_context), {})
    assert calls == []
    (tmp_path / "models" / "abuse" / TRAINING_LOCK).unlink()
    ensure_model_job(JobContext(engine=app.state.engine, settings=settings, unit=app.state.unit_context), {})
    assert calls == [tmp_path] and not (tmp_path / "models" / "abuse" / TRAINING_LOCK).exists()


def test_an_unscreened_english_comment_reads_english_in_the_queue_and_its_filter(app, client, helpers):
    """An item first seen through a report was never screened: its language comes from its text, not "other"."""
    user = helpers.add_user(app, "r@example.org")
    with uow(app) as session:
        report_content(session, ContentRef(kind="comment", item_id=41, text="The bus stop should move to the corner."),
                       reporter_id=user.id, reason="off-topic")
        report_content(session, ContentRef(kind="comment", item_id=42, text="公交车站应该搬到拐角处。"),
                       reporter_id=user.id, reason="off-topic")
    moderator(client, app, helpers)
    page = client.get("/moderation/")
    row = re.search(r'<a class="mod-excerpt"[^>]*>The bus stop', page.text).group(0)
    assert 'lang="en"' in row
    english = client.get("/moderation/", params={"language": "en"}).text
    assert "The bus stop" in english and "公交车站" not in english
    other = client.get("/moderation/", params={"language": "other"}).text
    assert "The bus stop" not in other and "公交车站" not in other
    case = client.get(f"/moderation/cases/{case_id_for(app, 41)}").text
    assert "Other languages" not in case and "English" in case


def test_queue_reach_of_a_comment_is_its_discussion_and_reactions_not_zero(app, client, helpers):
    from consultations import models as cm
    from consultations import service as cs

    author = helpers.add_user(app, "author@example.org", name="Ann")
    reporter = helpers.add_user(app, "reporter@example.org")
    limits = app.state.unit_context.settings("consultations")
    with uow(app) as session:
        now = utc_now()
        c = cm.Consultation(title="Riverside park", state=cm.ConsultationState.OPEN, created_at=now, updated_at=now,
                            comment_count=40)
        session.add(c)
        session.flush()
        cs.post_comment(session, consultation_id=c.id, author_id=author.id, body="a stupid plan for the park", limits=limits)
        calm = cs.post_comment(session, consultation_id=c.id, author_id=author.id, body="Benches by the pond, please.",
                               limits=limits)
        calm.agree_count, calm.reply_count = 7, 2
        session.add(calm)
        session.flush()
        cs.report_comment(session, consultation_id=c.id, comment_id=calm.id, reporter_id=reporter.id, reason="spam",
                          limits=limits)
    moderator(client, app, helpers)
    page = client.get("/moderation/").text
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<a class="mod-excerpt"[^>]*>([^<]+)</a>.*?<td class="num">[^<]*</td>\s*<td class="num">(\d+)</td>', page,
        flags=re.S)}
    assert rows["a stupid plan for the park"] == "40"  # the discussion it is posted into
    assert int(rows["Benches by the pond, please."]) >= 49  # that discussion, plus its 7 votes and 2 replies
