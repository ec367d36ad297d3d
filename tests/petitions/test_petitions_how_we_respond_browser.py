"""In Chromium: a visitor finds "How we respond" from the footer, reads the figures, follows an overdue petition
and downloads the CSV; the page is axe-core clean in both languages."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.clock import utc_now

from test_petitions_how_we_respond import _departments, _petition

pytestmark = pytest.mark.browser


def test_a_visitor_reads_the_figures_follows_an_overdue_petition_and_downloads_the_csv(live_server, browser, helpers,
                                                                                     axe):
    app = live_server
    depts = _departments(app)
    official = helpers.add_user(app, "transport@example.org", role="official", department="transport").id
    now = utc_now()
    _petition(app, "Fix the potholes on Mill Road", dept=depts["transport"], threshold=now - timedelta(days=20),
              responded=now - timedelta(days=12), official_id=official)
    overdue = _petition(app, "Safer crossings near the schools", dept=depts["transport"],
                        threshold=now - timedelta(days=45, hours=1))
    base = app.state.base_url
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/")
        page.get_by_role("link", name="How we respond", exact=True).click()
        page.wait_for_url("**/petitions/how-we-respond")
        assert page.get_by_role("heading", level=1).inner_text() == "How we respond to petitions and consultations"
        figures = dict(zip(page.locator(".figures dt").all_inner_texts(), page.locator(".figures dd").all_inner_texts()))
        assert figures["Reached the response threshold"] == "2"
        assert figures["Answered"] == "1"
        assert figures["Median days to respond"] == "8"
        assert figures["Overdue now"] == "1"
        assert page.locator("svg.chart").count() == 2
        row = page.locator("#overdue ~ .table-scroll tbody tr").first
        assert "45" in row.locator("td.num").inner_text()
        axe(page)

        row.get_by_role("link", name="Safer crossings near the schools").click()
        page.wait_for_url(f"**/petitions/{overdue}")
        assert page.get_by_role("heading", level=1).inner_text() == "Safer crossings near the schools"

        page.go_back()
        with page.expect_download() as info:
            page.get_by_role("link", name="Figures per department (CSV)", exact=True).click()
        download = info.value
        assert download.suggested_filename.startswith("how-we-respond-figures-")
        rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
        overall = rows[0]
        assert (overall["department"], overall["reached_threshold"], overall["answered"], overall["overdue"]) == (
            "All departments", "2", "1", "1")
        assert {r["department_code"] for r in rows} >= {"transport", "housing"}
        assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())

        # the same page in Chinese is accessible too
        context.add_cookies([{"name": "civic_locale", "value": "zh-Hans", "url": base}])
        page.goto(base + "/petitions/how-we-respond")
        assert page.get_by_role("heading", level=1).inner_text() == "我们如何回应请愿和公众咨询"
        axe(page)
    finally:
        context.close()
