"""Security headers, gzip, health check, language switching, pages without JavaScript."""
import dataclasses

from starlette.testclient import TestClient

from app.main import create_app


def test_security_headers_on_pages(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(client):
    html = client.get("/").text
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html
    assert '<script src="/static/vendor/htmx-2.0.11.min.js' in html


def test_gzip(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


def test_healthz_reports_database_and_model(client):
    data = client.get("/healthz").json()
    assert data["status"] == "ok" and data["database"] == "ok" and "model" in data


def test_language_switch_sets_cookie_and_redirects_back(client):
    response = client.get("/locale", params={"lang": "zh-Hans", "next": "/about"})
    assert response.status_code == 303 and response.headers["location"] == "/about"
    page = client.get("/about")
    assert '<html lang="zh-Hans">' in page.text and "关于 Civic" in page.text


def test_open_redirect_is_not_possible(client):
    response = client.get("/locale", params={"lang": "en", "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_accept_language_picks_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-Hans">' in page.text and "发表您的意见" in page.text


def test_flash_message_shows_once(client, app, helpers):
    helpers.sign_in(client, app, "a@example.org")
    first = client.get("/")
    assert "You are signed in." in first.text
    assert "You are signed in." not in client.get("/").text


def test_openapi_document_is_served_with_open_cors(client):
    response = client.get("/api/openapi.json", headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert response.headers["access-control-allow-origin"] == "*"


def test_page_titles_end_with_the_configured_site_name(client, settings, engine, sender, domain_settings, classifier):
    assert "<title>Open data · Civic</title>" in client.get("/open-data").text
    council = create_app(dataclasses.replace(settings, site_name="Riverton City Council"), engine=engine, sender=sender,
                         domain_settings=domain_settings, classifier=classifier, run_worker=False)
    with TestClient(council, base_url="https://testserver") as c:
        assert "<title>Open data · Riverton City Council</title>" in c.get("/open-data").text


def test_the_footer_links_to_how_we_respond_in_english_and_chinese(client):
    assert '/petitions/how-we-respond">How we respond</a>' in client.get("/").text
    assert '/petitions/how-we-respond">我们如何回应</a>' in client.get("/", headers={"Accept-Language": "zh-CN"}).text
