"""Real Chromium: residents comment, reply and vote with and without JavaScript; an official answers a thread and
the e-mail is delivered; consultation pages pass axe-core in English and Chinese."""
from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser]


def _wait_for_mail(app, helpers, to, template, timeout=15):
    return helpers.wait_for(lambda: [m for m in helpers.outbox(app, to) if m.template == template and m.status == "sent"],
                            timeout, message=f"a {template} e-mail delivered to {to}")


def test_resident_comments_replies_and_votes_without_javascript(browser, live_server, helpers, factories):
    app = live_server
    cid = factories.consultation(app)
    other = factories.comment(app, cid, "neighbour@example.org", "Please keep the road open for buses")
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
        page.goto(f"{app.state.base_url}/consultations/{cid}")
        page.get_by_label("Your comment").fill("Close it from 8 to 9 am.\n\nhttps://example.org/map")
        page.get_by_role("button", name="Post comment").click()
        page.wait_for_url(re.compile(rf"/consultations/{cid}#comment-\d+$"))
        mine = page.locator("li.comment", has_text="Close it from 8 to 9 am.")
        assert mine.locator("a[href='https://example.org/map']").count() == 1
        # Vote on the neighbour's comment: a plain form post, then back to the same place.
        theirs = page.locator(f"#comment-{other}")
        theirs.get_by_role("button", name="Agree", exact=True).click()
        page.wait_for_url(re.compile(rf"#comment-{other}$"))
        theirs = page.locator(f"#comment-{other}")
        assert theirs.get_by_role("button", name="Agree", exact=True).get_attribute("aria-pressed") == "true"
        assert theirs.locator(".vote-count").first.inner_text() == "1"
        # Reply: the Reply link opens the comment's page with the form.
        theirs.get_by_role("link", name="Reply").click()
        page.get_by_label("Your comment").fill("Buses could still pass at walking pace.")
        page.get_by_role("button", name="Post comment").click()
        page.wait_for_url(re.compile(rf"/comments/{other}#comment-\d+$"))
        assert page.locator("#replies-" + str(other)).get_by_text("Buses could still pass at walking pace.").count() == 1
        assert page.locator("#replies-heading").inner_text() == "Replies (1)"
        # Back in the thread, the reply count link works as a plain link.
        page.goto(f"{app.state.base_url}/consultations/{cid}")
        page.get_by_role("link", name="Show 1 reply").click()
        page.wait_for_url(re.compile(rf"/comments/{other}$"))
        assert page.get_by_text("Buses could still pass at walking pace.").count() == 1
        # (axe-core needs JavaScript, so accessibility is checked in the JavaScript tests below.)
    finally:
        context.close()


def test_resident_comments_replies_and_votes_with_javascript(page, live_server, helpers, factories):
    app = live_server
    cid = factories.consultation(app)
    other = factories.comment(app, cid, "neighbour@example.org", "Plant trees along the school route")
    factories.comment(app, cid, "third@example.org", "An existing reply", parent_id=other)
    helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
    page.goto(f"{app.state.base_url}/consultations/{cid}")
    page.evaluate("window.__noReload = true")
    page.get_by_label("Your comment").fill("Posted with htmx")
    page.get_by_role("button", name="Post comment").click()
    page.locator("li.comment", has_text="Posted with htmx").wait_for()
    assert page.evaluate("window.__noReload") is True  # swapped in place, no page load
    # Empty comment: the error appears next to the field without leaving the page.
    page.get_by_role("button", name="Post comment").click()
    page.get_by_text("Write your comment before posting it.").first.wait_for()
    theirs = page.locator(f"#comment-{other}")
    theirs.get_by_role("button", name="Disagree", exact=True).click()
    page.locator(f"#comment-{other} button.vote-disagree[aria-pressed='true']").wait_for()
    assert page.locator(f"#comment-{other} .vote-count").nth(1).inner_text() == "1"
    theirs.get_by_role("button", name="Agree", exact=True).click()  # change the vote
    page.locator(f"#comment-{other} button.vote-agree[aria-pressed='true']").wait_for()
    assert page.locator(f"#comment-{other} .vote-count").nth(1).inner_text() == "0"
    # Replies load in place, and a reply posted there appears in place too.
    page.get_by_role("link", name="Show 1 reply").click()
    replies = page.locator(f"#replies-{other}")
    replies.get_by_text("An existing reply").wait_for()
    replies.get_by_label("Your comment").fill("Inline reply with htmx")
    replies.get_by_role("button", name="Post comment").click()
    replies.get_by_text("Inline reply with htmx").wait_for()
    assert page.evaluate("window.__noReload") is True
    assert page.locator(f"#show-replies-{other}").inner_text() == "Show 2 replies"  # the link counts it too
    assert page.url.endswith(f"/consultations/{cid}")
    # On the comment's own page, the heading's count follows a reply posted with htmx.
    page.goto(f"{app.state.base_url}/consultations/{cid}/comments/{other}")
    page.evaluate("window.__noReload = true")
    assert page.locator("#replies-heading").inner_text() == "Replies (2)"
    page.locator(f"#replies-{other}").get_by_label("Your comment").fill("A reply on the comment's page")
    page.locator(f"#replies-{other}").get_by_role("button", name="Post comment").click()
    page.locator(f"#replies-{other}").get_by_text("A reply on the comment's page").wait_for()
    assert page.locator("#replies-heading").inner_text() == "Replies (3)"
    assert page.evaluate("window.__noReload") is True


def test_official_answers_a_thread_and_the_author_gets_the_email(page, live_server, helpers, factories, axe):
    app = live_server
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "author@example.org", "The crossing near the park is dangerous")
    helpers.sign_in_page(page, app, "official@example.org", role="official", name="Olivia Official",
             department="transport")
    page.goto(f"{app.state.base_url}/consultations/{cid}")
    page.locator(f"#comment-{cmt}").get_by_role("link", name="Respond officially").click()
    page.get_by_label("Decision").select_option("will_act")
    page.get_by_label("Response", exact=True).fill("We will add a signalled crossing.")
    page.get_by_label("Commitment (optional)").fill("Signals installed by June.")
    page.get_by_role("button", name="Publish response").click()
    page.wait_for_url(re.compile(rf"/comments/{cmt}#responses$"))
    pinned = page.locator("#responses .official-response")
    assert "We will add a signalled crossing." in pinned.inner_text()
    assert "Transport" in pinned.locator(".badge-official").inner_text()
    axe(page)
    page.goto(f"{app.state.base_url}/consultations/{cid}?sort=official")
    first = page.locator("ol.comments > li.comment").first
    assert "The crossing near the park is dangerous" in first.inner_text()
    assert first.locator(".badge-official").count() == 1
    mail = _wait_for_mail(app, helpers, "author@example.org", "consultations/response")
    assert "We will add a signalled crossing." in mail[0].body and "responded to your comment" in mail[0].body
    link = re.search(r"https?://\S+#response-\d+", mail[0].body).group(0)
    page.goto(link)
    assert page.locator("#responses").get_by_text("We will add a signalled crossing.").count() == 1


def test_an_official_of_another_department_sees_no_action_they_cannot_take(page, live_server, helpers, factories,
                                                                         axe):
    app = live_server
    cid = factories.consultation(app)  # Transport's
    cmt = factories.comment(app, cid, "author@example.org", "The crossing near the park is dangerous")
    helpers.sign_in_page(page, app, "env@example.org", role="official", name="Eve Environment",
             department="environment")
    base = app.state.base_url
    for path in (f"/consultations/{cid}", f"/consultations/{cid}/comments/{cmt}"):
        page.goto(base + path)
        main = page.locator("main")
        for name in ("Edit consultation", "Feedback analysis", "Respond officially"):
            assert main.get_by_role("link", name=name).count() == 0, (path, name)
        for name in ("Close consultation", "Open for comments", "Publish response"):
            assert main.get_by_role("button", name=name).count() == 0, (path, name)
        axe(page)
    # What a resident may do stays: voting and replying.
    page.goto(f"{base}/consultations/{cid}")
    assert page.locator(f"#comment-{cmt}").get_by_role("button", name="Agree", exact=True).count() == 1


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_consultation_pages_pass_axe_in_both_languages(browser, live_server, helpers, factories, axe, locale):
    app = live_server
    cid = factories.consultation(app, questions=["Which streets should close?"])
    cmt = factories.comment(app, cid, "author@example.org", "Start with Elm Street")
    factories.comment(app, cid, "other@example.org", "I agree", parent_id=cmt)
    from consultations import forms, service
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    with factories.uow(app) as session:
        service.publish_response(session, consultation_id=cid, official_id=official.id, comment_id=cmt,
                                 data=forms.ResponseData("noted", "Thank you.", "", None))
    closed = factories.consultation(app, state="reported", title="Library hours")
    context = browser.new_context(locale="en-GB")  # the language comes from the civic_locale cookie
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
        context.add_cookies([{"name": "civic_locale", "value": locale, "url": app.state.base_url}])
        base = app.state.base_url
        page.goto(f"{base}/consultations/{cid}")
        assert page.locator("html").get_attribute("lang") == locale
        qid = re.search(r"/questions/(\d+)", page.content()).group(1)
        for path in ["/consultations/", f"/consultations/{cid}", f"/consultations/{cid}/questions/{qid}",
                     f"/consultations/{cid}/comments/{cmt}", f"/consultations/{cid}/responses",
                     f"/consultations/{closed}", f"/consultations/{cid}/comments/{cmt}/report",
                     "/consultations/unsubscribe?token=" + service.unfollow_token(app.state.signer, cid, official.id)]:
            page.goto(base + path)
            axe(page)
        # The error state of the comment form is accessible too.
        page.goto(f"{base}/consultations/{cid}")
        page.locator("#thread form.comment-form button[type=submit]").click()
        page.locator("#thread .error").first.wait_for()
        axe(page)
    finally:
        context.close()


def test_a_report_made_with_each_reason_reaches_the_moderators_queue_with_that_reason(browser, live_server, helpers,
                                                                                       factories, axe):
    app = live_server
    base = app.state.base_url
    cid = factories.consultation(app)
    expected = {"spam": "Spam or advertising", "abuse": "Abusive language",
                "personal-information": "Personal information", "off-topic": "Off-topic"}  # moderation's titles
    texts = {"spam": "Cheap watches at my shop, visit now", "abuse": "Whoever wrote this plan knows nothing",
             "personal-information": "The head teacher lives at number 12",
             "off-topic": "What time does the football start on Saturday"}  # unlike each other: not grouped
    comments = {reason: factories.comment(app, cid, f"author-{reason}@example.org", texts[reason])
                for reason in expected}
    resident = browser.new_context(locale="en-GB")
    moderator = browser.new_context(locale="en-GB")
    try:
        page = resident.new_page()
        page.set_default_timeout(15000)
        helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
        for reason, comment_id in comments.items():
            page.goto(f"{base}/consultations/{cid}/comments/{comment_id}/report")
            page.locator(f"input[name=reason][value='{reason}']").check()  # every reason the form offers
            page.get_by_role("button", name="Send report").click()
            page.get_by_text("Thank you. A moderator will review the comment.").wait_for()
        page = moderator.new_page()
        page.set_default_timeout(15000)
        helpers.sign_in_page(page, app, "mod@example.org", role="moderator", name="Mo")
        for reason, comment_id in comments.items():
            page.goto(f"{base}/moderation/?reason=report")
            page.get_by_role("link", name=texts[reason]).click()
            page.get_by_role("heading", name="Residents' reports").wait_for()
            reports = page.locator("h2:has-text(\"Residents' reports\") + ul").inner_text()
            assert reports == f"{expected[reason]}: 1", (reason, reports)
        axe(page)
    finally:
        resident.close()
        moderator.close()
