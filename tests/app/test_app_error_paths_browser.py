"""In Chromium, with JavaScript on and off: every form shows its refusals to the person who sent it.

A form error (422), a conflict (409) and a rate limit (429) must each be visible after pressing the button;
with JavaScript on, the form is an htmx form and focus moves to the error message. axe-core runs on the pages
with the errors shown; the sign form is checked in English and Chinese.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.clock import utc_now
from app.db import unit_of_work

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"sign": "Sign this petition", "name": "Name", "email": "Email address", "area": "Postcode or area",
           "bad_area": "Enter a postcode like SW1A 1AA", "check": "Check your email",
           "closed": "This petition is closed", "rate": "Too many signatures came from your network"},
    "zh-Hans": {"sign": "签署此请愿", "name": "姓名", "email": "电子邮件地址", "area": "邮政编码或地区",
                "bad_area": None, "check": "请查收电子邮件", "closed": None, "rate": None},
}


@pytest.fixture
def domain_settings(domain_settings):
    # One signature a minute per network and petition (the default), so the second attempt is refused.
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], sign_rate_burst="1/60")
    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"],
                                                           comment_rate_limit="1/300", vote_rate_limit="1/300")
    return domain_settings


def _translated(locale: str, english: str) -> str:
    from app import i18n

    with i18n.use_locale(locale):
        return i18n.gettext(english)


def _open_petition(app, action="Open the Riverside library on Sundays") -> int:
    from petitions.models import Petition, PetitionState

    now = utc_now()
    with unit_of_work(app.state.engine) as session:
        petition = Petition(action=action, background="Many people work during the week.", creator_name="Petra",
                            creator_email="petra@example.org", state=PetitionState.OPEN.value, created_at=now,
                            updated_at=now, opened_at=now, closes_at=now + timedelta(days=90))
        session.add(petition)
        session.flush()
        return petition.id


def _close(app, petition_id: int) -> None:
    from petitions.models import Petition, PetitionState

    with unit_of_work(app.state.engine) as session:
        session.execute(update(Petition).where(Petition.id == petition_id).values(state=PetitionState.CLOSED.value))
    # the sign route remembers a petition's action for a moment; the state is always read in the transaction


def _context(browser, app, *, js: bool, locale: str = "en"):
    context = browser.new_context(java_script_enabled=js, locale="zh-CN" if locale == "zh-Hans" else "en-GB")
    context.add_cookies([{"name": "civic_locale", "value": locale, "url": app.state.base_url}])
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def _check_axe(browser, page, axe, js: bool) -> None:
    """axe-core on what the person sees; without JavaScript axe can't run in the page itself, so the page's
    HTML is checked in a JavaScript-enabled page of the same origin."""
    if js:
        axe(page)
        return
    html = page.content()
    context = browser.new_context()
    try:
        checker = context.new_page()
        checker.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/robots.txt")
        checker.set_content(html)
        axe(checker)
    finally:
        context.close()


def _focused(page) -> str:
    """What has keyboard focus: the error summary (or a message/field inside the error)."""
    return page.evaluate(
        "() => { const a = document.activeElement; if (!a) return ''; "
        "const box = a.closest('.error-summary, [data-civic-error], .field-error, .votes'); "
        "return (box ? box.className + ' ' : '') + a.tagName + ' ' + (a.textContent || '').trim().slice(0, 200); }")


def _fill_sign_form(page, text, *, email, area="North"):
    page.get_by_label(text["name"], exact=True).fill("Sam Signer")
    page.get_by_label(text["email"]).fill(email)
    page.get_by_label(text["area"]).fill(area)
    page.locator("#sign-panel button[type=submit]").click()


def _expect_sign_error(page, js: bool, message: str, *, closed: bool = False):
    if closed and not js:  # the whole page comes back: the petition is closed, so instead of the form, why
        page.locator("main .error-inline").wait_for()
        assert message in page.locator("main").inner_text()
        return
    summary = page.locator("#sign-panel .error-summary")
    summary.wait_for()
    assert message in summary.inner_text()
    if js:
        # htmx swapped the fragment in place (no page load) and moved focus to the summary
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('.error-summary')")
        assert "error-summary" in _focused(page)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_sign_form_shows_422_409_and_429(live_server, browser, axe, js, locale):
    app, base, text = live_server, live_server.state.base_url, TEXT[locale]
    bad_area = text["bad_area"] or _translated(locale, "Enter a postcode like SW1A 1AA, or choose one of the listed areas.")
    rate = text["rate"] or _translated(locale, "Too many signatures came from your network for this petition. "
                                               "Wait a few minutes and try again; what you entered is kept.")
    closed = text["closed"] or _translated(locale, "This petition is closed, so it can't be signed any more. "
                                                   "Look for an open petition about the same subject.")
    pid = _open_petition(app)
    context, page, console = _context(browser, app, js=js, locale=locale)
    try:
        # 422: an area that is neither a postcode nor a listed area; the error is next to the field
        page.goto(f"{base}/petitions/{pid}")
        _fill_sign_form(page, text, email="sam@example.org", area="Not a place 123!")
        _expect_sign_error(page, js, bad_area[:20])
        field_error = page.locator("#sign-panel #error-area")
        assert bad_area[:20] in field_error.inner_text()
        assert page.locator("#field-area").get_attribute("aria-invalid") == "true"
        assert page.locator("#field-email").input_value() == "sam@example.org", "what was typed is kept"
        _check_axe(browser, page, axe, js)

        # a good signature, then a second one from the same network within the minute: 429
        page.locator("#field-area").fill("North")
        page.locator("#sign-panel button[type=submit]").click()
        page.get_by_text(text["check"]).first.wait_for()
        page.goto(f"{base}/petitions/{pid}")
        _fill_sign_form(page, text, email="second@example.org")
        _expect_sign_error(page, js, rate[:20])
        assert page.locator("#field-email").input_value() == "second@example.org"
        _check_axe(browser, page, axe, js)

        # 409: the petition closed while the page was open
        page.goto(f"{base}/petitions/{pid}")
        _close(app, pid)
        _fill_sign_form(page, text, email="third@example.org")
        _expect_sign_error(page, js, closed[:20], closed=True)
        _check_axe(browser, page, axe, js)
        csp = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
        assert not csp, csp
    finally:
        context.close()
