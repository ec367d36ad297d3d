"""Composition root for demo content: staff accounts, departments, then each domain's demo data.

Idempotent: running it twice adds nothing the second time.
"""
from __future__ import annotations

from sqlmodel import select

import consultations.demo
import petitions.demo
from app.auth import add_user
from app.clock import utc_now
from app.db import unit_of_work
from app.main import create_app
from app.models import Department

DEPARTMENTS = [
    ("transport", "Transport", "交通局"),
    ("environment", "Environment", "环境局"),
    ("housing", "Housing", "住房局"),
    ("education", "Education", "教育局"),
    ("health", "Health and social care", "卫生与社会关怀局"),
    ("digital", "Digital and data", "数字与数据局"),
]

STAFF = [
    ("admin@example.org", "admin", "Alex Admin", None),
    ("moderator@example.org", "moderator", "Morgan Moderator", None),
    ("moderator2@example.org", "moderator", "Robin Reviewer", None),
    ("official@example.org", "official", "Olivia Official", "transport"),
    ("environment.official@example.org", "official", "Eli Environment", "environment"),
    ("clerk@example.org", "clerk", "Casey Clerk", None),
]


ROLE_NOTES = {
    "admin": "every staff page",
    "moderator": "the moderation queue and appeals",
    "official": "consultations and petition responses of their department",
    "clerk": "records paper signatures on any petition (no department)",
}


def accounts_text() -> str:
    """The demo's staff accounts with their roles (and officials' departments), as `civic demo` prints them."""
    names = {code: name for code, name, _zh in DEPARTMENTS}
    lines = ["Demo accounts (sign in with the address; read the link with `civic outbox`):"]
    for email, role, name, dept in STAFF:
        where = f", department {names[dept]}" if dept else ""
        lines.append(f"  {email:<36} {name:<18} {role}{where}: {ROLE_NOTES[role]}")
    lines.append("  Any other address signs in as a resident (comment, vote, report; petitions need no account).")
    return "\n".join(lines)


def load_demo(engine, settings, *, domain_settings: dict | None = None) -> int:
    """Load every domain's demo content; returns the number of items added."""
    app = create_app(settings, engine=engine, run_worker=False, domain_settings=domain_settings)
    state = app.state
    added = 0
    with unit_of_work(engine, state.unit_context) as session:
        for code, name, name_zh in DEPARTMENTS:
            if session.exec(select(Department).where(Department.code == code)).first() is None:
                session.add(Department(code=code, name=name, name_zh=name_zh))
                added += 1
        session.flush()
        for email, role, name, dept in STAFF:
            add_user(session, email=email, role=role, name=name, department=dept)
    now = utc_now()
    with unit_of_work(engine, state.unit_context) as session:
        added += petitions.demo.load(session, renderer=state.renderer, now=now)
    with unit_of_work(engine, state.unit_context) as session:
        added += consultations.demo.load(session, renderer=state.renderer, now=now)
    return added
