"""The one department rule for officials: who may act on a consultation, and read it as staff.

Administrators may act on every consultation; an official on the consultations of their own department (and on
those that belong to no department). Everyone else, including officials of other departments, gets what the
public gets: no drafts, no staff pages, no staff actions. Services check it with `require_manager`, pages ask
`StaffScope.may_manage` to show only the actions the viewer may take, and staff routes check it before reading.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.errors import PermissionDenied
from app.i18n import gettext as _
from app.models import Role, User


def may_manage(role: str | None, user_department_id: int | None, department_id: int | None) -> bool:
    """The rule itself: admins always; officials when the consultation is their department's or nobody's."""
    if role == Role.ADMIN:
        return True
    return role == Role.OFFICIAL and (department_id is None or department_id == user_department_id)


def denied() -> PermissionDenied:
    return PermissionDenied(_("This consultation belongs to another department. Only its officials and "
                              "administrators can see its staff pages or change it."))


@dataclass(frozen=True)
class StaffScope:
    """An official's or administrator's reach, read from the database (not from the session cookie)."""

    user_id: int
    role: str
    department_id: int | None

    def may_manage(self, department_id: int | None) -> bool:
        return may_manage(self.role, self.department_id, department_id)


def staff_scope(session: Session, *, user_id: int | None) -> StaffScope | None:
    """The viewer's reach when they are an official or administrator, else None."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or user.role not in (Role.OFFICIAL, Role.ADMIN):
        return None
    assert user.id is not None  # a stored row (loaded)
    return StaffScope(user_id=user.id, role=user.role, department_id=user.department_id)


def require_manager(session: Session, user: User, department_id: int | None) -> User:
    """Raises PermissionDenied unless `user` may act on a consultation of `department_id`."""
    if not may_manage(user.role, user.department_id, department_id):
        raise denied()
    return user
