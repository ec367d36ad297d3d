"""A tiny in-process HTTP cache in front of the whole app, for anonymous GETs the app marked `public`.

On a viral day most requests are anonymous reads of one petition page or its count. Serving the stored
response here skips every middleware layer and the route, which is what keeps a 2-core machine serving
thousands of reads per second. It only ever stores what a shared cache (a CDN) would be allowed to store:
status 200, `Cache-Control: public, max-age=N`, no `Set-Cookie`, requests without a session cookie.
Entries live at most `max-age` seconds; each app process has its own.
"""
from __future__ import annotations

import time
from collections import OrderedDict

from app.i18n import request_locale

SESSION_COOKIE = b"civic_session"


def _max_age(cache_control: bytes) -> int:
    parts = [p.strip() for p in cache_control.decode("latin-1").lower().split(",")]
    if "public" not in parts or any(p in ("no-store", "private", "no-cache") for p in parts):
        return 0
    for part in parts:
        if part.startswith("max-age="):
            try:
                return int(part[8:])
            except ValueError:
                return 0
    return 0


class HttpCacheStore:
    """The entries, shared with the app (`services["http_cache"]`) so a domain can purge what it changed."""

    def __init__(self, max_entries: int = 2000):
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple, tuple[float, int, list, bytes, bytes | None]] = OrderedDict()
        self.hits = 0
        self.purges = 0  # responses rendered before a purge must not be stored after it

    def purge_prefix(self, prefix: str) -> int:
        """Forget every stored response whose path is `prefix` or below it (this process only)."""
        self.purges += 1
        doomed = [k for k in list(self.entries) if k[0] == prefix or k[0].startswith(prefix.rstrip("/") + "/")]
        for key in doomed:
            self.entries.pop(key, None)
        return len(doomed)


class MicroCacheMiddleware:
    def __init__(self, app, *, store: HttpCacheStore | None = None, default_locale: str = "en"):
        self.app = app
        self.store = store or HttpCacheStore()
        self.default_locale = default_locale

    def _key(self, scope) -> tuple | None:
        """What the stored response depends on: path, query, host, gzip, the NEGOTIATED locale (as the app will
        negotiate it, not the raw header) and whether the app answers with a fragment or a whole page (an htmx
        request, except a history restore, which gets the whole page: `app.templating.is_htmx`)."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].startswith("/static/"):
            return None
        gzip = False
        hx_request = history_restore = False
        host = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                if SESSION_COOKIE in value:
                    return None
            elif name == b"accept-encoding":
                gzip = b"gzip" in value
            elif name == b"hx-request":
                hx_request = value == b"true"
            elif name == b"hx-history-restore-request":
                history_restore = value == b"true"
            elif name == b"host":
                host = value
            elif name == b"authorization":
                return None
        fragment = hx_request and not history_restore
        locale = request_locale(scope["headers"], self.default_locale)
        # Host is part of the key, so a response is only replayed for a host the app itself accepted.
        return (scope["path"], scope["query_string"], locale, gzip, fragment, host)

    async def __call__(self, scope, receive, send):
        key = self._key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        entry = self.store.entries.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            self.store.hits += 1
            return await self._replay(scope, send, entry)
        captured: dict = {"body": []}
        purges = self.store.purges

        async def capture(message):
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
                captured["more"] = message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if captured.get("status") != 200 or captured.get("more") or self.store.purges != purges:
            return  # (a change committed while this was rendered: the response may predate it)
        headers = captured["headers"]
        max_age = 0
        etag = None
        for name, value in headers:
            if name == b"set-cookie":
                return
            if name == b"cache-control":
                max_age = _max_age(value)
            elif name == b"etag":
                etag = value
        if max_age <= 0:
            return
        if len(self.store.entries) >= self.store.max_entries:
            self.store.entries.popitem(last=False)
        self.store.entries[key] = (now + max_age, 200, headers, b"".join(captured["body"]), etag)

    async def _replay(self, scope, send, entry):
        _, status, headers, body, etag = entry
        if etag is not None:
            for name, value in scope["headers"]:
                if name == b"if-none-match" and value == etag:
                    kept = [(k, v) for k, v in headers if k not in (b"content-length", b"content-encoding", b"content-type")]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b""})
                    return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
