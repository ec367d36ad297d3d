"""Bad input gets a clear 4xx, and a database that can't take writes a 503, never a bare 500:
integer path parameters beyond a database integer, forms with more fields than any page sends, and an unwritable
database (which `/healthz` reports too)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from app.clock import utc_now
from app.db import unit_of_work
from app.http import DatabaseIntConvertor

TOO_BIG = (str(2**31), str(2**63))  # one more than the largest id on PostgreSQL (INTEGER), and than a 64-bit integer


def _int_routes(routes, prefix=""):
    """(path template, methods) of every route with an integer path parameter."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += _int_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and any(isinstance(c, DatabaseIntConvertor) or type(c).__name__ ==
                                              "IntegerConvertor" for c in route.param_convertors.values()):
            found.append((prefix + route.path, sorted(route.methods - {"HEAD"})))
    return found


def _fill(template: str, number: str) -> str:
    import re

    return re.sub(r"\{[^}:]+:int\}", number, re.sub(r"\{[^}:]+(:(str|path))?\}", "x", template))


def test_integer_path_parameters_beyond_a_database_integer_are_404(client, app, helpers):
    helpers.sign_in(client, app, "admin@example.org", role="admin")  # gets past every role check, to the database
    routes = _int_routes(app.routes)
    assert len(routes) >= 16, routes
    answers = {}
    for template, methods in routes:
        for method in methods:
            for number in TOO_BIG:
                path = _fill(template, number)
                response = client.request(method, path, data={"x": "1"} if method == "POST" else None,
                                          headers={"Sec-Fetch-Site": "same-origin"})
                answers[f"{method} {path}"] = response.status_code
    assert {k: v for k, v in answers.items() if v != 404} == {}
    # the largest id still routes: a petition that doesn't exist is the petitions' own 404 page
    missing = client.get(f"/petitions/{2**31 - 1}")
    assert missing.status_code == 404 and "We couldn&#39;t find that petition" in missing.text


def _petition(app) -> int:
    from petitions.models import Petition

    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        p = Petition(action="More buses", background="Background", creator_name="Creator", creator_email="c@example.org",
                     state="open", created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        return p.id


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_forms_with_too_many_fields_get_a_clear_413(client, app, multipart):
    pid = _petition(app)
    fields = [(f"f{i}", "1") for i in range(1001)] + [("name", "Ann"), ("email", "ann@example.org")]
    for path in (f"/petitions/{pid}/sign", "/petitions/signatures/confirm", "/auth/confirm", "/auth/sign-in"):
        if multipart:
            response = client.post(path, files={k: (None, v) for k, v in fields})
        else:
            response = client.post(path, content="&".join(f"{k}={v}" for k, v in fields),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 413, (path, response.status_code, response.text[:300])
        assert "more than 1000 fields" in response.text, path


@pytest.fixture
def read_only_app(settings, sender, domain_settings, helpers):
    """The app on a database that answers reads but refuses every write."""
    from app.main import create_app

    engine = helpers.read_only_engine(settings.database_url)
    yield create_app(settings, engine=engine, sender=sender, domain_settings=domain_settings, run_worker=False)
    engine.dispose()


def test_an_unwritable_database_gives_503_and_healthz_reports_it(client, app, read_only_app):
    assert client.get("/healthz").status_code == 200
    pid = _petition(app)
    with TestClient(read_only_app, base_url="https://testserver", follow_redirects=False) as ro:
        health = ro.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "read-only"
        assert ro.get("/about").status_code == 200  # reading still works
        assert ro.get(f"/petitions/{pid}").status_code == 200
        for path, data in (("/auth/sign-in", {"email": "ann@example.org"}),
                           (f"/petitions/{pid}/sign", {"name": "Ann", "email": "ann@example.org", "area": "North"})):
            response = ro.post(path, data=data)
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert "database is unavailable or read-only" in response.text and "Nothing you sent was saved" in response.text
            assert response.headers["retry-after"] == "60"
