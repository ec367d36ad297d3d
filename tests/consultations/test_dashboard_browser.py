"""In Chromium: an official opens the analysis of a consultation imported from a real Polis conversation
(HiveMind freshwater, CC BY 4.0), follows a theme to its comments and answers the theme; axe-core clean."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.db import unit_of_work
from consultations import dashboard_jobs, polis

pytestmark = pytest.mark.browser

FRESHWATER = Path(__file__).resolve().parents[2] / "consultations" / "demo_data" / "freshwater"


def _import_and_analyse(app) -> int:
    s = app.state
    with unit_of_work(s.engine, s.events, s.renderer, s.services) as session:
        result = polis.import_polis(session, directory=FRESHWATER, state="open", source_name="test-freshwater",
                                    title="Clean rivers and lakes")
    dashboard_jobs.analyse(s.job_context, {"consultation_id": result.consultation_id})
    return result.consultation_id


def _sign_in(page, app, helpers, email, next_url):
    helpers.add_user(app, email, role="official", name="Olivia Official", department="environment")
    page.goto(app.state.base_url + "/auth/sign-in?next=" + next_url)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    page.goto(helpers.last_link(app, email))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("You are signed in.").wait_for()


def test_official_follows_a_theme_and_answers_it(live_server, page, browser, helpers, axe):
    cid = _import_and_analyse(live_server)
    dashboard = f"/officials/consultations/{cid}/analysis"
    _sign_in(page, live_server, helpers, "olivia@example.org", dashboard)
    page.goto(live_server.state.base_url + dashboard)
    assert page.get_by_role("heading", name="Feedback analysis", level=1).is_visible()
    assert page.get_by_text("Last analysed on").is_visible()
    assert page.get_by_role("heading", name="Opinion groups").is_visible()
    assert page.locator("svg.chart").count() >= 2  # theme bars and the participants' map
    clipped = page.evaluate("Array.from(document.querySelectorAll('svg.chart text'))"
                            ".filter(t => t.getBBox().x < 0).map(t => t.textContent)")
    assert clipped == []  # every label is drawn inside its chart
    page.set_viewport_size({"width": 320, "height": 800})  # a small phone: the page reflows, the wide table scrolls
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    axe(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    axe(page)

    # follow the first theme to the comments behind it
    table = page.get_by_role("table", name="Themes, their size and the votes and responses on their comments")
    table.locator("tbody tr").first.get_by_role("link").first.click()
    page.get_by_role("heading", name="Answer this theme").wait_for()
    assert page.locator("h1").inner_text().startswith("Theme:")
    comments = page.locator("ol.analysis-comments > li")
    n = comments.count()
    assert n >= 1
    thread_links = [comments.nth(i).get_by_role("link", name="Open the thread").get_attribute("href")
                    for i in range(n)]
    axe(page)

    # answer the whole theme
    page.get_by_label("Decision").select_option("will_act")
    page.get_by_label("Response", exact=True).fill("Thank you. The freshwater plan will set limits for every river.")
    page.get_by_role("button", name="Publish response").click()
    page.get_by_text("Response published in").wait_for()
    assert page.get_by_role("heading", name="Responses already given in this theme").is_visible()
    axe(page)

    for href in thread_links:
        page.goto(live_server.state.base_url + href)
        assert page.get_by_text("The freshwater plan will set limits for every river.").first.is_visible()

    # "What we heard, what we'll do" shows the theme's answer once, listing the comments it answers
    page.goto(live_server.state.base_url + f"/consultations/{cid}/responses")
    assert page.get_by_text("The freshwater plan will set limits for every river.").count() == 1
    if len(thread_links) > 1:
        summary = page.locator("details.answered-comments summary")
        answered = int(re.search(r"In reply to (\d+) comments", summary.inner_text()).group(1))
        assert answered >= len(thread_links)
        summary.click()
        assert page.locator("details.answered-comments li a").count() == answered
    axe(page)

    # the dashboard counts the responses now, and the printable report is accessible too
    page.goto(live_server.state.base_url + dashboard)
    axe(page)
    page.goto(live_server.state.base_url + dashboard + "/report")
    axe(page)


def test_dashboard_is_accessible_in_chinese(live_server, browser, helpers, axe):
    cid = _import_and_analyse(live_server)
    context = browser.new_context()
    context.add_cookies([{"name": "civic_locale", "value": "zh-Hans", "url": live_server.state.base_url}])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        dashboard = f"/officials/consultations/{cid}/analysis"
        helpers.add_user(live_server, "olivia@example.org", role="official", name="Olivia", department="environment")
        page.goto(live_server.state.base_url + "/auth/sign-in?next=" + dashboard)
        page.locator("input[type=email]").fill("olivia@example.org")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state()
        page.goto(helpers.last_link(live_server, "olivia@example.org"))
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state()
        page.goto(live_server.state.base_url + dashboard)
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        assert page.locator("h1").count() == 1
        axe(page)
        page.locator("table.analysis-table tbody tr").first.locator("a").first.click()
        page.wait_for_load_state()
        axe(page)
    finally:
        context.close()
