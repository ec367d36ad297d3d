"""In Chromium: a visitor opens the moderation transparency report from the footer, switches to an earlier month and
downloads its CSV; the page is axe-core clean in English and Chinese."""
from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from app.clock import utc_now
from moderation import transparency

from test_moderation_transparency import World

pytestmark = pytest.mark.browser


def test_a_visitor_opens_the_report_switches_month_and_downloads_the_csv(live_server, browser, helpers, axe):
    app = live_server
    w = World(app, helpers.add_user)
    now = utc_now()
    earlier = transparency.Month(now.year, now.month).shift(-3)
    w.decide(earlier.start + timedelta(days=2, hours=3), reason="spam", kind="petition")
    w.decide(earlier.start + timedelta(days=3), decision="approve", language="zh")
    w.item(earlier.start + timedelta(days=4), route="hold")
    w.decide(now - timedelta(minutes=5), reason="abuse")
    base = app.state.base_url
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/")
        page.get_by_role("link", name="Moderation transparency report").click()
        page.wait_for_url("**/moderation/transparency")
        assert page.get_by_role("heading", level=1).inner_text() == "Moderation transparency report"
        header = page.locator(".transparency-summary thead th").all_inner_texts()
        assert len(header) == 3 and "(to date)" in header[2]
        assert page.locator("svg.chart").count() == 1
        axe(page)

        page.get_by_label("Month", exact=True).select_option(earlier.code)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/moderation/transparency?month={earlier.code}")
        summary = page.locator(".transparency-summary")
        assert summary.locator("thead th").all_inner_texts()[1] == earlier.code
        row = summary.locator("tr", has=page.get_by_role("rowheader", name="Held until a moderator looked"))
        assert row.locator("td").inner_text() == "1"
        assert "Spam" in page.locator(f"#reasons-{earlier.code}").inner_text()
        axe(page)

        with page.expect_download() as info:
            page.get_by_role("link", name="This report (CSV)").click()
        download = info.value
        assert download.suggested_filename == f"moderation-transparency-{earlier.code}.csv"
        rows = list(csv.DictReader(open(download.path(), encoding="utf-8")))
        figures = {(r["figure"], r["group"]): r["value"] for r in rows if r["month"] == earlier.code and r["status"] == "complete"}
        assert figures[("human_decisions", "")] == "2" and figures[("held", "")] == "1"
        assert figures[("decisions_by_kind", "petition")] == "1"
        assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())

        context.add_cookies([{"name": "civic_locale", "value": "zh-Hans", "url": base}])
        page.goto(base + "/moderation/transparency")
        assert page.get_by_role("heading", level=1).inner_text() == "审核透明度报告"
        axe(page)
    finally:
        context.close()
