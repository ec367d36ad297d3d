"""Moderators' pages."""
from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from app.auth import require_roles
from app.models import Role
from app.templating import render


@require_roles(Role.MODERATOR)
async def queue(request: Request):
    return render(request, "moderation/queue.html", {})


routes = [Route("/", queue, name="queue")]
