"""In Chromium: sign in through the e-mailed link; home and sign-in pages pass axe-core in both languages."""
import pytest

pytestmark = pytest.mark.browser


def test_sign_in_through_the_emailed_link(live_server, page, helpers):
    base = live_server.state.base_url
    helpers.add_user(live_server, "resident@example.org", name="Rita Resident")
    page.goto(base + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill("resident@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()
    link = helpers.last_link(live_server, "resident@example.org")
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("You are signed in.").is_visible()
    assert page.get_by_role("link", name="Rita Resident").is_visible()


@pytest.mark.parametrize("locale,heading", [("en", "Have your say"), ("zh-Hans", "发表您的意见")])
def test_home_and_sign_in_pages_are_accessible(live_server, browser, axe, locale, heading):
    context = browser.new_context()
    context.add_cookies([{"name": "civic_locale", "value": locale, "url": live_server.state.base_url}])
    page = context.new_page()
    try:
        page.goto(live_server.state.base_url + "/")
        assert page.get_by_role("heading", name=heading).is_visible()
        assert page.locator("html").get_attribute("lang") == locale
        axe(page)
        page.goto(live_server.state.base_url + "/auth/sign-in")
        axe(page)
        page.get_by_role("button").last.click()  # submit empty: the error must be accessible too
        axe(page)
    finally:
        context.close()


def test_language_switcher_works_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.state.base_url + "/")
        page.get_by_role("link", name="中文（简体）").click()
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        assert page.get_by_role("heading", name="发表您的意见").is_visible()
    finally:
        context.close()
