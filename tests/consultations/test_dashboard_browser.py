"""In Chromium: an official opens the analysis of a consultation imported from a real Polis conversation
(HiveMind freshwater, CC BY 4.0), follows a theme to its comments and answers the theme; axe-core clean."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqlmodel import select

from app.db import unit_of_work
from app.demo import load_demo
from consultations import dashboard_jobs, polis
from consultations.models import Consultation

pytestmark = pytest.mark.browser

FRESHWATER = Path(__file__).resolve().parents[2] / "consultations" / "demo_data" / "freshwater"


def _import_and_analyse(app) -> int:
    s = app.state
    with unit_of_work(s.engine, s.unit_context) as session:
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

    # the themes' details are folded under their heading: open them from the keyboard, then follow the first theme
    table = page.get_by_role("table", name="Themes, their size and the votes and responses on their comments")
    assert not table.is_visible()
    page.locator("#themes > summary").focus()
    page.keyboard.press("Enter")
    table.wait_for()
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
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(live_server.state.base_url + dashboard)
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        assert page.locator("h1").count() == 1
        assert page.locator("#summary").bounding_box()["y"] + page.locator("#summary").bounding_box()["height"] <= 800
        axe(page)
        page.set_viewport_size({"width": 375, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        axe(page)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.locator("table.summary-themes tbody tr").first.locator("a.theme-label").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text().startswith("主题")
        axe(page)
        page.goto(live_server.state.base_url + dashboard + "/report")
        axe(page)
    finally:
        context.close()


def _bottom(page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    return box["y"] + box["height"]


def test_official_reads_the_summary_at_a_glance_and_follows_a_theme(live_server, page, helpers, axe):
    cid = _import_and_analyse(live_server)
    dashboard = f"/officials/consultations/{cid}/analysis"
    _sign_in(page, live_server, helpers, "olivia@example.org", dashboard)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.state.base_url + dashboard)
    summary = page.locator("#summary")
    assert summary.get_by_role("heading", name="At a glance").is_visible()
    assert _bottom(page, "#summary") <= 800  # the whole summary is on the first screen
    # participation, each figure a link; the over-time lines are drawn beside comments and votes
    for name in ("comments", "votes", "participants"):
        assert int(summary.locator(f"#summary-{name}").get_attribute("data-count")) > 0
    assert summary.get_by_role("img", name="Comments over time").is_visible()
    assert summary.get_by_role("img", name="Votes over time").is_visible()
    # the opinion map is readable: at least 480 px wide, every group named on it
    opinion_map = summary.get_by_role("img", name="Map of participants by how they voted")
    assert opinion_map.bounding_box()["width"] >= 480
    groups = summary.locator(".map-figure figcaption a")
    assert groups.count() >= 2
    for i in range(groups.count()):
        assert opinion_map.locator("text", has_text=f"Group {i + 1}").count() >= 2  # on the map and in the legend
    # consensus and divisive: the top three of each, each linking to its comment's thread
    for heading in ("Most agreed across groups", "Most divisive"):
        block = summary.locator("section", has=page.get_by_role("heading", name=heading))
        links = block.locator("ol a")
        assert 1 <= links.count() <= 3
        assert "/comments/" in links.first.get_attribute("href")
    assert summary.get_by_role("heading", name="Responses").is_visible()
    # every other section is folded, and opens without JavaScript from the keyboard
    for section in ("themes", "campaigns", "opinions", "participation"):
        assert page.locator(f"details#{section}").get_attribute("open") is None
    page.locator("#opinions > summary").focus()
    page.keyboard.press("Space")
    assert page.get_by_role("table", name="Opinion groups and their size").is_visible()
    axe(page)

    page.set_viewport_size({"width": 375, "height": 800})  # a phone: no sideways scrolling, the map shrinks to fit
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert summary.evaluate("e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= 375")
    assert opinion_map.bounding_box()["width"] <= 375
    axe(page)

    # renaming a theme in its details (htmx) renames it in the summary too, without a reload
    page.set_viewport_size({"width": 1280, "height": 800})
    row = summary.locator("table.summary-themes tbody tr").first
    key = row.get_attribute("data-theme")
    page.locator("#themes > summary").click()
    card = page.locator(f"#theme-{key}-heading").locator("xpath=..")
    card.get_by_text("Rename or split this theme").click()
    long_name = "Rivers and lakes people can swim in, fish in and drink from, in every region, every summer"
    card.get_by_label("New name for this theme").fill(long_name)
    card.get_by_role("button", name="Rename theme").click()
    page.get_by_text("Theme renamed.").wait_for()
    row = page.locator(f"#summary table.summary-themes tr[data-theme='{key}']")
    assert row.locator("a.theme-label").inner_text() == long_name
    assert _bottom(page, "#summary") <= 800  # a long name takes one line in the summary
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    label = row.locator("a.theme-label").inner_text()
    share = row.locator("[data-share]").get_attribute("data-share")
    row.locator("a.theme-label").click()
    page.get_by_role("heading", name="Answer this theme").wait_for()
    assert page.locator("h1").inner_text() == f"Theme: {label}"
    assert f"{share} of all comments analysed" in page.locator("p.lead").inner_text()
    assert page.locator("ol.analysis-comments > li").count() >= 1


def test_the_printable_report_prints_the_summary_first_and_every_section(live_server, page, helpers, axe):
    cid = _import_and_analyse(live_server)
    report = f"/officials/consultations/{cid}/analysis/report"
    _sign_in(page, live_server, helpers, "olivia@example.org", report)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.state.base_url + report)
    assert page.locator("#summary").is_visible()
    for section in ("themes", "campaigns", "opinions"):
        assert page.locator(f"details#{section}").get_attribute("open") is not None
    axe(page)
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Re-analyse now").is_visible()
    assert page.locator("#summary").evaluate("e => getComputedStyle(e).breakAfter") == "page"
    assert page.get_by_role("table", name="Themes, their size and the votes and responses on their comments")\
        .is_visible()
    assert page.get_by_role("img", name="Map of participants by how they voted").is_visible()


def test_the_demo_consultations_dashboard_at_1280_px(live_server, page, helpers, capsys):
    """The demo's freshwater consultation, as an official of its department first sees it. Prints the figures the
    issue asked for (`pytest -s -k demo_consultations_dashboard`); before the summary the page was 6,625 px tall."""
    s = live_server.state
    load_demo(s.engine, s.settings)
    with unit_of_work(s.engine, s.unit_context) as session:
        cid = session.exec(select(Consultation.id).where(Consultation.source == "demo:freshwater")).one()
    dashboard_jobs.analyse(s.job_context, {"consultation_id": cid})
    dashboard = f"/officials/consultations/{cid}/analysis"
    email = "environment.official@example.org"
    page.goto(s.base_url + "/auth/sign-in?next=" + dashboard)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    page.goto(helpers.last_link(live_server, email))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("You are signed in.").wait_for()
    page.set_viewport_size({"width": 1280, "height": 800})
    figures = {}
    for name, path in (("dashboard", dashboard), ("report", dashboard + "/report")):
        page.goto(s.base_url + path)
        figures[name] = (_bottom(page, "#summary"), page.evaluate("document.documentElement.scrollHeight"))
    opinion_map = page.get_by_role("img", name="Map of participants by how they voted").bounding_box()
    with capsys.disabled():
        for name, (summary, total) in figures.items():
            print(f"\n{name} at 1280x800: summary bottom {summary:.0f} px, page height {total} px")
        print(f"opinion map {opinion_map['width']:.0f}x{opinion_map['height']:.0f} px")
    assert figures["dashboard"][0] <= 800
    assert figures["dashboard"][1] < 2000  # the details are folded; about 6,600 px before
    assert opinion_map["width"] >= 480
