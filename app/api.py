"""The public, read-only open-data API: mounts each domain's API routes and serves one OpenAPI document.

A domain API module exposes `routes` (paths relative to /api) and `OPENAPI_PATHS` / `OPENAPI_SCHEMAS`, and
optionally `openapi_paths(domain_settings)` for paths whose parameters depend on settings (e.g. allowed values).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build_openapi(modules, domain_settings: dict | None = None) -> dict:
    paths: dict = {}
    schemas: dict = {
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "status": {"type": "integer"}, "title": {"type": "string"}, "message": {"type": "string"}}}},
        }
    }
    for module in modules:
        paths.update(getattr(module, "OPENAPI_PATHS", {}))
        if domain_settings is not None and hasattr(module, "openapi_paths"):
            paths.update(module.openapi_paths(domain_settings))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Civic open data API",
            "version": "1.0.0",
            "description": "Read-only open data: petitions, signature counts by area, consultations, comments, "
                           "officials' responses and votes. No names, e-mail addresses or IP addresses of residents "
                           "are ever included. CORS is open.",
            "license": {"name": "Open Government Licence v3.0", "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"},
        },
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def build_routes(modules, domain_settings: dict | None = None) -> list:
    document = build_openapi(modules, domain_settings)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

    routes = [Route("/openapi.json", openapi, name="openapi")]
    for module in modules:
        routes.extend(module.routes)
    return routes


class OpenCORSMiddleware:
    """Pure ASGI: open CORS (any origin, no credentials) for GET/HEAD/OPTIONS under /api/."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS":
            headers = [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
                (b"access-control-allow-headers", b"*"),
                (b"access-control-max-age", b"86400"),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ())) + [(b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_wrapper)
