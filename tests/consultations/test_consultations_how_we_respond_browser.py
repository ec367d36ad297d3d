"""In Chromium with JavaScript off, in English and Chinese: a visitor reads the consultations section of "How we
respond" (figures, the consultation waiting for an outcome, the weekly trend drawn with its table) and the
participation map of a consultation (small areas only as "fewer than 5"); both pages are axe-core clean."""
from __future__ import annotations

import dataclasses

import pytest

from consultations import forms, service
from consultations.config import ConsultationSettings
from petitions.demo import BOUNDARIES

pytestmark = pytest.mark.browser

LIMITS = ConsultationSettings(comment_rate_limit="1000/60", comment_ip_rate_limit="1000/60")
AREAS = ("Central", "North", "South", "East", "West", "Riverside", "Hillside", "Outside the city")


@pytest.fixture
def domain_settings(domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries=str(BOUNDARIES))
    return domain_settings


def _world(app, helpers, factories) -> dict:
    official = helpers.add_user(app, "official@example.org", role="official", department="transport").id
    answered = factories.consultation(app, title="Bus lanes on the High Street")
    waiting = factories.consultation(app, title="Night buses")
    n = 0
    for area, count in (("Central", 6), ("North", 2)):
        for _ in range(count):
            user = helpers.add_user(app, f"p{n}@example.org").id
            n += 1
            with factories.uow(app) as s:
                comment = service.post_comment(s, consultation_id=answered, author_id=user, limits=LIMITS,
                                               body=f"Comment number {n} about the lanes.", area=area, areas=AREAS)
    with factories.uow(app) as s:
        service.publish_response(s, consultation_id=answered, official_id=official, comment_id=comment.id,
                                 data=forms.ResponseData("noted", "Thank you.", "", None))
    for cid in (answered, waiting):
        with factories.uow(app) as s:
            service.change_state(s, user_id=official, consultation_id=cid, action="close")
    with factories.uow(app) as s:
        service.publish_report(s, user_id=official, consultation_id=answered, text="<p>What we heard.</p>")
    return {"answered": answered, "waiting": waiting}


def test_without_javascript_a_visitor_reads_the_consultation_figures_and_the_area_map(live_server, browser, helpers,
                                                                                        factories):
    app = live_server
    ids = _world(app, helpers, factories)
    base = app.state.base_url
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/petitions/how-we-respond")
        section = page.locator("section.how-we-respond-consultations")
        assert section.get_by_role("heading", level=2).first.inner_text().startswith("Consultations: all departments")
        figures = dict(zip(section.locator(".figures dt").all_inner_texts(),
                           section.locator(".figures dd").all_inner_texts()))
        assert figures["Consultations closed"] == "2"
        assert figures["Outcome published"] == "1"
        assert figures["Closed without an outcome"] == "1"
        assert figures["Comments answered"].endswith("(1 of 8)")
        assert section.locator("svg.chart").count() == 1
        assert section.locator(".table-scroll[aria-labelledby=consultations-weekly] tbody tr").count() == 12
        waiting = section.locator(".table-scroll[aria-labelledby=consultations-waiting] tbody tr")
        assert waiting.count() == 1
        helpers.axe_without_js(browser, page)
        waiting.get_by_role("link", name="Night buses").click()
        page.wait_for_url(f"**/consultations/{ids['waiting']}")

        page.goto(base + f"/consultations/{ids['answered']}")
        assert page.get_by_role("heading", name="Where participants come from").is_visible()
        shapes = page.locator("svg.choropleth path[data-area]")
        assert shapes.count() == 8
        assert page.locator('svg.choropleth path[data-area="Central"]').get_attribute("aria-label") == \
            "Central: 6 participants"
        assert page.locator('svg.choropleth path[data-area="North"]').get_attribute("aria-label") == \
            "North: fewer than 5 participants"
        rows = page.locator(".participation table tbody tr")
        assert rows.all_inner_texts() == ["Central\t6", "North\tfewer than 5"]
        helpers.axe_without_js(browser, page)

        context.add_cookies([{"name": "civic_locale", "value": "zh-Hans", "url": base}])
        page.goto(base + "/petitions/how-we-respond")
        assert page.get_by_role("heading", level=1).inner_text() == "我们如何回应请愿和公众咨询"
        assert page.locator("section.how-we-respond-consultations .figures dt").first.inner_text() == "已结束的咨询"
        helpers.axe_without_js(browser, page)
        page.goto(base + f"/consultations/{ids['answered']}")
        assert page.locator('svg.choropleth path[data-area="North"]').get_attribute("aria-label") == \
            "North：少于 5 名参与者"
        assert "少于 5" in page.locator(".participation table").inner_text()
        helpers.axe_without_js(browser, page)
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_an_area_no_longer_offered_is_refused_next_to_the_field(live_server, browser, helpers, factories, axe,
                                                                domain_settings, javascript):
    """The operator removes an area while a resident is writing: posting with it is a 422 with the message by the
    area field, the comment kept, the page axe-clean; with JavaScript the thread is swapped in place."""
    app = live_server
    cid = factories.consultation(app)
    context = browser.new_context(locale="en-GB", java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15000)
    settings_before = domain_settings["petitions"]
    try:
        helpers.sign_in_page(page, app, "rita@example.org", name="Rita")
        page.goto(f"{app.state.base_url}/consultations/{cid}")
        page.get_by_label("Your comment").fill("Close it from 8 to 9 am.")
        page.get_by_label("Your area (optional)").select_option("North")
        domain_settings["petitions"] = dataclasses.replace(settings_before, areas=tuple(a for a in AREAS if a != "North"))
        if javascript:
            page.evaluate("window.__noReload = true")
        page.get_by_role("button", name="Post comment").click()
        field = page.locator(".field", has=page.locator("#new-area"))
        field.get_by_text("Choose your area from the list, or leave it empty.").wait_for()
        assert page.locator("#new-area").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Your comment").input_value() == "Close it from 8 to 9 am."
        if javascript:
            assert page.evaluate("window.__noReload") is True
            axe(page)
        else:
            helpers.axe_without_js(browser, page)
    finally:
        domain_settings["petitions"] = settings_before
        context.close()
