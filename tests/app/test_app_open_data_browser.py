"""In Chromium, in English and Chinese, with JavaScript on and off: the open data page lists each dataset's
snapshots with their SHA-256 and how to cite them, is reached from the footer, leads to a snapshot's own page and
its files (whose bytes hash to the SHA-256 shown), and is axe-core clean."""
from __future__ import annotations

import hashlib

import pytest

from app import open_data
from app.clock import utc_now
from tests.conftest import assert_accessible_without_js

pytestmark = pytest.mark.browser

HOW = "petitions-how-we-respond"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"], ids=["en", "zh-Hans"])
def test_the_open_data_page_lists_citable_snapshots(live_server, browser, axe, locale, js):
    app = live_server
    ctx = app.state.job_context
    day = open_data.last_complete_week(utc_now().date())
    outcomes = open_data.take_snapshots(ctx.engine, app.state.open_data, day, open_data.build_context(ctx),
                                        publisher="Civic", unit_of_work=ctx.unit_of_work)
    digest = next(o.sha256 for o in outcomes if o.dataset == HOW)
    context = browser.new_context(locale=locale, java_script_enabled=js)
    page = context.new_page()
    page.set_default_timeout(15000)
    zh = locale == "zh-CN"
    try:
        page.goto(app.state.base_url + "/")
        page.get_by_role("contentinfo").get_by_role("link", name="开放数据" if zh else "Open data", exact=True).click()
        page.wait_for_url("**/open-data")
        assert page.get_by_role("heading", level=1).inner_text() == ("开放数据" if zh else "Open data")
        table = page.get_by_role("table", name="“我们如何回应请愿”的快照（最新的在前）" if zh
                                 else "Snapshots of “How we respond to petitions”, newest first")
        assert table.get_by_role("row").count() == 2   # the header and this week's snapshot
        assert digest in table.inner_text()
        cite = page.locator(f"section[aria-labelledby='ds-{HOW}'] .cite").inner_text()
        assert "Civic" in cite and day.isoformat() in cite and digest in cite
        json_url = f"/api/snapshots/{HOW}/{day.isoformat()}.json"
        assert cite.count(json_url) == 1
        body = page.request.get(app.state.base_url + json_url).body()
        assert hashlib.sha256(body).hexdigest() == digest
        if js:
            axe(page)
        else:
            assert_accessible_without_js(browser, page)
        table.get_by_role("link", name=day.isoformat(), exact=True).click()
        page.wait_for_url(f"**/open-data/{HOW}/{day.isoformat()}")
        assert digest in page.locator("dl").inner_text()
        if js:
            axe(page)
        else:
            assert_accessible_without_js(browser, page)
    finally:
        context.close()
