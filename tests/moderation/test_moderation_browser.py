"""In Chromium: a moderator decides a held comment, a grouped campaign at once, a redaction, and an appeal
decided by a different moderator; every moderator page passes axe-core."""
from __future__ import annotations

import re

import pytest

from app.db import unit_of_work
from moderation import ContentRef, ModerationDecided, Route, screen_content

pytestmark = pytest.mark.browser


@pytest.fixture
def classifier(helpers):
    return helpers.FakeClassifier()


@pytest.fixture
def decided(live_server):
    events = []
    live_server.state.unit_context.events.subscribe(ModerationDecided, lambda session, event: events.append(event))
    return events


def screen(app, item_id, text, *, author_id=None, reach=0):
    s = app.state
    with unit_of_work(s.engine, s.unit_context) as session:
        return screen_content(session, ContentRef(kind="comment", item_id=item_id, text=text, author_id=author_id,
                                                  context_id=3, context_title="Riverside park", reach=reach))


def sign_in(page, app, helpers, email, role="moderator", name="Mo"):
    helpers.add_user(app, email, role=role, name=name)
    page.goto(app.state.base_url + "/auth/sign-in?next=/moderation/log")  # lands on a moderation page
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    page.goto(helpers.last_link(app, email))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("You are signed in.").wait_for()


def test_a_moderator_decides_a_held_comment(live_server, page, helpers, axe, decided):
    held = screen(live_server, 1, "you idiot, nobody wants your plan")
    assert held.route == Route.HOLD
    sign_in(page, live_server, helpers, "mod@example.org", name="Mona")
    page.goto(live_server.state.base_url + "/moderation/")
    axe(page)
    page.get_by_label("Route").select_option("hold")
    page.wait_for_url(re.compile(r"route=hold"))
    page.wait_for_load_state()
    page.get_by_role("link", name=re.compile("you idiot")).click()
    page.locator("mark", has_text="idiot").first.wait_for()
    assert page.get_by_text("fake-2026").is_visible()
    axe(page)
    page.get_by_role("button", name="Claim this item").click()
    assert page.get_by_text("You have claimed this item").first.is_visible()
    page.get_by_role("button", name="Save decision").click()  # nothing chosen: accessible errors
    assert page.get_by_text("Choose approve, hide or redact.").first.is_visible()
    axe(page)
    page.get_by_label(re.compile("^Hide")).check()
    page.get_by_label("Rule broken (for hide and redact)").select_option("abuse")
    page.get_by_role("button", name="Save decision").click()
    assert page.get_by_text("Decision saved for 1 item.").is_visible()
    assert [(e.item_id, e.decision.value, e.reason_code) for e in decided] == [(1, "hide", "abuse")]


def test_a_grouped_campaign_is_decided_at_once(live_server, page, helpers, axe, decided):
    text = "Stop the stupid parking plan now, sign and share with everyone you know in the district today"
    for i, suffix in enumerate(["", "!", " please", " now!"], start=1):
        screen(live_server, i, text + suffix, reach=i)
    screen(live_server, 10, "this stupid bus route is unrelated to the parking campaign entirely")
    sign_in(page, live_server, helpers, "mod@example.org")
    page.goto(live_server.state.base_url + "/moderation/")
    assert page.get_by_text("Group of 4 near-duplicates").is_visible()
    page.get_by_role("link", name=re.compile("Stop the stupid parking plan")).click()
    assert page.get_by_role("heading", name="Group of 4 near-duplicates").is_visible()
    axe(page)
    assert page.locator("input[name=case_ids]:checked").count() == 4
    page.get_by_label(re.compile("^Hide")).check()
    page.get_by_label("Rule broken (for hide and redact)").select_option("spam")
    page.get_by_role("button", name="Save decision").click()
    assert page.get_by_text("Decision saved for 4 items.").is_visible()
    assert sorted(e.item_id for e in decided) == [1, 2, 3, 4]
    assert not page.get_by_text("Group of").is_visible()


def test_a_redaction_keeps_the_rest_of_the_text(live_server, page, helpers, axe, decided):
    author = helpers.add_user(live_server, "author@example.org", name="Ann")
    screen(live_server, 1, "Good idea. My neighbour Tom Smith at 12 Elm Road is a stupid man.", author_id=author.id)
    sign_in(page, live_server, helpers, "mod@example.org")
    page.goto(live_server.state.base_url + "/moderation/")
    page.get_by_role("link", name=re.compile("Good idea")).click()
    page.get_by_label(re.compile("^Redact")).check()
    page.get_by_label("Rule broken (for hide and redact)").select_option("personal-information")
    page.get_by_label("Passages to redact").fill("Tom Smith at 12 Elm Road\nstupid")
    page.get_by_role("button", name="Save decision").click()
    assert page.get_by_text("Decision saved for 1 item.").is_visible()
    assert decided[0].redacted_text == "Good idea. My neighbour [...] is a [...] man."
    # Administrators still see the original in the audit log.
    page.context.clear_cookies()
    sign_in(page, live_server, helpers, "admin@example.org", role="admin", name="Ada")
    page.goto(live_server.state.base_url + "/moderation/audit")
    assert page.get_by_text("Tom Smith at 12 Elm Road", exact=False).first.is_visible()
    axe(page)


def test_an_appeal_is_decided_by_a_different_moderator(live_server, page, browser, helpers, axe, decided):
    author = helpers.add_user(live_server, "author@example.org", name="Ann")
    screen(live_server, 1, "you idiot, this is satire", author_id=author.id)
    sign_in(page, live_server, helpers, "first@example.org", name="First")
    page.goto(live_server.state.base_url + "/moderation/")
    page.get_by_role("link", name=re.compile("you idiot")).click()
    page.get_by_label(re.compile("^Hide")).check()
    page.get_by_label("Rule broken (for hide and redact)").select_option("abuse")
    page.get_by_role("button", name="Save decision").click()
    page.get_by_text("Decision saved for 1 item.").wait_for()

    author_ctx = browser.new_context(locale="en-GB")
    try:
        author_page = author_ctx.new_page()
        author_page.goto(helpers.last_link(live_server, "author@example.org"))
        assert author_page.get_by_role("heading", name="Appeal a moderation decision").is_visible()
        axe(author_page)
        author_page.get_by_label("Why do you think the decision was wrong?").fill("It is satire about myself.")
        author_page.get_by_role("button", name="Send appeal").click()
        assert author_page.get_by_role("heading", name="Appeal received").is_visible()
    finally:
        author_ctx.close()

    page.goto(live_server.state.base_url + "/moderation/")
    page.get_by_label("Why it is here").select_option("appeal")
    page.wait_for_url(re.compile(r"reason=appeal"))
    page.wait_for_load_state()
    page.get_by_role("link", name=re.compile("you idiot")).click()
    page.get_by_text("Another moderator must decide this appeal.").wait_for()
    assert page.get_by_role("button", name="Save decision").count() == 0

    second_ctx = browser.new_context(locale="en-GB")
    try:
        second = second_ctx.new_page()
        sign_in(second, live_server, helpers, "second@example.org", name="Second")
        second.goto(live_server.state.base_url + "/moderation/?reason=appeal")
        second.get_by_role("link", name=re.compile("you idiot")).click()
        assert second.get_by_text("It is satire about myself.").is_visible()
        second.get_by_label(re.compile("^Approve")).check()
        second.get_by_role("button", name="Save decision").click()
        assert second.get_by_text("Decision saved for 1 item.").is_visible()
    finally:
        second_ctx.close()
    assert [e.decision.value for e in decided] == ["hide", "approve"]
    assert "agreed with you" in helpers.outbox(live_server, "author@example.org")[-1].body


def test_moderator_pages_are_accessible(live_server, page, helpers, axe):
    screen(live_server, 1, "a stupid plan")
    sign_in(page, live_server, helpers, "admin@example.org", role="admin", name="Ada")
    page.goto(live_server.state.base_url + "/moderation/")
    page.get_by_role("link", name=re.compile("a stupid plan")).click()
    page.get_by_label(re.compile("^Approve")).check()
    page.get_by_role("button", name="Save decision").click()
    page.get_by_text("Decision saved for 1 item.").wait_for()
    for path in ("/moderation/", "/moderation/quality", "/moderation/log", "/moderation/audit"):
        page.goto(live_server.state.base_url + path)
        axe(page)
