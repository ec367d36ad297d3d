"""Every page linked from the demo site renders for visitors and for staff: no broken link, no server error."""
import re
from urllib.parse import urljoin, urlsplit

import pytest

from app.demo import load_demo


def crawl(client, starts, limit):
    seen, queue, broken = set(), list(starts), []
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code >= 500 or response.status_code == 404:
            broken.append((path, response.status_code))
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="([^"#]+)', response.text):
            url = urlsplit(urljoin("https://testserver" + path, href.replace("&amp;", "&")))
            target = url.path + ("?" + url.query if url.query else "")
            if url.netloc == "testserver" and not target.startswith(("/static", "/api/")) and target not in seen:
                queue.append(target)
    return seen, broken


@pytest.mark.parametrize("who", ["visitor", "admin", "official", "moderator"])
def test_demo_site_has_no_broken_pages(app, client, helpers, who):
    load_demo(app.state.engine, app.state.settings, domain_settings=app.state.unit_context.domain_settings)
    helpers.run_jobs(app)
    if who != "visitor":
        helpers.sign_in(client, app, f"{who}@example.org", role=who, department="transport" if who == "official" else None)
    seen, broken = crawl(client, ["/", "/petitions/", "/consultations/", "/moderation/"], limit=90)
    assert len(seen) >= 60
    assert not broken, broken
