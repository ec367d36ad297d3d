"""Errors are friendly pages (JSON under /api/), with the right status and never a traceback."""
from starlette.routing import Route


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text and "home page" in response.text


def test_api_errors_are_json(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_wrong_method_is_405(client):
    response = client.delete("/auth/sign-in")
    assert response.status_code == 405
    assert "available at this address" in response.text


def test_oversized_body_is_413(client, app, helpers):
    response = client.post("/auth/sign-in", content=b"email=" + b"a" * 1_100_000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "too large" in response.text
    assert helpers.outbox(app) == []


def test_unexpected_error_is_500_without_traceback(app):
    from starlette.testclient import TestClient

    def boom(request):
        raise RuntimeError("secret internal detail")

    app.router.routes.append(Route("/boom", boom))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internal detail" not in response.text and "Traceback" not in response.text


def test_malformed_form_body_is_not_a_500(client):
    response = client.post("/auth/sign-in", content=b"\xff\xfe%%%=&&=",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code in (400, 422)


def test_wrong_host_is_refused(client):
    response = client.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 400
