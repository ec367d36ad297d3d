"""What people notice on petition pages, in Chromium: no list bullets on the home page's petition cards, headings
in order on the list (axe `heading-order`), and petition text without nested paragraphs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import utc_now
from app.db import unit_of_work
from petitions.models import Petition

pytestmark = pytest.mark.browser

BACKGROUND = "Benches let older people walk further.\n\nThey cost little and last for decades."


def _open_petition(app) -> int:
    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        p = Petition(action="Put benches along the riverside path", background=BACKGROUND, details="Ten benches.",
                     creator_name="C", creator_email="c@example.org", state="open", signature_count=12,
                     created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        return p.id


def _axe_rule(page, rule: str) -> list:
    from tests.conftest import AXE_SOURCE

    page.evaluate(AXE_SOURCE)
    return page.evaluate("async (rule) => (await axe.run(document, {runOnly: {type: 'rule', values: [rule]}}))"
                         ".violations.map(v => v.nodes.map(n => n.target.join(' ')))", rule)


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_cards_headings_and_paragraphs(live_server, browser, axe, locale):
    pid = _open_petition(live_server)
    base = live_server.state.base_url
    context = browser.new_context(locale="zh-CN" if locale == "zh-Hans" else "en-GB")
    context.add_cookies([{"name": "civic_locale", "value": locale, "url": base}])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(base + "/")
        card = page.locator(".home-petitions li").first
        card.wait_for()
        assert card.evaluate("li => getComputedStyle(li).listStyleType") == "none"
        axe(page)

        page.goto(base + "/petitions/")
        assert _axe_rule(page, "heading-order") == []
        assert page.locator("#petition-list h2").count() == 1
        axe(page)

        page.goto(base + f"/petitions/{pid}")
        # two paragraphs of background, each its own <p>: no empty paragraphs left over from <p><p>
        texts = page.locator(".petition-text p").all_inner_texts()
        assert texts == ["Benches let older people walk further.", "They cost little and last for decades.",
                         "Ten benches."]
        assert page.locator("p:empty").count() == 0
        assert _axe_rule(page, "heading-order") == []
        axe(page)
    finally:
        context.close()
