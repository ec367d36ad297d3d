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
from consultations.config import ConsultationSettings
from tests.conftest import assert_accessible_without_js

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
                                                           comment_rate_limit="1/300", vote_rate_limit="2/300")
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
    else:
        assert_accessible_without_js(browser, page)


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


# ----- the other forms: consultations' comment, reply, vote and report; starting a petition; signing in -----

def _consultation(app, helpers) -> int:
    from consultations import forms, service

    official = helpers.add_user(app, "official@example.org", role="official", name="Olivia Official",
                                department="transport")
    data = forms.ConsultationData(title="Safer streets around schools", summary="Should streets close at drop-off?",
                                  body="<p>We propose school streets.</p>", department_id=None, questions=(),
                                  opens_on=None, closes_on=None, strict_mode=False)
    state = app.state
    with unit_of_work(state.engine, state.unit_context) as session:
        cid = service.create_consultation(session, user_id=official.id, data=data).id
    with unit_of_work(state.engine, state.unit_context) as session:
        service.change_state(session, user_id=official.id, consultation_id=cid, action="open")
    return cid


def _comment(app, helpers, cid: int, email: str, body: str, parent_id=None) -> int:
    from consultations import service

    user = helpers.add_user(app, email)
    state = app.state
    with unit_of_work(state.engine, state.unit_context) as session:
        return service.post_comment(session, consultation_id=cid, author_id=user.id, body=body, parent_id=parent_id,
                                    limits=ConsultationSettings(comment_rate_limit="1000/60")).id


def _expect_refusal(page, js: bool, text: str, *, within: str = "main"):
    """A refusal the server answered with its error page (429, 409): with JavaScript the message appears next to
    the form that was sent, focused, and the form keeps what was typed; without, the error page says it."""
    if js:
        message = page.locator(f"{within} [data-civic-error]")
        message.wait_for()
        assert text in message.inner_text()
        page.wait_for_function("() => document.activeElement && document.activeElement.hasAttribute('data-civic-error')")
    else:
        page.get_by_role("heading", name="Too many attempts").or_(
            page.get_by_role("heading", name="That can't be done now")).wait_for()
        assert text in page.locator("main").inner_text()


def _expect_field_error(page, js: bool, field_id: str, text: str):
    field = page.locator(f"#{field_id}")
    page.wait_for_function(f"() => document.getElementById('{field_id}') && "
                           f"document.getElementById('{field_id}').getAttribute('aria-invalid') === 'true'")
    described = field.get_attribute("aria-describedby") or ""
    error = next(i for i in described.split() if "error" in i)
    assert text in page.locator(f"#{error}").inner_text()
    if js:
        page.wait_for_function("() => { const a = document.activeElement; return a && "
                               "(a.closest('.error-summary') || a.getAttribute('aria-invalid') === 'true'); }")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_comment_and_reply_forms_show_422_and_429(live_server, browser, helpers, axe, js):
    app, base = live_server, live_server.state.base_url
    cid = _consultation(app, helpers)
    other = _comment(app, helpers, cid, "neighbour@example.org", "Please keep the road open for buses")
    context, page, console = _context(browser, app, js=js)
    try:
        helpers.sign_in_page(page, app, "rita@example.org")
        page.goto(f"{base}/consultations/{cid}")
        # 422: an empty comment; the error is next to the field
        page.locator("form.comment-form").first.get_by_role("button", name="Post comment").click()
        _expect_field_error(page, js, "new-body", "Write your comment")
        _check_axe(browser, page, axe, js)
        # one comment is allowed in five minutes (the test's limit): the second is refused with 429
        page.locator("#new-body").fill("Close it from 8 to 9 am.")
        page.locator("form.comment-form").first.get_by_role("button", name="Post comment").click()
        page.locator("li.comment", has_text="Close it from 8 to 9 am.").first.wait_for()
        page.goto(f"{base}/consultations/{cid}/comments/{other}")
        # 422 on the reply form
        reply = page.locator(f"#reply-form-{other}")
        reply.get_by_role("button", name="Post comment").click()
        _expect_field_error(page, js, f"reply-{other}-body", "Write your comment")
        page.locator(f"#reply-{other}-body").fill("Buses could still pass at walking pace.")
        page.locator(f"#reply-form-{other}").get_by_role("button", name="Post comment").click()
        _expect_refusal(page, js, "Wait")
        if js:
            assert page.locator(f"#reply-{other}-body").input_value() == "Buses could still pass at walking pace."
        _check_axe(browser, page, axe, js)
        assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_vote_and_report_show_their_refusals(live_server, browser, helpers, axe, js):
    app, base = live_server, live_server.state.base_url
    cid = _consultation(app, helpers)
    other = _comment(app, helpers, cid, "neighbour@example.org", "Please keep the road open for buses")
    context, page, console = _context(browser, app, js=js)
    try:
        helpers.sign_in_page(page, app, "rita@example.org")
        page.goto(f"{base}/consultations/{cid}")
        votes = page.locator(f"#votes-{other}")
        votes.get_by_role("button", name="Agree", exact=True).click()
        page.wait_for_function(f"() => document.querySelector('#votes-{other} button[value=agree]')"
                               ".getAttribute('aria-pressed') === 'true'")
        # 409: the same vote again
        page.locator(f"#votes-{other}").get_by_role("button", name="Agree", exact=True).click()
        if js:
            page.locator(f"#votes-{other} .error").wait_for()
            assert "already voted" in page.locator(f"#votes-{other} .error").inner_text()
            page.wait_for_function("() => document.activeElement && document.activeElement.closest('.votes')")
        else:
            _expect_refusal(page, js, "already voted")
            page.goto(f"{base}/consultations/{cid}")
        # 429: two votes in five minutes is the test's limit (the refused repeat did not count)
        page.locator(f"#votes-{other}").get_by_role("button", name="Disagree", exact=True).click()
        page.wait_for_function(f"() => document.querySelector('#votes-{other} button[value=disagree]')"
                               ".getAttribute('aria-pressed') === 'true'")
        page.locator(f"#votes-{other}").get_by_role("button", name="Pass", exact=True).click()
        if js:
            page.locator(f"#votes-{other} .error", has_text="Wait").wait_for()
        else:
            _expect_refusal(page, js, "Wait")
        _check_axe(browser, page, axe, js)
        # report: 422 without a reason, 409 for a second report
        page.goto(f"{base}/consultations/{cid}/comments/{other}/report")
        page.get_by_role("button", name="Send report").click()
        page.locator("#error-reason").wait_for()
        assert "Choose why" in page.locator("#error-reason").inner_text()
        _check_axe(browser, page, axe, js)
        page.locator("input[name=reason]").first.check()
        page.get_by_role("button", name="Send report").click()
        page.get_by_text("A moderator will review the comment").wait_for()
        page.goto(f"{base}/consultations/{cid}/comments/{other}/report")
        page.locator("input[name=reason]").first.check()
        page.get_by_role("button", name="Send report").click()
        page.get_by_role("heading", name="That can't be done now").wait_for()
        assert "already reported" in page.locator("main").inner_text()
        _check_axe(browser, page, axe, js)
    finally:
        context.close()


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, login_rate_limit="1/300")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_start_petition_and_sign_in_show_422_and_429(live_server, browser, helpers, axe, js):
    app, base = live_server, live_server.state.base_url
    helpers.add_user(app, "rita@example.org")
    context, page, console = _context(browser, app, js=js)
    try:
        # sign in: 422 for an address that isn't one, 429 for a second link within the limit
        page.goto(base + "/auth/sign-in")
        page.get_by_label("Email address").fill("not-an-address")
        page.get_by_role("button", name="Email me a sign-in link").click()
        page.locator(".error-summary").wait_for()
        assert page.locator("#field-email").get_attribute("aria-invalid") == "true"
        _check_axe(browser, page, axe, js)
        for attempt in range(2):
            page.goto(base + "/auth/sign-in")
            page.get_by_label("Email address").fill("rita@example.org")
            page.get_by_role("button", name="Email me a sign-in link").click()
            if attempt == 0:
                page.get_by_role("heading", name="Check your e-mail").wait_for()
        page.get_by_role("heading", name="Too many attempts").wait_for()
        _check_axe(browser, page, axe, js)

        # start a petition: 422 for an area that is no postcode or listed area (the browser checks the
        # required fields itself), then 429 for a second petition within the minute
        def fill(n, area="Riverside"):
            page.goto(base + "/petitions/start")
            page.locator("#field-action").fill(f"Open the Riverside library on Sundays {n}")
            page.locator("#field-background").fill("Many people work during the week and cannot visit.")
            page.locator("#field-name").fill("Petra Creator")
            page.locator("#field-email").fill(f"creator{n}@example.org")
            page.locator("#field-area").fill(area)
            page.locator("button[type=submit]").last.click()

        fill(0, area="Not a place 123!")
        page.locator(".error-summary").wait_for()
        assert page.locator("#field-area").get_attribute("aria-invalid") == "true"
        assert "Enter a postcode" in page.locator("#error-area").inner_text()
        _check_axe(browser, page, axe, js)
        for n in range(2):
            fill(n)
            page.locator("form:has(input[name=stage][value=submit]) button").click()
            if n == 0:
                page.get_by_role("heading", name="Check your email").wait_for()
        page.locator(".error-summary").wait_for()
        assert "Wait" in page.locator(".error-summary").inner_text() or "try again" in page.locator(".error-summary").inner_text()
        assert page.locator("input[name=action]").first.input_value().startswith("Open the Riverside"), "kept"
        _check_axe(browser, page, axe, js)
    finally:
        context.close()


def test_htmx_swaps_raise_no_content_security_policy_errors(live_server, browser, helpers):
    app, base = live_server, live_server.state.base_url
    _open_petition(app, "Plant more trees in the North")
    cid = _consultation(app, helpers)
    first = _comment(app, helpers, cid, "neighbour@example.org", "Please keep the road open for buses")
    _comment(app, helpers, cid, "another@example.org", "Buses could pass at walking pace", parent_id=first)
    context, page, console = _context(browser, app, js=True)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(base + "/petitions/")
        with page.expect_response(lambda r: "/petitions/" in r.url and r.request.headers.get("hx-request") == "true"):
            page.locator("#field-q").fill("trees")
        page.locator("#petition-list").get_by_text("Plant more trees in the North").wait_for()
        page.goto(f"{base}/consultations/{cid}")
        page.get_by_role("link", name="Show 1 reply").click()
        page.get_by_text("Buses could pass at walking pace").wait_for()
        page.get_by_role("link", name="Most agreed").click()
        page.wait_for_url(re.compile(r"sort=agreed"))
        page.wait_for_timeout(300)
        assert not csp, csp
        assert not [m for m in console if "htmx" in m.lower()], console
        # the check itself works: an inline style in swapped-in HTML is reported
        page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')")
        page.wait_for_timeout(300)
        assert csp, "a Content Security Policy violation should have been reported"
    finally:
        context.close()
