"""Officials' responses in threads, following and unsubscribing, closing reports, and the moderation hook."""
from __future__ import annotations

import re

from sqlmodel import select

from consultations import forms, service
from consultations.models import Comment, CommentEdit, OfficialResponse
from moderation import Decision, ModerationDecided


def _official(client, app, helpers, email="official@example.org"):
    return helpers.sign_in(client, app, email, role="official", name="Olivia Official", department="transport")


def test_official_answers_a_comment_author_and_followers_are_emailed(app, client, make_client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "author@example.org", "Please add a crossing by the school gate")
    follower = make_client()
    helpers.sign_in(follower, app, "follower@example.org")
    assert follower.post(f"/consultations/{cid}/follow", data={"action": "follow"}).status_code == 303
    assert "Stop following" in follower.get(f"/consultations/{cid}").text
    _official(client, app, helpers)
    page = client.get(f"/consultations/{cid}/comments/{cmt}")
    assert "Publish response" in page.text
    response = client.post(f"/consultations/{cid}/respond", data={
        "comment_id": str(cmt), "decision": "will_act", "text": "We will build a zebra crossing.",
        "commitment": "Crossing built by spring.", "follow_up_on": "2027-04-01"})
    assert response.status_code == 303 and response.headers["location"].endswith(f"/comments/{cmt}#responses")
    page = client.get(f"/consultations/{cid}/comments/{cmt}")
    pinned = page.text.split('id="responses"')[1]
    assert "Official response" in pinned and "Transport" in pinned and "We will act on this" in pinned
    assert page.text.index("We will build a zebra crossing.") < page.text.index('id="replies-heading"')
    # In the thread the comment carries the badge and sorts first under "official responses first".
    thread = client.get(f"/consultations/{cid}?sort=official").text
    assert 'class="comment depth-1 has-response"' in thread
    # "What we heard, what we'll do"
    heard = client.get(f"/consultations/{cid}/responses").text
    assert "We will build a zebra crossing." in heard and "Please add a crossing by the school gate" in heard
    helpers.run_jobs(app)
    to_author = helpers.outbox(app, "author@example.org")
    assert len(to_author) == 1 and "responded to your comment" in to_author[0].body
    assert "We will build a zebra crossing." in to_author[0].body
    to_follower = [m for m in helpers.outbox(app, "follower@example.org") if m.template.startswith("consultations/")]
    assert len(to_follower) == 1 and "Crossing built by spring." in to_follower[0].body
    # The e-mailed link opens a page with a button: a link checker opening it changes nothing.
    link = helpers.last_link(app, "follower@example.org", r"https?://\S+/consultations/unsubscribe\?token=\S+")
    path = link.replace(app.state.settings.base_url, "")
    visitor = make_client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Stop these e-mails" in page.text
    assert "Stop following" in follower.get(f"/consultations/{cid}").text
    done = visitor.post("/consultations/unsubscribe", data={"token": path.split("token=")[1]})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert "Follow this consultation" in follower.get(f"/consultations/{cid}").text
    helpers.run_jobs(app)
    assert len(helpers.outbox(app, "official@example.org")) == 1  # only the sign-in link, never their own response


def test_responses_by_non_officials_are_refused(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "author@example.org", "A comment")
    helpers.sign_in(client, app, "resident@example.org")
    assert "Publish response" not in client.get(f"/consultations/{cid}/comments/{cmt}").text
    refused = client.post(f"/consultations/{cid}/respond", data={"comment_id": str(cmt), "decision": "noted",
                                                                 "text": "I am not an official"})
    assert refused.status_code == 403
    resident = helpers.add_user(app, "resident@example.org")
    import pytest

    from app.errors import PermissionDenied
    with pytest.raises(PermissionDenied), factories.uow(app) as session:
        service.publish_response(session, consultation_id=cid, official_id=resident.id, comment_id=cmt,
                                 data=forms.ResponseData("noted", "sneaky", "", None))
    with app.state.engine.connect() as conn:
        assert conn.execute(select(OfficialResponse.id)).all() == []


def test_response_form_errors_are_shown_next_to_fields(app, client, helpers, factories):
    cid = factories.consultation(app, questions=["Which streets?"])
    _official(client, app, helpers)
    page = client.get(f"/consultations/{cid}")
    qid = int(re.search(rf"/consultations/{cid}/questions/(\d+)", page.text).group(1))
    bad = client.post(f"/consultations/{cid}/respond", data={"question_id": str(qid), "decision": "", "text": ""})
    assert bad.status_code == 422
    assert "Choose what the department will do." in bad.text and "Write the response residents will read." in bad.text
    ok = client.post(f"/consultations/{cid}/respond", data={"question_id": str(qid), "decision": "noted",
                                                            "text": "We read every answer."})
    assert ok.status_code == 303
    question = client.get(f"/consultations/{cid}/questions/{qid}").text
    assert question.index("We read every answer.") < question.index("Post comment")  # pinned above the thread


def test_closing_report_is_published_shown_and_sent_to_followers(app, client, make_client, helpers, factories):
    cid = factories.consultation(app)
    follower = make_client()
    helpers.sign_in(follower, app, "follower@example.org")
    follower.post(f"/consultations/{cid}/follow", data={"action": "follow"})
    _official(client, app, helpers)
    client.post(f"/consultations/{cid}/respond", data={"decision": "will_act", "text": "We will widen pavements."})
    early = client.post(f"/consultations/{cid}/report", data={"report": "<p>Too soon</p>"})
    assert early.status_code == 409 and "Close the consultation" in early.text
    assert client.post(f"/consultations/{cid}/state", data={"action": "close"}).status_code == 303
    empty = client.post(f"/consultations/{cid}/report", data={"report": " "})
    assert empty.status_code == 422
    done = client.post(f"/consultations/{cid}/report",
                       data={"report": "<h2>What we heard</h2><p>Most want it.</p><img src=x onerror=alert(1)>"})
    assert done.status_code == 303
    page = client.get(f"/consultations/{cid}").text
    assert "Closing report" in page and "<h2>What we heard</h2>" in page and "onerror" not in page
    assert "Report published" in page
    report_section = page.split('id="report"')[1].split("</section>")[0]
    assert "We will widen pavements." in report_section  # the report shows the responses too
    # a refused response form shows the whole page again, report and its responses included (was a 500)
    refused = client.post(f"/consultations/{cid}/respond", data={"decision": "", "text": ""})
    assert refused.status_code == 422 and "Choose what the department will do." in refused.text
    assert "We will widen pavements." in refused.text.split('id="report"')[1].split("</section>")[0]
    helpers.run_jobs(app)
    mail = [m for m in helpers.outbox(app, "follower@example.org") if m.template.startswith("consultations/")]
    reports = [m for m in mail if m.template == "consultations/report"]
    assert len(reports) == 1 and "Closing report" in reports[0].subject and "Most want it." in reports[0].body
    assert "We will act on this: We will widen pavements." in reports[0].body
    mail = reports
    assert "/consultations/unsubscribe?token=" in mail[0].body
    # the same link goes in the List-Unsubscribe header; a mail program's one-click POST stops the e-mails
    assert mail[0].unsubscribe_url and mail[0].unsubscribe_url in mail[0].body
    one_click = make_client().post(mail[0].unsubscribe_url.replace(app.state.settings.base_url, ""),
                                   data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text


def test_strict_mode_holds_comments_until_a_moderator_clears_them(app, client, make_client, helpers, factories):
    cid = factories.consultation(app, strict=True)
    helpers.sign_in(client, app, "rita@example.org")
    client.post(f"/consultations/{cid}/comments", data={"body": "Held for review"})
    mine = client.get(f"/consultations/{cid}").text
    assert "waiting for a moderator" in mine and "Held for review" in mine
    other = make_client().get(f"/consultations/{cid}").text
    assert "Held for review" not in other and "(0)" in other
    with app.state.engine.connect() as conn:
        comment_id = conn.execute(select(Comment.id)).scalar_one()
    with factories.uow(app) as session:
        from app.events import publish
        publish(session, ModerationDecided(kind="comment", item_id=comment_id, decision=Decision.APPROVE,
                                           reason_code="ok"))
    assert "Held for review" in make_client().get(f"/consultations/{cid}").text


def test_moderators_can_hide_and_redact_keeping_the_original_for_audit(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "Call me on 07700 900123")
    from app.events import publish
    with factories.uow(app) as session:
        publish(session, ModerationDecided(kind="comment", item_id=cmt, decision=Decision.REDACT,
                                           reason_code="personal-information",
                                           redacted_text="Call me on [phone number removed]"))
    page = client.get(f"/consultations/{cid}").text
    assert "[phone number removed]" in page and "07700" not in page
    with app.state.engine.connect() as conn:
        assert conn.execute(select(CommentEdit.body, CommentEdit.kind)).all() == [
            ("Call me on 07700 900123", "redact")]
    with factories.uow(app) as session:
        publish(session, ModerationDecided(kind="comment", item_id=cmt, decision=Decision.HIDE, reason_code="x"))
    assert "phone number" not in client.get(f"/consultations/{cid}").text


def test_repeated_reports_hide_a_comment_pending_review(app, make_client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "Buy cheap watches")
    for i in range(3):
        c = make_client()
        helpers.sign_in(c, app, f"reporter{i}@example.org")
        form = c.get(f"/consultations/{cid}/comments/{cmt}/report")
        assert "Spam or advertising" in form.text
        if i == 0:
            missing = c.post(f"/consultations/{cid}/comments/{cmt}/report", data={})
            assert missing.status_code == 422 and "Choose why" in missing.text
        done = c.post(f"/consultations/{cid}/comments/{cmt}/report", data={"reason": "spam"})
        assert done.status_code == 303
        if i == 0:
            twice = c.post(f"/consultations/{cid}/comments/{cmt}/report", data={"reason": "spam"})
            assert twice.status_code == 409 and "already reported" in twice.text
        visible = "Buy cheap watches" in make_client().get(f"/consultations/{cid}").text
        assert visible == (i < 2)


def test_every_report_reason_a_resident_can_pick_arrives_intact_in_the_moderators_queue(app, make_client, helpers,
                                                                                         factories):
    from moderation.models import ModerationCase, ModerationItem, ModerationReport
    from moderation.policy import reason_title

    cid = factories.consultation(app)
    reporter = make_client()
    helpers.sign_in(reporter, app, "reporter@example.org")
    picked = {}
    for n in range(4):
        cmt = factories.comment(app, cid, f"author{n}@example.org", f"Comment number {n}")
        form = reporter.get(f"/consultations/{cid}/comments/{cmt}/report").text
        choices = re.findall(r'name="reason" value="([^"]+)"', form)
        assert len(choices) == 4
        reason = choices[n]  # each comment reported with another of the reasons on the form
        assert reporter.post(f"/consultations/{cid}/comments/{cmt}/report",
                             data={"reason": reason}).status_code == 303
        picked[cmt] = reason
    moderator = make_client()
    helpers.sign_in(moderator, app, "mod@example.org", role="moderator")
    with app.state.engine.connect() as conn:
        rows = conn.execute(select(ModerationItem.item_id, ModerationReport.reason, ModerationCase.id)
                            .join(ModerationReport, ModerationReport.item_pk == ModerationItem.id)
                            .join(ModerationCase, ModerationCase.item_pk == ModerationItem.id)
                            .where(ModerationItem.kind == "comment")).all()
    assert {item_id: reason for item_id, reason, _case in rows} == picked
    for item_id, reason, case_id in rows:
        page = moderator.get(f"/moderation/cases/{case_id}").text
        title = reason_title(reason)  # the title moderators read for that code ("Abusive language", ...)
        assert f"{title}: 1" in page and "Other: 1" not in page, (reason, title)


def test_a_theme_answered_at_once_appears_once_on_what_we_heard(app, client, helpers, factories):
    """Answering a theme puts the same response into each of its comments' threads (dashboard_jobs._publish);
    "What we heard, what we'll do" and the closing report show it once, with the comments it answers."""
    from consultations import dashboard_jobs

    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"r{i}@example.org", f"Bike lanes please, number {i}") for i in range(12)]
    other = factories.comment(app, cid, "bus@example.org", "Cheaper buses")
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    theme_answer = forms.ResponseData("will_act", "We will build protected bike lanes.", "By 2028.", None)
    with factories.uow(app) as session:
        dashboard_jobs._publish(session, cid, official.id, theme_answer, ids)
        service.publish_response(session, consultation_id=cid, official_id=official.id, comment_id=other,
                                 data=forms.ResponseData("noted", "We hear you on fares.", "", None))
    page = client.get(f"/consultations/{cid}/responses").text
    assert page.count("We will build protected bike lanes.") == 1
    assert "In reply to 12 comments" in page and "2 official responses" in page
    assert all(f"/comments/{i}\"" in page for i in ids)  # each answered comment is still one click away
    assert page.count("We hear you on fares.") == 1 and "In reply to a comment:" in page
    with factories.uow(app) as session:
        service.change_state(session, user_id=official.id, consultation_id=cid, action="close")
        service.publish_report(session, user_id=official.id, consultation_id=cid, text="<p>Thank you.</p>")
    report = client.get(f"/consultations/{cid}").text.split('id="report"')[1].split("</section>")[0]
    assert report.count("We will build protected bike lanes.") == 1 and "in reply to 12 comments" in report
