"""`X-Forwarded-For` is believed only from configured proxies (CIVIC_TRUSTED_PROXIES, empty by default), so a
client can't pick the IP address that rate limits see."""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses

import uvicorn

from app.cli import proxy_options
from app.config import Settings


def _client_seen(settings: Settings, peer: str, forwarded_for: str) -> str:
    """The client address the app gets when `civic serve` runs it with these settings."""
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, lifespan="off", log_level="warning", **proxy_options(settings))
    config.load()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "client": (peer, 50000),
             "server": ("127.0.0.1", 8000), "headers": [(b"host", b"civic"), (b"x-forwarded-for", forwarded_for.encode())]}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    # In a thread of its own: a browser test earlier in the run may leave Playwright's event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, config.loaded_app(scope, receive, send)).result()
    return seen["client"]


def test_no_proxy_is_trusted_by_default():
    settings = Settings()
    assert settings.trusted_proxies == ()
    assert _client_seen(settings, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert _client_seen(settings, "198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_a_configured_proxy_is_trusted_and_no_one_else():
    settings = dataclasses.replace(Settings(), trusted_proxies=("10.0.0.0/8",))
    assert _client_seen(settings, "10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert _client_seen(settings, "198.51.100.7", "203.0.113.9") == "198.51.100.7"
