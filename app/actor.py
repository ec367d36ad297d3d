"""Who is making a request: the `Actor` recorded in the signed session cookie.

A leaf module (it needs only the role names), so the templates can show the actor without importing the
sign-in routes in `app.auth` (which re-exports these names).
"""
from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from app.models import Role

SESSION_KEY = "actor"


@dataclass(frozen=True)
class Actor:
    """Who is making the request, as recorded in the signed session cookie."""

    user_id: int
    role: str
    name: str
    department_id: int | None = None

    def has_role(self, *roles: str) -> bool:
        return self.role == Role.ADMIN or self.role in roles


def current_actor(request: Request) -> Actor | None:
    if "session" not in request.scope:
        return None
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or "uid" not in data:
        return None
    return Actor(user_id=int(data["uid"]), role=str(data.get("role", Role.RESIDENT)),
                 name=str(data.get("name", "")), department_id=data.get("dept"))


def signed_in_actor(request: Request) -> Actor:
    """The actor of a route behind `require_roles` or `require_signed_in`, which turn everyone else away first."""
    actor = current_actor(request)
    assert actor is not None, "the route is not behind require_roles or require_signed_in"
    return actor
