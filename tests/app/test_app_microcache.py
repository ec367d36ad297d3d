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


def test_a_page_rendered_while_its_data_changed_is_not_stored():
    """A response that was being rendered when a change purged the cache may show the old data: it is sent,
    but not replayed to the next visitor."""
    store = HttpCacheStore()
    state = {"version": "old", "n": 0}

    def page(request):
        state["n"] += 1
        body = f"{state['version']} {state['n']}"
        if request.query_params.get("change"):  # the change commits (and purges) mid-render
            state["version"] = "new"
            store.purge_prefix("/page")
        return PlainTextResponse(body, headers={"Cache-Control": "public, max-age=60"})

    app = Starlette(routes=[Route("/page", page)], middleware=[Middleware(MicroCacheMiddleware, store=store)])
    client = TestClient(app)
    assert client.get("/page?change=1").text == "old 1"
    assert client.get("/page?change=1").text == "new 2"  # not replayed: rendered anew
    assert client.get("/page").text == "new 3"
    assert client.get("/page").text == "new 3"  # an undisturbed render is stored as before
