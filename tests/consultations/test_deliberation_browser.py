"""In Chromium: a resident votes through ten statements one at a time, with JavaScript on (htmx, keyboard) and
off (plain form posts), then sees where they stand; a second resident sees neither the first one's point nor
their votes; both pages pass axe-core in English and Chinese at 1280 px and 375 px."""
from __future__ import annotations

import re
import time

import pytest

from consultations.config import ConsultationSettings
from consultations import service

pytestmark = [pytest.mark.browser]

LIMITS = ConsultationSettings(vote_rate_limit="100000/60")
N = 10


def _world(app, helpers, factories) -> tuple[int, list[int]]:
    """A consultation with ten statements and twelve residents who voted on all of them in two camps of six."""
    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"author{i}@example.org", f"Statement {i}: school street idea {i}")
           for i in range(N)]
    for n in range(12):
        user = helpers.add_user(app, f"voter{n}@example.org")
        with factories.uow(app) as session:
            for i, c in enumerate(ids):
                agree = (i < N // 2) == (n < 6) or i == N - 1
                service.cast_vote(session, comment_id=c, user_id=user.id, vote="agree" if agree else "disagree",
                                  limits=LIMITS)
    return cid, ids


def _wait_for_focus(page, element_id, timeout=5.0):
    """Poll from Python (the strict CSP forbids the string evaluation `wait_for_function` would need)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        time.sleep(0.05)
    raise AssertionError(f"focus did not move to #{element_id}")


def _sees_own_place(page):
    page.get_by_role("heading", name="Where you stand", exact=True).wait_for()
    assert page.locator("svg circle.stance-me").count() == 1
    assert re.search(r"You are in group \d\.", page.locator("#your-place").inner_text())
    assert page.locator("svg circle.stance-group").count() == 2
    assert page.get_by_role("heading", name="What everyone agrees on").count() == 1


def test_resident_votes_through_ten_statements_with_javascript(page, live_server, helpers, factories, axe):
    app = live_server
    cid, ids = _world(app, helpers, factories)
    helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
    page.goto(f"{app.state.base_url}/consultations/{cid}")
    page.get_by_role("link", name="Vote on statements").first.click()
    page.wait_for_url(re.compile(rf"/consultations/{cid}/statements$"))
    page.evaluate("window.__noReload = true")
    axe(page)
    for i in range(N):
        heading = page.locator("#statement-heading")
        assert heading.inner_text() == f"Statement {i + 1} of {N}"
        assert f"Statement {i}: school" in page.locator(".statement-body").inner_text()
        button = page.get_by_role("button", name="Agree" if i < N // 2 or i == N - 1 else "Disagree", exact=True)
        button.focus()
        page.keyboard.press("Enter")  # keyboard first: the buttons are a form's buttons
        if i < N - 1:
            page.locator("#statement-heading", has_text=f"Statement {i + 2} of {N}").wait_for()
            # Focus moves to the next statement's heading, so the keyboard continues from there.
            _wait_for_focus(page, "statement-heading")
    page.get_by_role("heading", name="You have voted on every statement").wait_for()
    assert page.evaluate("window.__noReload") is True  # every vote swapped the card in place
    page.get_by_role("link", name="See where you stand").click()
    _sees_own_place(page)
    axe(page)


def test_resident_votes_without_javascript_and_skips_one(browser, live_server, helpers, factories):
    app = live_server
    cid, ids = _world(app, helpers, factories)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        helpers.sign_in_page(page, app, "sam@example.org", name="Sam")
        page.goto(f"{app.state.base_url}/consultations/{cid}/statements")
        page.get_by_role("button", name="Skip", exact=True).click()  # skip the first: not a vote
        page.wait_for_url(re.compile(rf"/statements\?skip={ids[0]}#statement$"))
        assert page.locator("#statement-heading").inner_text() == f"Statement 2 of {N}"
        for i in range(1, N):
            assert f"Statement {i}: school" in page.locator(".statement-body").inner_text()
            page.get_by_role("button", name="Agree" if i < N // 2 or i == N - 1 else "Disagree", exact=True).click()
            page.wait_for_load_state()
        page.get_by_role("heading", name="You have seen every statement").wait_for()
        page.get_by_role("link", name="Go back to the 1 statement you skipped").click()
        assert "Statement 0: school" in page.locator(".statement-body").inner_text()
        assert page.locator("#statement-heading").inner_text() == f"Statement {N} of {N}"
        page.get_by_role("button", name="Agree", exact=True).click()
        page.get_by_role("heading", name="You have voted on every statement").wait_for()
        page.get_by_role("link", name="See where you stand").click()
        _sees_own_place(page)
    finally:
        context.close()


def test_a_second_resident_sees_neither_the_first_ones_point_nor_votes(browser, live_server, helpers, factories):
    app = live_server
    cid, ids = _world(app, helpers, factories)
    first = browser.new_context(locale="en-GB")
    second = browser.new_context(locale="en-GB")
    try:
        p1, p2 = first.new_page(), second.new_page()
        helpers.sign_in_page(p1, app, "voter0@example.org")  # voted on every statement
        p1.goto(f"{app.state.base_url}/consultations/{cid}/stance")
        _sees_own_place(p1)
        helpers.sign_in_page(p2, app, "newcomer@example.org")
        p2.goto(f"{app.state.base_url}/consultations/{cid}/stance")
        p2.get_by_role("heading", name="Where you stand", exact=True).wait_for()
        assert p2.locator("svg circle.stance-me").count() == 0  # nobody's point but one's own
        assert "You are in group" not in p2.content()
        assert "Vote on 7 more statements to see where you stand." in p2.locator("#your-place").inner_text()
        p2.goto(f"{app.state.base_url}/consultations/{cid}/statements")
        assert p2.locator("#statement-heading").inner_text() == f"Statement 1 of {N}"  # the first's votes: not theirs
        assert "You have voted on 0 statements." in p2.content()
        assert p2.locator("[aria-pressed='true']").count() == 0
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_statements_and_stance_pass_axe_in_both_languages_and_widths(browser, live_server, helpers, factories, axe,
                                                                     locale):
    app = live_server
    cid, ids = _world(app, helpers, factories)
    for width in (1280, 375):
        context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            helpers.sign_in_page(page, app, "voter3@example.org")
            context.add_cookies([{"name": "civic_locale", "value": locale, "url": app.state.base_url}])
            for path in (f"/consultations/{cid}/statements", f"/consultations/{cid}/stance"):
                page.goto(app.state.base_url + path)
                assert page.locator("html").get_attribute("lang") == locale
                axe(page)
            assert page.locator("svg circle.stance-me").count() == 1
            empty = factories.consultation(app, title=f"Empty {width}")
            for path in (f"/consultations/{empty}/statements", f"/consultations/{empty}/stance"):
                page.goto(app.state.base_url + path)
                axe(page)
        finally:
            context.close()
