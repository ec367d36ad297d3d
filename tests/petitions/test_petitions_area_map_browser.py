"""In Chromium with JavaScript off, in English and in Chinese: a petition page draws signatures by area as a map
from the demo's synthetic boundaries (with the table kept), and the list shows the most support in one area
first. axe-core checks both pages."""
from __future__ import annotations

import dataclasses

import pytest

from petitions.demo import BOUNDARIES

from tests.conftest import assert_accessible_without_js

pytestmark = pytest.mark.browser

TEXT = {"en": {"map": "Map of signatures by area", "central": "Central: 1,200 signatures",
               "hillside": "Hillside: 0 signatures", "area": "Most support in area", "search": "Search"},
        "zh-Hans": {"map": "各地区签名地图", "central": "Central：1,200 个签名", "hillside": "Hillside：0 个签名",
                    "area": "本地区支持最多", "search": "搜索"}}


@pytest.fixture
def domain_settings(domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries=str(BOUNDARIES))
    return domain_settings


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_petition_map_from_the_demo_boundaries_without_javascript(live_server, browser, axe, locale, area_petition):
    app, text = live_server, TEXT[locale]
    pid = area_petition(app, "Plant trees on every street", {"Central": 1200, "North": 40, "Outside the city": 3})
    area_petition(app, "Open the northern library on Sundays", {"North": 300, "Central": 2})
    context = browser.new_context(java_script_enabled=False, locale="zh-CN" if locale == "zh-Hans" else "en-GB")
    context.add_cookies([{"name": "civic_locale", "value": locale, "url": app.state.base_url}])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{app.state.base_url}/petitions/{pid}")
        figure = page.locator("figure.area-map")
        figure.get_by_role("group", name=text["map"]).wait_for()
        assert figure.locator("path").count() == 8
        assert figure.get_by_role("img", name=text["central"]).is_visible()
        assert figure.get_by_role("img", name=text["hillside"]).is_visible()
        box = figure.locator("svg").bounding_box()
        assert box["width"] > 200 and box["height"] > 200  # drawn, not collapsed
        assert page.get_by_role("cell", name="Central", exact=True).is_visible()  # the table stays
        assert_accessible_without_js(browser, page)

        page.goto(f"{app.state.base_url}/petitions/")
        page.get_by_label(text["area"]).select_option("North")
        page.get_by_role("button", name=text["search"], exact=True).click()
        page.wait_for_url("**area=North**")
        titles = page.locator("#petition-list h2").all_inner_texts()
        assert titles == ["Open the northern library on Sundays", "Plant trees on every street"]
        assert_accessible_without_js(browser, page)
    finally:
        context.close()
