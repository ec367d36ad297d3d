"""In Chromium, with a real (small) model trained from the shipped data: a threat posted as a comment is held
and reaches the moderators' queue with its category and highlighted terms, while an angry but civil complaint
is published; the model page shows precision and recall per category and language (axe-core clean)."""
from __future__ import annotations

import re

import pytest

from app.clock import utc_now
from app.db import unit_of_work
from moderation.facade import ClassifierHolder

consultation_models = pytest.importorskip("consultations.models")

pytestmark = pytest.mark.browser

THREAT = "Councillor Morgan, I know where you live. Vote for this and you will regret it."
COMPLAINT = ("I am furious. The number 12 bus was late again this morning and the council has ignored our "
             "complaints for months. Fix the timetable now!")


@pytest.fixture
def classifier(tiny_model_dir):
    return ClassifierHolder(tiny_model_dir)


def _open_consultation(app) -> int:
    m, s = consultation_models, app.state
    with unit_of_work(s.engine, s.unit_context) as session:
        now = utc_now()
        c = m.Consultation(title="Riverside park", state=m.ConsultationState.OPEN, created_at=now, updated_at=now)
        session.add(c)
        session.flush()
        return c.id


def test_a_threat_is_held_with_its_category_and_a_civil_complaint_is_published(browser, live_server, helpers, axe):
    app = live_server
    base = app.state.base_url
    cid = _open_consultation(app)
    resident = browser.new_context(locale="en-GB")
    page = resident.new_page()
    try:
        helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
        page.goto(f"{base}/consultations/{cid}")
        page.get_by_label("Your comment").fill(COMPLAINT)
        page.get_by_role("button", name="Post comment").click()
        page.locator("li.comment", has_text="The number 12 bus was late").wait_for()
        page.goto(f"{base}/consultations/{cid}")   # a fresh page: the new comment brings its own reply form
        page.get_by_label("Your comment").first.fill(THREAT)
        page.get_by_role("button", name="Post comment").first.click()
        page.wait_for_load_state()
    finally:
        resident.close()

    visitor = browser.new_context(locale="en-GB")
    page = visitor.new_page()
    try:
        page.goto(f"{base}/consultations/{cid}")
        assert page.locator("li.comment", has_text="The number 12 bus was late").count() == 1
        assert "I know where you live" not in page.content()   # held: the public never sees it
    finally:
        visitor.close()

    moderator = browser.new_context(locale="en-GB")
    page = moderator.new_page()
    try:
        helpers.sign_in_page(page, app, "mod@example.org", role="moderator", name="Mona")
        page.goto(f"{base}/moderation/")
        row = page.locator("tr", has_text="I know where you live")
        row.wait_for()
        assert row.locator(".mod-category").inner_text().strip() == "Threats and wishes of harm"
        assert "Held" in row.inner_text()
        assert page.locator("tr", has_text="The number 12 bus was late").count() == 0
        axe(page)
        row.get_by_role("link", name=re.compile("I know where you live")).click()
        page.locator("mark", has_text=re.compile("know where you", re.I)).first.wait_for()
        heading = page.locator("h3.mod-category[data-category='threat']")
        assert heading.inner_text().strip() == "Threats and wishes of harm"
        assert "know where you live" in page.locator("h3.mod-category[data-category='threat'] + ul").inner_text()
        axe(page)
        page.goto(f"{base}/moderation/quality")
        table = page.locator("table.mod-categories")
        table.wait_for()
        text = table.inner_text()
        for label in ("Threats and wishes of harm", "Intimidation and doxxing", "Encouraging self-harm",
                      "Sexual harassment", "Hateful attacks on a group", "Insults and profanity aimed at a person"):
            assert label in text
        assert "English" in text and "Chinese" in text
        assert page.get_by_role("heading", name="Operating points").is_visible()
        axe(page)
    finally:
        moderator.close()
