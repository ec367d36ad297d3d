"""The in-process HTTP cache replays only what a shared cache could: public, anonymous, cookie-free."""
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.microcache import HttpCacheStore, MicroCacheMiddleware


def make():
    calls = {"n": 0}

    def public(request):
        calls["n"] += 1
        return PlainTextResponse(f"hit {calls['n']}", headers={"Cache-Control": "public, max-age=60", "ETag": '"v1"'})

    def private(request):
        calls["n"] += 1
        return PlainTextResponse(f"hit {calls['n']}", headers={"Cache-Control": "private, no-cache"})

    def sets_cookie(request):
        calls["n"] += 1
        response = PlainTextResponse(f"hit {calls['n']}", headers={"Cache-Control": "public, max-age=60"})
        response.set_cookie("x", "y")
        return response

    store = HttpCacheStore()
    app = Starlette(routes=[Route("/public", public), Route("/private", private), Route("/cookie", sets_cookie)],
                    middleware=[Middleware(MicroCacheMiddleware, store=store)])
    calls["store"] = store
    return TestClient(app), calls


def test_public_responses_are_replayed_for_anonymous_visitors():
    client, calls = make()
    assert client.get("/public").text == "hit 1"
    assert client.get("/public").text == "hit 1"
    assert calls["n"] == 1
    assert client.get("/public", headers={"If-None-Match": '"v1"'}).status_code == 304


def test_signed_in_visitors_and_other_languages_bypass_or_get_their_own_entry():
    client, calls = make()
    client.get("/public")
    assert client.get("/public", headers={"Cookie": "civic_session=abc"}).text == "hit 2"
    assert client.get("/public", headers={"Cookie": "civic_locale=zh-Hans"}).text == "hit 3"
    assert client.get("/public", headers={"Host": "other.example"}).text == "hit 4"


def test_private_and_cookie_setting_responses_are_never_stored():
    client, calls = make()
    assert client.get("/private").text == "hit 1"
    assert client.get("/private").text == "hit 2"
    assert client.get("/cookie").text == "hit 3"
    assert client.get("/cookie").text == "hit 4"


def test_purge_forgets_a_changed_page():
    client, calls = make()
    client.get("/public")
    assert calls["store"].purge_prefix("/public") == 1
    assert client.get("/public").text == "hit 2"
