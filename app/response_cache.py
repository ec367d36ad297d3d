"""The one response cache: an in-process store of whole HTTP responses in front of the app, for anonymous GETs.

On a viral day most requests are anonymous reads of one petition page or its count. Replaying a stored response
here skips every middleware layer and the route, which is what keeps a 2-core machine serving thousands of reads
per second. The contract, for every domain:

- **Declaring.** A route makes its answer cacheable with `public_for_anonymous(request, response, ...)`; it only
  ever marks what a shared cache (a CDN) could also store. The cache stores a response only when the request
  carried no session cookie and no `Authorization`, and the answer is a complete 200 with
  `Cache-Control: public, max-age=N` and no `Set-Cookie`.
- **Keying.** path, query, host, gzip or not, the *negotiated* locale (as the app will negotiate it, not the raw
  header) and fragment or page (an htmx request, except a history restore: `app.templating.is_htmx`).
- **Purging.** A domain that changed something calls `purge(path_prefix, ...)` on `app.state.response_cache`
  (jobs: `ctx.response_cache`). A response rendered while a purge happened is sent but not stored.
- **Freshness.** An entry lives `max-age` seconds. Once it has expired, the first request re-renders it while
  visitors arriving meanwhile still get the old copy (`stale-while-revalidate` inside the process): otherwise
  everyone arriving in those milliseconds would render the same page again.
- **Validators.** Stored responses get an `ETag` (a hash of the body) and `Last-Modified` when the route set
  none; `If-None-Match` is answered with 304, on the first render too.

Each app process has its own store; nothing here is shared between processes, so a purge in one process leaves
the others serving their copies until `max-age` ends (5 seconds for petition pages).
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from email.utils import formatdate
from typing import NamedTuple

from app.i18n import request_locale

SESSION_COOKIE = "civic_session"  # the session middleware's cookie: its presence means a signed-in visitor
_SESSION_COOKIE_BYTES = SESSION_COOKIE.encode()


class Entry(NamedTuple):
    expires: float
    headers: list
    body: bytes
    etag: bytes


def public_for_anonymous(request, response, *, max_age: int, stale: int = 0):
    """Mark `response` storable by shared caches (this one, a CDN) for an anonymous visitor, private otherwise.

    `stale`: seconds a cache may keep serving it after `max_age` while it fetches a fresh one.
    """
    if max_age <= 0 or SESSION_COOKIE in request.cookies:
        response.headers["Cache-Control"] = "private, no-cache"
    else:
        response.headers["Cache-Control"] = f"public, max-age={max_age}" + (
            f", stale-while-revalidate={stale}" if stale else "")
    return response


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


class ResponseCache:
    """The stored responses of this process; domains purge what they changed."""

    def __init__(self, max_entries: int = 2000):
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.refreshing: set[tuple] = set()  # keys one request is re-rendering right now
        self.hits = 0
        self.purges = 0  # responses rendered before a purge must not be stored after it

    def purge(self, *prefixes: str) -> int:
        """Forget every stored response whose path is one of `prefixes` or below it."""
        self.purges += 1
        roots = [p.rstrip("/") + "/" for p in prefixes]
        doomed = [k for k in list(self.entries) if k[0] in prefixes or k[0].startswith(tuple(roots))]
        for key in doomed:
            self.entries.pop(key, None)
        return len(doomed)

    def store(self, key: tuple, entry: Entry) -> None:
        if key not in self.entries and len(self.entries) >= self.max_entries:
            self.entries.popitem(last=False)
        self.entries[key] = entry


class ResponseCacheMiddleware:
    def __init__(self, app, *, cache: ResponseCache, default_locale: str = "en"):
        self.app = app
        self.cache = cache
        self.default_locale = default_locale

    def _key(self, scope) -> tuple | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].startswith("/static/"):
            return None
        gzip = False
        hx_request = history_restore = False
        host = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                if _SESSION_COOKIE_BYTES in value:
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
        cache = self.cache
        entry = cache.entries.get(key)
        if entry is not None and (entry.expires > time.monotonic() or key in cache.refreshing):
            cache.hits += 1
            return await _replay(scope, send, entry)
        if key in cache.refreshing:  # a first render is running: render too rather than wait
            return await self._render(scope, receive, send, None)
        cache.refreshing.add(key)
        try:
            return await self._render(scope, receive, send, key)
        finally:
            cache.refreshing.discard(key)

    async def _render(self, scope, receive, send, key):
        """Run the app; store its answer under `key` (None: don't) when it is storable."""
        purges = self.cache.purges
        held: dict = {}  # the start message, held until the body shows whether the answer is storable
        streaming = False

        async def capture(message):
            nonlocal streaming
            if streaming:
                return await send(message)
            if message["type"] == "http.response.start":
                held["start"] = message
                held["body"] = []
                return
            if message["type"] != "http.response.body":
                return await send(message)
            held["body"].append(message.get("body", b""))
            if message.get("more_body", False):  # a stream: pass it through as it comes, never store it
                streaming = True
                await send(held["start"])
                await send({"type": "http.response.body", "body": b"".join(held["body"]), "more_body": True})
                return
            await self._finish(scope, send, key, held["start"], b"".join(held["body"]), purges)

        await self.app(scope, receive, capture)

    async def _finish(self, scope, send, key, start, body: bytes, purges: int) -> None:
        headers = list(start.get("headers", ()))
        max_age = 0
        etag = None
        for name, value in headers:
            if name == b"set-cookie":
                max_age = 0
                break
            if name == b"cache-control":
                max_age = _max_age(value)
            elif name == b"etag":
                etag = value
        if start["status"] != 200 or max_age <= 0:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        if etag is None:
            etag = b'"' + hashlib.blake2b(body, digest_size=10).hexdigest().encode() + b'"'
            headers.append((b"etag", etag))
        if not any(name == b"last-modified" for name, _ in headers):
            headers.append((b"last-modified", formatdate(usegmt=True).encode()))
        entry = Entry(time.monotonic() + max_age, headers, body, etag)
        if key is not None and self.cache.purges == purges:  # (a change committed while this was rendered)
            self.cache.store(key, entry)
        await _replay(scope, send, entry)


def _not_modified(scope, etag: bytes) -> bool:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return etag in (v.strip() for v in value.split(b","))
    return False


async def _replay(scope, send, entry: Entry) -> None:
    if _not_modified(scope, entry.etag):
        kept = [(k, v) for k, v in entry.headers if k not in (b"content-length", b"content-encoding", b"content-type")]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})
