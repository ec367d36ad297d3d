"""Consultations pages."""
from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from app.templating import render


async def index(request: Request):
    return render(request, "consultations/index.html", {})


routes = [Route("/", index, name="index")]
