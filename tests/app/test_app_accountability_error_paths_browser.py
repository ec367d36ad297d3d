"""In Chromium, with JavaScript on and off: a malformed day on "How we respond" and a malformed month on the
transparency report (a hand-edited or stale link; the forms themselves only offer valid values) answer 422 with the
message next to the field, the field marked invalid, the form kept to correct it, and axe-core clean."""
from __future__ import annotations

import pytest

from tests.conftest import assert_accessible_without_js

pytestmark = pytest.mark.browser

CASES = [
    ("/petitions/how-we-respond?as_of=2026-02-30", "as_of"),
    ("/moderation/transparency?month=2026-13", "month"),
]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("path, field", CASES, ids=["how-we-respond", "transparency"])
def test_a_malformed_date_is_a_422_with_the_message_by_its_field(live_server, browser, axe, path, field, js):
    context = browser.new_context(locale="en-GB", java_script_enabled=js)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        response = page.goto(live_server.state.base_url + path)
        assert response is not None and response.status == 422
        error = page.locator(f"#error-{field}")
        assert error.is_visible() and error.inner_text().strip() != ""
        control = page.locator(f"#field-{field}")
        assert control.get_attribute("aria-invalid") == "true"
        assert f"error-{field}" in (control.get_attribute("aria-describedby") or "")
        assert page.get_by_role("button", name="Show").is_visible()  # the form stays, to correct the value
        if js:
            axe(page)
        else:
            assert_accessible_without_js(browser, page)
    finally:
        context.close()
