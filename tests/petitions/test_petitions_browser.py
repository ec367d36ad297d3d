"""In Chromium, in English and in Chinese: start, sponsor, moderate, sign, confirm, reach the response
threshold, publish the official response (shown on the page and e-mailed). axe-core runs on every page."""
from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"start": "Start a petition", "sign": "Sign this petition", "confirm": "Confirm my signature",
           "response": "Official response", "thanks": "Thank you", "awaiting": "Petitions awaiting a response",
           "check": "Check your email", "petitions": "Petitions"},
    "zh-Hans": {"start": "发起请愿", "sign": "签署此请愿", "confirm": "确认我的签名", "response": "官方回应",
                "thanks": "谢谢", "awaiting": "等待回应的请愿", "check": "请查收电子邮件", "petitions": "请愿"},
}


@pytest.fixture
def domain_settings(domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], sponsor_threshold=2,
                                                       response_threshold=5, debate_threshold=50)
    return domain_settings


def _link(app, helpers, to, part):
    return helpers.wait_for(lambda: next((m for m in reversed(helpers.outbox(app, to)) if part in m.body), None),
                     message=f"an e-mail to {to} with {part}")


def _url_in(message, part):
    import re

    return next(u for u in re.findall(r"https?://\S+", message.body) if part in u)


def _new_page(browser, app, locale):
    context = browser.new_context(locale="zh-CN" if locale == "zh-Hans" else "en-GB")
    context.add_cookies([{"name": "civic_locale", "value": locale, "url": app.state.base_url}])
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _confirm(page, app, helpers, email, axe, text):
    message = _link(app, helpers, email, "/signatures/confirm")
    page.goto(_url_in(message, "/signatures/confirm"))
    axe(page)
    page.get_by_role("button", name=text["confirm"]).click()
    page.get_by_role("heading", name=text["thanks"]).wait_for()
    axe(page)


def _staff(browser, app, helpers, email, role, department=None):
    helpers.add_user(app, email, role=role, department=department)
    context, page = _new_page(browser, app, "en")
    page.goto(app.state.base_url + "/auth/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    message = _link(app, helpers, email, "/auth/confirm")
    page.goto(_url_in(message, "/auth/confirm"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(app.state.base_url + "/")
    return context, page


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_whole_journey_in_the_browser(live_server, browser, helpers, axe, locale):
    app, base, text = live_server, live_server.state.base_url, TEXT[locale]
    action = "Open the Riverside library on Sundays" if locale == "en" else "周日开放河畔图书馆"
    creator = f"creator-{locale}@example.org"
    resident_ctx, page = _new_page(browser, app, locale)
    contexts = [resident_ctx]
    try:
        # start
        page.goto(base + "/petitions/")
        assert page.locator("html").get_attribute("lang") == locale
        page.get_by_role("heading", name=text["petitions"], exact=True).wait_for()
        axe(page)
        page.goto(base + "/petitions/start")
        page.get_by_role("heading", name=text["start"]).wait_for()
        axe(page)
        page.locator("#field-action").fill(action)
        page.locator("#field-background").fill("Many people work during the week and cannot visit the library.")
        page.locator("#field-name").fill("Petra Creator")
        page.locator("#field-email").fill(creator)
        page.locator("#field-area").fill("Riverside")
        page.locator("button[type=submit]").last.click()
        page.locator("input[name=stage][value=submit]").wait_for(state="attached")
        axe(page)
        page.locator("form:has(input[name=stage][value=submit]) button").click()
        page.get_by_role("heading", name=text["check"]).wait_for()
        axe(page)
        _confirm(page, app, helpers, creator, axe, text)

        # sponsors, through the link e-mailed to the creator
        sponsor_link = _url_in(_link(app, helpers, creator, "/sponsor?token="), "/sponsor?token=")
        for n in range(2):
            ctx, sp = _new_page(browser, app, locale)
            contexts.append(ctx)
            sp.goto(sponsor_link)
            axe(sp)
            sp.locator("#field-name").fill(f"Sponsor {n}")
            sp.locator("#field-email").fill(f"sponsor{n}-{locale}@example.org")
            sp.locator("#field-area").fill("North")
            sp.locator("form button[type=submit]").click()
            sp.get_by_role("heading", level=1).wait_for()
            axe(sp)
            _confirm(sp, app, helpers, f"sponsor{n}-{locale}@example.org", axe, text)

        # moderation
        mod_ctx, mod = _staff(browser, app, helpers, f"mod-{locale}@example.org", "moderator")
        contexts.append(mod_ctx)
        helpers.add_user(app, f"official-{locale}@example.org", role="official", department="libraries")
        mod.goto(base + "/petitions/moderation")
        axe(mod)
        mod.get_by_role("link", name=action).click()
        axe(mod)
        mod.get_by_label("Responsible department").select_option(label="Libraries")
        mod.get_by_role("button", name="Approve and publish").click()
        mod.get_by_text("The petition is published").wait_for()

        # sign and confirm as a resident
        page.goto(base + "/petitions/?state=open")
        page.get_by_role("link", name=action).click()
        page.get_by_role("heading", name=action).wait_for()
        axe(page)
        if locale == "en":
            page.get_by_label("Name").fill("Sam Signer")
            page.get_by_label("Email address").fill(f"signer-{locale}@example.org")
            page.get_by_label("Postcode or area").fill("SW1A 1AA")
        else:
            page.get_by_label("姓名").fill("王小明")
            page.get_by_label("电子邮件地址").fill(f"signer-{locale}@example.org")
            page.get_by_label("邮政编码或地区").fill("SW1A 1AA")
        page.locator("#field-notify").check()
        page.get_by_role("button", name=text["sign"]).click()
        page.get_by_role("heading", name=text["check"]).wait_for()
        axe(page)
        _confirm(page, app, helpers, f"signer-{locale}@example.org", axe, text)

        # creator + 2 sponsors + 1 signer... plus one more signer reaches the threshold of 5
        ctx2, other = _new_page(browser, app, locale)
        contexts.append(ctx2)
        other.goto(base + "/petitions/?state=open")
        other.get_by_role("link", name=action).click()
        detail_url = other.url
        other.locator("#field-name").fill("Second Signer")
        other.locator("#field-email").fill(f"second-{locale}@example.org")
        other.locator("#field-area").fill("Central")
        other.get_by_role("button", name=text["sign"]).click()
        other.get_by_role("heading", name=text["check"]).wait_for()
        _confirm(other, app, helpers, f"second-{locale}@example.org", axe, text)

        def awaiting():
            page.goto(base + "/petitions/awaiting-response")
            return page.get_by_role("link", name=action).count() > 0

        helpers.wait_for(awaiting, message="the petition to reach the response threshold")
        page.get_by_role("heading", name=text["awaiting"]).wait_for()
        axe(page)

        # the official responds
        off_ctx, off = _staff(browser, app, helpers, f"official-{locale}@example.org", "official", "libraries")
        contexts.append(off_ctx)
        off.goto(detail_url + "/respond")
        axe(off)
        off.get_by_label("Summary").fill("We will open on Sundays from April.")
        off.get_by_label("Full response").fill("The council has found funding for Sunday opening hours.")
        off.get_by_label("Decision").select_option("accepted")
        off.get_by_role("button", name="Publish response").click()
        off.get_by_role("heading", name="Official response").wait_for()

        # A visitor who has not seen the page yet gets the response at once. (A browser that showed the page in
        # the last minute may show its copy while revalidating: the page is sent `stale-while-revalidate`.)
        ctx3, visitor = _new_page(browser, app, locale)
        contexts.append(ctx3)
        visitor.goto(detail_url)
        visitor.get_by_role("heading", name=text["response"]).wait_for()
        assert visitor.get_by_text("We will open on Sundays from April.").is_visible()
        assert visitor.locator("#signature-count").is_visible()
        assert visitor.locator("svg.chart").count() == 1  # signatures by area
        axe(visitor)
        mail = helpers.wait_for(lambda: next((m for m in helpers.outbox(app, f"signer-{locale}@example.org")
                                       if "We will open on Sundays" in m.body), None),
                         message="the response e-mail")
        if locale == "zh-Hans":
            assert mail.subject == "请愿的官方回应"
        else:
            assert mail.subject == "The official response to the petition"
        # a signer who did not ask for updates is not e-mailed
        assert not any("We will open on Sundays" in m.body for m in helpers.outbox(app, f"second-{locale}@example.org"))
        # the signer stops further updates from the link in that e-mail (a page with a button, then done)
        visitor.goto(_url_in(mail, "/signatures/stop-updates"))
        axe(visitor)
        zh = locale == "zh-Hans"
        visitor.get_by_role("button", name="停止接收这些电子邮件" if zh else "Stop these e-mails").click()
        visitor.get_by_role("heading", name="您将不再收到有关此请愿的电子邮件" if zh
                            else "You won't get e-mails about this petition any more").wait_for()
        axe(visitor)
    finally:
        for ctx in contexts:
            ctx.close()


def _fill_start_with_bad_area(page):
    page.locator("#field-action").fill("Plant fruit trees in school grounds")
    page.locator("#field-background").fill("Children learn where food comes from.")
    page.locator("#field-name").fill("Fay")
    page.locator("#field-email").fill("fay@example.org")
    page.locator("#field-area").fill("Atlantis")
    page.locator("form:has(#field-action) button[type=submit]").click()


def test_rejected_and_error_pages_are_accessible_and_work_without_javascript(live_server, browser, helpers, axe):
    from app.db import unit_of_work
    from petitions.models import Petition
    from app.clock import utc_now

    now = utc_now()
    with unit_of_work(live_server.state.engine) as s:
        s.add(Petition(action="Paint every bench blue", background="Blue benches are cheerful.", creator_name="X",
                       creator_email="x@example.org", state="rejected", rejection_code="duplicate",
                       created_at=now, updated_at=now, rejected_at=now))
    nojs = browser.new_context(java_script_enabled=False)
    try:  # the lists, facets and the start form work without JavaScript
        p = nojs.new_page()
        p.goto(live_server.state.base_url + "/petitions/?state=rejected")
        p.get_by_role("link", name="Paint every bench blue").wait_for()
        p.goto(live_server.state.base_url + "/petitions/start")
        _fill_start_with_bad_area(p)
        p.get_by_text("Enter a postcode like SW1A 1AA").first.wait_for()
    finally:
        nojs.close()
    context = browser.new_context()  # axe-core needs JavaScript
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(live_server.state.base_url + "/petitions/?state=rejected")
        axe(page)
        page.get_by_role("link", name="Paint every bench blue").click()
        page.get_by_role("heading", name="Why this petition was rejected").wait_for()
        axe(page)
        page.goto(live_server.state.base_url + "/petitions/start")
        _fill_start_with_bad_area(page)  # the errors must be accessible too
        page.get_by_text("Enter a postcode like SW1A 1AA").first.wait_for()
        axe(page)
    finally:
        context.close()
