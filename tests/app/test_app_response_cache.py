"""The response cache replays only what a shared cache could (public, anonymous, cookie-free), serves the old copy
while one request re-renders an expired page, and gives every stored page a validator."""
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.response_cache import ResponseCache, ResponseCacheMiddleware


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

    store = ResponseCache()
    app = Starlette(routes=[Route("/public", public), Route("/private", private), Route("/cookie", sets_cookie)],
                    middleware=[Middleware(ResponseCacheMiddleware, cache=store)])
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
    assert calls["store"].purge("/public") == 1
    assert client.get("/public").text == "hit 2"


def test_a_page_rendered_while_its_data_changed_is_not_stored():
    """A response that was being rendered when a change purged the cache may show the old data: it is sent,
    but not replayed to the next visitor."""
    store = ResponseCache()
    state = {"version": "old", "n": 0}

    def page(request):
        state["n"] += 1
        body = f"{state['version']} {state['n']}"
        if request.query_params.get("change"):  # the change commits (and purges) mid-render
            state["version"] = "new"
            store.purge("/page")
        return PlainTextResponse(body, headers={"Cache-Control": "public, max-age=60"})

    app = Starlette(routes=[Route("/page", page)], middleware=[Middleware(ResponseCacheMiddleware, cache=store)])
    client = TestClient(app)
    assert client.get("/page?change=1").text == "old 1"
    assert client.get("/page?change=1").text == "new 2"  # not replayed: rendered anew
    assert client.get("/page").text == "new 3"
    assert client.get("/page").text == "new 3"  # an undisturbed render is stored as before


def _counting_page(headers=None):
    state = {"n": 0}
    store = ResponseCache()

    def page(request):
        state["n"] += 1
        return PlainTextResponse(f"render {state['n']}", headers={"Cache-Control": "public, max-age=60", **(headers or {})})

    app = Starlette(routes=[Route("/page", page)], middleware=[Middleware(ResponseCacheMiddleware, cache=store)])
    return TestClient(app), store, state


def test_an_expired_page_being_re_rendered_is_served_from_the_old_copy_meanwhile():
    """On a viral day, visitors arriving while one request re-renders an expired page get the old copy instead of
    all rendering it again; once the new one is in, everybody gets it."""
    client, store, state = _counting_page()
    assert client.get("/page").text == "render 1"
    (key, entry), = store.entries.items()
    store.entries[key] = entry._replace(expires=0.0)  # expired long ago
    store.refreshing.add(key)  # another request is re-rendering it right now
    assert client.get("/page").text == "render 1"
    store.refreshing.discard(key)
    assert client.get("/page").text == "render 2"
    assert client.get("/page").text == "render 2"
    assert state["n"] == 2


def test_a_stored_page_gets_a_validator_and_a_matching_request_gets_304_even_on_the_first_render():
    client, store, state = _counting_page()
    first = client.get("/page")
    assert first.headers["etag"] and first.headers["last-modified"]
    client2, _, _ = _counting_page()
    # a fresh process (empty cache) knows the body's hash as soon as it renders it
    assert client2.get("/page", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get("/page", headers={"If-None-Match": '"other"'}).text == "render 1"


def test_a_streamed_answer_passes_through_and_is_not_stored():
    from starlette.responses import StreamingResponse

    calls = {"n": 0}

    def stream(request):
        calls["n"] += 1

        async def parts():
            yield b"one "
            yield b"two"
        return StreamingResponse(parts(), headers={"Cache-Control": "public, max-age=60"})

    store = ResponseCache()
    app = Starlette(routes=[Route("/s", stream)], middleware=[Middleware(ResponseCacheMiddleware, cache=store)])
    client = TestClient(app)
    assert client.get("/s").text == "one two"
    assert client.get("/s").text == "one two"
    assert calls["n"] == 2 and not store.entries


def test_public_for_anonymous_marks_signed_in_answers_private():
    from starlette.requests import Request
    from starlette.responses import Response

    from app.response_cache import public_for_anonymous

    def request(cookie: bytes = b""):
        return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", cookie)] if cookie else []})

    assert public_for_anonymous(request(), Response(), max_age=5, stale=60).headers["cache-control"] == \
        "public, max-age=5, stale-while-revalidate=60"
    assert public_for_anonymous(request(b"civic_session=x"), Response(), max_age=5).headers["cache-control"] == \
        "private, no-cache"
    assert public_for_anonymous(request(), Response(), max_age=0).headers["cache-control"] == "private, no-cache"
