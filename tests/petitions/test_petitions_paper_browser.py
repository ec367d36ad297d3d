"""In Chromium, with JavaScript on and off, in English and Chinese: a clerk records a box of paper signatures from
the petition's page, and the public count then shows them apart from the online ones; a bad count or date is a 422
with the message by its field and the form kept; a petition closed while the form was open is a 409, and too many
entries a 429 with the form kept. Every page axe-core clean."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import utc_now
from app.db import read_session
from petitions.models import PaperEntry, Petition

from test_petitions_paper import _petition

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"record": "Record paper signatures", "including": "including 1,240 paper signatures",
           "flash": "1,240 paper signatures are recorded", "on_paper": "On paper", "h1": "Paper record"},
    "zh-Hans": {"record": "登记纸质签名", "including": "其中纸质签名 1,240 个", "flash": "已登记 1,240 个纸质签名",
                "on_paper": "纸质", "h1": "纸质签名记录"},
}


def _context(browser, base: str, js: bool, lang: str):
    context = browser.new_context(locale="en-GB", java_script_enabled=js)
    if lang != "en":
        context.add_cookies([{"name": "civic_locale", "value": lang, "url": base}])
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _check_axe(browser, page, axe, helpers, js: bool) -> None:
    """axe-core in the page, or (JavaScript off) on the same HTML in a JavaScript page."""
    if js:
        axe(page)
    else:
        helpers.axe_without_js(browser, page)


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_clerk_records_paper_signatures_and_the_public_count_shows_them_apart(live_server, browser, helpers, axe,
                                                                                 js, lang):
    app = live_server
    base = app.state.base_url
    pid = _petition(app, helpers, online=3)
    t = TEXT[lang]
    context, page = _context(browser, base, js, "en")
    try:
        helpers.sign_in_page(page, app, "clerk@example.org", role="clerk", name="Casey Clerk")
        if lang != "en":
            context.add_cookies([{"name": "civic_locale", "value": lang, "url": base}])
        page.goto(base + f"/petitions/{pid}")
        page.get_by_role("link", name=t["record"]).click()
        page.wait_for_url(f"**/petitions/{pid}/paper")
        assert page.get_by_role("heading", level=1).inner_text() == t["record"]
        _check_axe(browser, page, axe, helpers, js)
        page.locator("#field-collected_on").fill((utc_now().date() - timedelta(days=1)).isoformat())
        page.locator("#field-reference").fill("Box 12, Central Library")
        page.locator("#field-count-0").fill("1200")   # Central
        page.locator("#field-count-1").fill("40")     # North
        page.locator("form.paper-form button[type=submit]").click()
        page.wait_for_url(f"**/petitions/{pid}/paper/entries")
        assert page.get_by_role("heading", level=1).inner_text() == t["h1"]
        assert t["flash"] in page.locator("main").inner_text()
        assert "Box 12, Central Library" in page.locator("table.paper-entries").inner_text()
        _check_axe(browser, page, axe, helpers, js)
    finally:
        context.close()

    def settled():
        with read_session(app.state.engine) as s:
            return s.get(Petition, pid).paper_signature_count == 1240

    helpers.wait_for(settled, message="the paper signatures to be settled into the count")
    context, page = _context(browser, base, js, lang)  # a member of the public
    try:
        page.goto(base + f"/petitions/{pid}")
        count = page.locator("#signature-count .count").inner_text()
        assert "1,243" in count and t["including"] in count
        table = page.locator("#areas-title ~ table")
        assert t["on_paper"] in table.locator("thead").inner_text()
        assert "Casey" not in page.content() and "Box 12" not in page.content()
        _check_axe(browser, page, axe, helpers, js)
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_bad_count_and_date_are_a_422_with_the_messages_by_their_fields(live_server, browser, helpers, axe, js):
    app = live_server
    base = app.state.base_url
    pid = _petition(app, helpers)
    context, page = _context(browser, base, js, "en")
    try:
        helpers.sign_in_page(page, app, "clerk@example.org", role="clerk", name="Casey Clerk")
        page.goto(base + f"/petitions/{pid}/paper")
        page.locator("#field-collected_on").fill((utc_now().date() + timedelta(days=2)).isoformat())
        page.locator("#field-reference").fill("Box 3")
        page.locator("#field-count-0").fill("-5")
        page.locator("#field-count-2").fill("12.5")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("form.paper-form button[type=submit]").click()
        assert answer.value.status == 422
        page.wait_for_load_state()
        for field, message in (("count-0", "can't be negative"), ("count-2", "whole number"),
                               ("collected_on", "in the future")):
            error = page.locator(f"#error-{field}")
            assert error.is_visible() and message in error.inner_text()
            control = page.locator(f"#field-{field}")
            assert control.get_attribute("aria-invalid") == "true"
            assert f"error-{field}" in (control.get_attribute("aria-describedby") or "")
        assert page.locator("#field-count-0").input_value() == "-5"  # kept as typed, to correct
        assert page.locator("#field-reference").input_value() == "Box 3"
        assert page.locator(".error-summary").is_visible()
        _check_axe(browser, page, axe, helpers, js)
    finally:
        context.close()
    with read_session(app.state.engine) as s:
        assert s.exec(select(PaperEntry)).all() == []


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_petition_closed_meanwhile_is_a_409_and_too_many_entries_a_429_with_the_form_kept(
        live_server, browser, helpers, axe, domain_settings, js):
    import dataclasses

    from app.db import unit_of_work

    app = live_server
    base = app.state.base_url
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], paper_rate="1/300")
    closing = _petition(app, helpers, department="parks")
    pid = _petition(app, helpers)
    yesterday = (utc_now().date() - timedelta(days=1)).isoformat()
    context, page = _context(browser, base, js, "en")

    def fill(reference: str, count: str) -> None:
        page.locator("#field-collected_on").fill(yesterday)
        page.locator("#field-reference").fill(reference)
        page.locator("#field-count-0").fill(count)

    def submit() -> int:
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("form.paper-form button[type=submit]").click()
        page.wait_for_load_state()
        return answer.value.status

    try:
        helpers.sign_in_page(page, app, "clerk@example.org", role="clerk", name="Casey Clerk")
        # the form is opened, then the petition closes before it is sent
        page.goto(base + f"/petitions/{closing}/paper")
        fill("Box 1", "5")
        with unit_of_work(app.state.engine) as s:
            p = s.get(Petition, closing)
            p.state, p.closed_at = "closed", utc_now()
        assert submit() == 409
        assert "not open for signatures" in page.locator("main").inner_text()
        _check_axe(browser, page, axe, helpers, js)
        # one entry is allowed in five minutes: the second is refused, with what was typed kept
        page.goto(base + f"/petitions/{pid}/paper")
        fill("Box 12", "5")
        page.locator("form.paper-form button[type=submit]").click()
        page.wait_for_url(f"**/petitions/{pid}/paper/entries")
        page.goto(base + f"/petitions/{pid}/paper")
        fill("Box 13", "6")
        assert submit() == 429
        assert "Wait a few minutes" in page.locator("main").inner_text()
        assert page.locator("#field-reference").input_value() == "Box 13"
        assert page.locator("#field-count-0").input_value() == "6"
        _check_axe(browser, page, axe, helpers, js)
    finally:
        context.close()
    with read_session(app.state.engine) as s:
        assert [e.reference for e in s.exec(select(PaperEntry)).all()] == ["Box 12"]
